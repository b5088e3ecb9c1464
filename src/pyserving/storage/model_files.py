"""When a version listed in an object store looks finished, for every runtime.

Object stores have no atomic directory rename, so a version is complete when

* its listing shows a model file a runtime loads (``saved_model.pb``, ``model.onnx``...), written
  last by exporters and upload tools that copy in name order or file by file; or
* it holds the ready marker :data:`READY_MARKER` (an empty object named ``_READY``), which a
  publisher writes after every other object of the version.

Once a version under a base path has a marker (its own, or one of the newest other versions'),
the base path is taken to use markers: from then on a version there is complete only with its
marker, whatever else it holds (versions already accepted are not re-checked, so a served version
never disappears because of this).
The source adds the other condition: the listing unchanged across two polls.

The names are per platform, so this stays runtime-neutral: a platform not in the table accepts any
of the known model files.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

READY_MARKER: Final = "_READY"

MODEL_FILES: Final[dict[str, tuple[str, ...]]] = {
    # TensorFlow: a SavedModel (binary or text); export.meta makes a legacy export fail loudly.
    "tensorflow": ("saved_model.pb", "saved_model.pbtxt", "export.meta"),
    "onnx": ("model.onnx",),
    "tflite": ("model.tflite",),
    "fake": ("fake_model.json",),
}
_ANY_MODEL_FILE: Final = frozenset(name for names in MODEL_FILES.values() for name in names)


def model_files(platform: str) -> frozenset[str]:
    """The top-level file names that make a version of ``platform`` loadable."""
    names = MODEL_FILES.get(platform)
    return frozenset(names) if names is not None else _ANY_MODEL_FILE


def looks_complete(platform: str, names: Iterable[str], *, markers_required: bool) -> bool:
    """Whether a version whose relative file paths are ``names`` looks finished (see above)."""
    present = set(names)
    if READY_MARKER in present:
        return True
    if markers_required:
        return False
    return not model_files(platform).isdisjoint(present)
