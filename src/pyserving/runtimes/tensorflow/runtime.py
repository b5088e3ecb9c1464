"""The ``tensorflow`` platform: SavedModels loaded the way TensorFlow Serving loads them.

Each version gets its own TF1 ``Session`` on its own ``Graph``, filled by
``tf.compat.v1.saved_model.loader.load`` with the MetaGraph tagged ``--saved_model_tags``, and is
then run by the SignatureDefs' tensor names. That serves TF1 exports (half_plus_three, which
``tf.saved_model.load`` rejects) and TF2/Keras exports alike.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from pyserving.errors import Code, ServingError
from pyserving.runtimes.base import LoadOptions, Runtime
from pyserving.runtimes.tensorflow import _tf, saved_model
from pyserving.runtimes.tensorflow.model import TensorFlowModel
from pyserving.runtimes.tensorflow.options import TensorFlowLoadOptions
from pyserving.runtimes.tensorflow.session import DEFAULT_INLINE_RUNS, InlineRuns, SessionRunner
from pyserving.runtimes.tensorflow.session_config import session_config
from pyserving.runtimes.tensorflow.signatures import signatures_from_meta_graph
from pyserving.runtimes.tensorflow.status import describe, from_op_error

logger = logging.getLogger(__name__)


class TensorFlowRuntime(Runtime):
    """Loads SavedModel versions.

    Parameters:
        inline_runs: which runs execute on the calling thread instead of TensorFlow's inter-op
            pool; see :class:`InlineRuns` for the trade-off. Applies to models loaded afterwards.

    ``load`` is thread-safe: the lifecycle may load several versions at once.
    """

    platform = "tensorflow"

    def __init__(self, *, inline_runs: InlineRuns = DEFAULT_INLINE_RUNS) -> None:
        self.inline_runs = inline_runs

    def is_version_complete(self, path: str) -> bool:
        """Whether the version directory ``path`` is fully written (see
        :func:`saved_model.is_version_complete`); the file-system source skips it until then."""
        return saved_model.is_version_complete(path)

    def check_version_layout(self, path: str) -> None:
        """Raise the error ``load`` would give for a directory that is not a SavedModel (no
        ``saved_model.pb``, a legacy SessionBundle); used to fail fast before applying a config."""
        saved_model.check_layout(path)

    def load(self, path: str, options: LoadOptions) -> TensorFlowModel:
        """Load the SavedModel in ``path``; blocking.

        Raises ServingError: UNIMPLEMENTED for a legacy SessionBundle, NOT_FOUND for a missing
        SavedModel or tag set, DATA_LOSS for a corrupt ``saved_model.pb``, INVALID_ARGUMENT for bad
        session settings, TensorFlow's code for restore/initialization failures, UNKNOWN for
        loader failures that carry no code.
        """
        started = time.monotonic()
        tf_options = options.get(self.platform, TensorFlowLoadOptions())
        saved_model.check_layout(path)
        config = session_config(tf_options)
        # Parsed here (and not only by TensorFlow's loader) for precise errors about the file and
        # the tag set before any session exists; the signatures come from this copy too.
        meta_graph = saved_model.read_meta_graph(path, tf_options.tags)
        signatures, signature_defs = signatures_from_meta_graph(meta_graph)
        del meta_graph  # Can be large (the whole graph); TensorFlow parses its own copy.
        session = _open_session(path, tf_options.tags, config)
        runner = SessionRunner(session, inline_runs=self.inline_runs)
        model = TensorFlowModel(path, signatures, signature_defs, runner)
        logger.info(
            "Loaded SavedModel %s (tags %s, %d signatures) in %.0f ms",
            path,
            ",".join(tf_options.tags),
            len(signatures),
            (time.monotonic() - started) * 1000,
        )
        return model


def _open_session(path: str, tags: tuple[str, ...], config: Any) -> Any:
    """A new session with the SavedModel's graph imported, variables restored, init ops run."""
    try:
        session = _tf.new_session(config)
    except _tf.OpError as exc:
        raise from_op_error(exc) from None
    try:
        _tf.load_saved_model(session, list(tags), path)
    except _tf.OpError as exc:  # Restoring variables or running init ops failed.
        session.close()
        raise from_op_error(exc) from None
    except Exception as exc:
        # TensorFlow's Python loader also fails with plain exceptions (ValueError for a missing
        # checkpoint, RuntimeError for several init ops...): TensorFlow's errors without a
        # status code, hence UNKNOWN, the code TensorFlow gives uncategorized failures.
        session.close()
        raise ServingError(
            Code.UNKNOWN, f"Failed to load the SavedModel at {path}: {describe(exc)}"
        ) from None
    return session
