"""The on-disk SavedModel: layout checks, parsing, and choosing the MetaGraph by tags.

Errors carry the codes TensorFlow Serving's loader reports (OSS ``session_bundle_util.cc`` and TF's
``cc/saved_model/loader.cc``):

* a legacy SessionBundle (``export.meta``): UNIMPLEMENTED, "Session Bundle is deprecated and
  removed." - the open-source TensorFlow Serving no longer loads them either;
* no ``saved_model.pb``/``.pbtxt``: NOT_FOUND;
* an unparsable SavedModel file: DATA_LOSS (C++ ``ReadBinaryProto``/``ReadTextProto``);
* no MetaGraph with exactly the requested tag set: NOT_FOUND, listing the tag sets there are.

Paths go through ``tf.io.gfile``, so every file system TensorFlow supports works.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from typing import Any, Final

from pyserving.errors import Code, ServingError
from pyserving.runtimes.tensorflow import _tf
from pyserving.runtimes.tensorflow.status import from_op_error

SAVED_MODEL_PB: Final = "saved_model.pb"
SAVED_MODEL_PBTXT: Final = "saved_model.pbtxt"
LEGACY_EXPORT_META: Final = "export.meta"


def _join(directory: str, name: str) -> str:
    # posixpath: TensorFlow file systems (gs://, s3://...) use "/" whatever the local OS.
    return posixpath.join(directory, name)


def _exists(path: str) -> bool:
    return bool(_tf.tf.io.gfile.exists(path))


def is_version_complete(path: str) -> bool:
    """Whether ``path`` holds a finished export worth trying to load.

    True once ``saved_model.pb`` or ``saved_model.pbtxt`` exists (exporters write it last), and for
    a legacy ``export.meta`` so that its load fails with a clear error instead of the version
    staying invisible. Also True when the check itself fails (an unknown file system...), for the
    same reason: the load then reports what is wrong.
    """
    try:
        return any(
            _exists(_join(path, name))
            for name in (SAVED_MODEL_PB, SAVED_MODEL_PBTXT, LEGACY_EXPORT_META)
        )
    except Exception:
        return True


def check_layout(path: str) -> None:
    """Raise unless ``path`` looks like a SavedModel directory (see the module docstring)."""
    try:
        legacy = _exists(_join(path, LEGACY_EXPORT_META))
        saved_model = _exists(_join(path, SAVED_MODEL_PB)) or _exists(
            _join(path, SAVED_MODEL_PBTXT)
        )
    except _tf.OpError as exc:
        raise from_op_error(exc) from None
    if legacy:
        raise ServingError(
            Code.UNIMPLEMENTED,
            f"Session Bundle is deprecated and removed. {path} holds a legacy SessionBundle "
            f"export ({LEGACY_EXPORT_META} + checkpoint), which pyserving does not load: "
            "re-export the model as a SavedModel (saved_model.pb), for example with "
            "tf.saved_model.save or tf.compat.v1.saved_model.Builder.",
        )
    if not saved_model:
        raise ServingError(
            Code.NOT_FOUND,
            "Specified file path does not appear to contain a SavedModel bundle (should have a "
            f"file called `{SAVED_MODEL_PB}`)\nSpecified file path: {path}",
        )


def read_meta_graph(path: str, tags: Iterable[str]) -> Any:
    """The ``tensorflow.MetaGraphDef`` of the SavedModel at ``path`` whose tag set is ``tags``."""
    wanted = set(tags)
    saved_model = _parse(path)
    for meta_graph in saved_model.meta_graphs:
        if set(meta_graph.meta_info_def.tags) == wanted:
            return meta_graph
    available = ", ".join(_tag_set(mg.meta_info_def.tags) for mg in saved_model.meta_graphs)
    raise ServingError(
        Code.NOT_FOUND,
        f"Could not find meta graph def matching supplied tags: {_tag_set(wanted)}. "
        f"Available tag sets in the SavedModel at {path}: {available or 'none'}. "
        "To inspect available tag-sets in the SavedModel, please use the SavedModel CLI: "
        "`saved_model_cli`",
    )


def _tag_set(tags: Iterable[str]) -> str:
    return "{ " + " ".join(sorted(tags)) + " }"


def _parse(path: str) -> Any:
    saved_model = _tf.saved_model_pb2.SavedModel()
    binary = _join(path, SAVED_MODEL_PB)
    try:
        if _exists(binary):
            try:
                saved_model.ParseFromString(_read(binary))
            except Exception as exc:  # google.protobuf.message.DecodeError (+ RuntimeError).
                raise ServingError(
                    Code.DATA_LOSS, f"Can't parse {binary} as binary proto: {exc}"
                ) from None
            return saved_model
        text = _join(path, SAVED_MODEL_PBTXT)
        try:
            _tf.text_format.Parse(_read(text).decode("utf-8"), saved_model)
        except (UnicodeDecodeError, _tf.text_format.ParseError) as exc:
            raise ServingError(Code.DATA_LOSS, f"Can't parse {text} as text proto: {exc}") from None
        return saved_model
    except _tf.OpError as exc:
        raise from_op_error(exc) from None


def _read(path: str) -> bytes:
    with _tf.tf.io.gfile.GFile(path, "rb") as file:
        return bytes(file.read())
