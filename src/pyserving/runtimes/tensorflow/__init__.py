"""The TensorFlow runtime (platform ``tensorflow``).

Modules: ``runtime`` (loading), ``model`` (a loaded version), ``session`` (running by tensor name),
``signatures`` (SignatureDef -> Signature), ``saved_model`` (files and tags), ``session_config``
(flags -> ConfigProto), ``status`` (TensorFlow errors), ``options`` (load options, no TensorFlow),
``_tf`` (the TensorFlow boundary).

Importing this package imports no TensorFlow (so ``options`` stays light); the names below are
imported, with TensorFlow, on first access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyserving.runtimes.tensorflow.model import TensorFlowModel
    from pyserving.runtimes.tensorflow.runtime import TensorFlowRuntime
    from pyserving.runtimes.tensorflow.session import DEFAULT_INLINE_RUNS, InlineRuns
    from pyserving.runtimes.tensorflow.signatures import NOT_RUNNABLE

__all__ = [
    "DEFAULT_INLINE_RUNS",
    "NOT_RUNNABLE",
    "InlineRuns",
    "TensorFlowModel",
    "TensorFlowRuntime",
]

_HOMES = {
    "TensorFlowModel": "model",
    "TensorFlowRuntime": "runtime",
    "DEFAULT_INLINE_RUNS": "session",
    "InlineRuns": "session",
    "NOT_RUNNABLE": "signatures",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
