"""The TensorFlow runtime (platform ``tensorflow``). Importing this package imports TensorFlow.

Modules: ``runtime`` (loading), ``model`` (a loaded version), ``session`` (running by tensor name),
``signatures`` (SignatureDef -> Signature), ``saved_model`` (files and tags), ``session_config``
(flags -> ConfigProto), ``status`` (TensorFlow errors), ``_tf`` (the TensorFlow boundary).
"""

from __future__ import annotations

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
