"""Prometheus metrics in TF Serving's format (reference §7), served at the path of
``--monitoring_config_file``'s ``prometheus_config``.

For other parts of the server: :func:`record_warmup` (warmup), :func:`record_batch` and
:func:`set_batch_queue_depth` (batching), :func:`record_load_attempt` (loads). The request
adapters record through :class:`pyserving.observability.requests.RequestObserver`.
"""

from __future__ import annotations

from pyserving.observability.metrics.recorders import (
    record_batch,
    record_load_attempt,
    record_warmup,
    refresh_process_metrics,
    render_page,
    set_batch_queue_depth,
)

__all__ = [
    "record_batch",
    "record_load_attempt",
    "record_warmup",
    "refresh_process_metrics",
    "render_page",
    "set_batch_queue_depth",
]
