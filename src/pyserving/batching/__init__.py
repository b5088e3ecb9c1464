"""Dynamic batching: concurrent requests to one model version share model calls.

The stage sits between the core service and the runtime as a
:class:`~pyserving.service.execution.ModelRunner`. Modules: ``params`` (TF Serving's
BatchingParameters: text format, defaults, checks), ``config`` (server options -> batching),
``policy`` (options per model version, the post-load hook), ``runner`` (the ModelRunner),
``queue`` (one queue's batches), ``scheduler`` (batch threads, fairness, inline runs),
``tensors`` (merge, pad, split), ``batch`` (requests, tasks, batches), ``observer`` (metrics).
"""

from __future__ import annotations

from pyserving.batching.config import BatchingSetup, batching_setup
from pyserving.batching.observer import BatchObserver, BatchStats, MetricsObserver
from pyserving.batching.params import BatchingOptions, from_proto, parse_batching_parameters
from pyserving.batching.policy import PER_MODEL_FILE, BatchingPolicy
from pyserving.batching.runner import BatchingRunner

__all__ = [
    "PER_MODEL_FILE",
    "BatchObserver",
    "BatchStats",
    "BatchingOptions",
    "BatchingPolicy",
    "BatchingRunner",
    "BatchingSetup",
    "MetricsObserver",
    "batching_setup",
    "from_proto",
    "parse_batching_parameters",
]
