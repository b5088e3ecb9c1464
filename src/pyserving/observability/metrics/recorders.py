"""Recording functions for the parts of the server that are not request adapters.

They are cheap enough for their callers' paths (one call per warmup, per load attempt, per executed
batch) and safe from any thread. The batch recorders, called per batch on the request path, keep
the value cells of their children (:mod:`.cells`) per model, pool and padded size, all bounded by
the server's configuration. The request path has its own pre-bound recorder
(:mod:`pyserving.observability.requests`).
"""

from __future__ import annotations

import os
import resource
from collections.abc import Iterable
from typing import Final

from prometheus_client import Gauge

from pyserving.observability.metrics import cells
from pyserving.observability.metrics import registry as m
from pyserving.observability.metrics.exposition import render


def record_warmup(model_path: str, status: str, micros: float, records: int) -> None:
    """One warmup of the version at ``model_path``: TF's ``model_warmup_latency`` (µs) and the
    records replayed. ``status`` is ``"OK"`` or the failure as TF prints a status
    (``"INVALID_ARGUMENT: ..."``, i.e. ``str(ServingError)``)."""
    m.WARMUP_LATENCY.labels(model_path, status).observe(max(0.0, micros))
    if records > 0:
        m.WARMUP_RECORDS.labels(model_path, status).inc(records)


class _BatchCells:
    """The cells of one (model, thread pool)'s batches."""

    __slots__ = ("batch_size", "queuing")

    def __init__(self, model_name: str, thread_pool_name: str) -> None:
        self.batch_size = cells.observer(m.BATCH_SIZE.labels(model_name))
        self.queuing = cells.observer(m.QUEUING_LATENCY.labels(thread_pool_name))


_WRAPPED_RUNS: Final = cells.adder(m.WRAPPED_RUN_COUNT)
_INPUT_SIZE: Final = cells.observer(m.INPUT_BATCH_SIZE)
_PROCESSED_SIZE: Final = cells.observer(m.PROCESSED_BATCH_SIZE)
# Keyed by what the configuration bounds: served models, thread pools, allowed batch sizes.
_batch_cells: dict[tuple[str, str], _BatchCells] = {}
_padding: dict[int, cells.Observe] = {}
_queue_depth: dict[str, Gauge] = {}


def record_batch(
    *,
    model_name: str,
    thread_pool_name: str,
    input_size: int,
    processed_size: int,
    queuing_micros: Iterable[float] = (),
) -> None:
    """One batch run on the wrapped model (TF's ``batching_session`` metrics).

    ``input_size``: rows the batched requests brought; ``processed_size``: rows actually run (after
    padding to an allowed batch size); ``queuing_micros``: for each request in the batch, the time
    it waited in the queue.
    """
    batch = _batch_cells.get((model_name, thread_pool_name))
    if batch is None:
        batch = _batch_cells.setdefault(
            (model_name, thread_pool_name), _BatchCells(model_name, thread_pool_name)
        )
    padding = _padding.get(processed_size)
    if padding is None:
        child = m.PADDING_SIZE.labels(str(processed_size))
        padding = _padding.setdefault(processed_size, cells.observer(child))
    _WRAPPED_RUNS(1)
    _INPUT_SIZE(input_size)
    _PROCESSED_SIZE(processed_size)
    padding(max(0, processed_size - input_size))
    batch.batch_size(processed_size)
    queuing = batch.queuing
    for micros in queuing_micros:
        queuing(max(0.0, micros))


def set_batch_queue_depth(model_name: str, depth: int) -> None:
    """Requests now queued for ``model_name``'s batches (a gauge the batcher keeps current)."""
    gauge = _queue_depth.get(model_name)
    if gauge is None:
        gauge = _queue_depth.setdefault(model_name, m.BATCH_QUEUE_DEPTH.labels(model_name))
    gauge.set(depth)


def record_load_attempt(model_path: str, ok: bool, micros: float) -> None:
    """One runtime load of a version directory: TF's ``load_attempt_count`` (and, on success, the
    cumulative ``load_latency`` in µs)."""
    m.LOAD_ATTEMPT_COUNT.labels(model_path, "success" if ok else "fail").inc()
    if ok:
        m.LOAD_LATENCY.labels(model_path).inc(max(0, int(micros)))


def resident_memory_bytes() -> int:
    """Current RSS (``/proc/self/statm``), or the peak RSS where /proc is missing."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak * 1024 if os.uname().sysname == "Linux" else peak


def refresh_process_metrics() -> None:
    m.RESIDENT_MEMORY.set(resident_memory_bytes())


def render_page() -> bytes:
    """The Prometheus page: every metric of every server process (see :mod:`.registry`)."""
    refresh_process_metrics()
    return render(m.collect())
