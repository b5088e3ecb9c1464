"""TF Serving's ``batching_session`` metrics and the queue-depth gauge, per executed batch, for
:class:`pyserving.batching.MetricsObserver`.

Recording a batch appends one entry; folds (:mod:`.deferred`: before every read, or when
:data:`~.deferred.FOLD_AT` batches wait) write the waiting batches together: each histogram's
amounts in one bulk observation, the gauge set to the depth the last batch reported per model.
The values are those of :func:`.recorders.record_batch` and :func:`.recorders.set_batch_queue_depth`
called per batch, which multi-process mode still does (no deferral there).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Final, TypeVar

from prometheus_client import Gauge, Histogram

from pyserving.observability.metrics import cells, deferred
from pyserving.observability.metrics import registry as m
from pyserving.observability.metrics.recorders import record_batch, set_batch_queue_depth

if TYPE_CHECKING:
    from pyserving.batching.observer import BatchStats

_RUNS: Final = cells.adder(m.WRAPPED_RUN_COUNT)
K = TypeVar("K", int, str)


class BatchRecorder(deferred.Deferred):
    """Records :class:`~pyserving.batching.observer.BatchStats` (from the event loop thread)."""

    __slots__ = (
        "_batch_size", "_defer", "_depth", "_input", "_padding", "_processed", "_queuing",
        "_waiting",
    )  # fmt: skip

    def __init__(self) -> None:
        self._defer = m.defer_recording()
        self._waiting: list[BatchStats] = []
        self._input = deferred.ObserveMany(m.INPUT_BATCH_SIZE, integral=True)
        self._processed = deferred.ObserveMany(m.PROCESSED_BATCH_SIZE, integral=True)
        # Keyed by what the configuration bounds: allowed batch sizes, models, thread pools.
        self._padding: dict[int, deferred.ObserveMany] = {}
        self._batch_size: dict[str, deferred.ObserveMany] = {}
        self._queuing: dict[str, deferred.ObserveMany] = {}
        self._depth: dict[str, Gauge] = {}
        if self._defer:
            deferred.register(self)

    def record(self, stats: BatchStats) -> None:
        if not self._defer:
            record_batch(
                model_name=stats.model_name,
                thread_pool_name=stats.thread_pool_name,
                input_size=sum(stats.task_sizes),
                processed_size=stats.processed_size,
                queuing_micros=[seconds * 1e6 for seconds in stats.queuing_seconds],
            )
            set_batch_queue_depth(stats.model_name, stats.model_queued_tasks)
            return
        waiting = self._waiting
        waiting.append(stats)
        if len(waiting) >= deferred.FOLD_AT:
            self.fold()

    def fold_locked(self) -> None:
        waiting = self._waiting
        n = len(waiting)
        if not n:
            return
        taken = waiting[:n]
        del waiting[:n]
        inputs = [sum(stats.task_sizes) for stats in taken]
        processed = [stats.processed_size for stats in taken]
        padding: defaultdict[int, list[int]] = defaultdict(list)
        sizes: defaultdict[str, list[int]] = defaultdict(list)
        queuing: defaultdict[str, list[float]] = defaultdict(list)
        depth: dict[str, int] = {}
        for stats, rows in zip(taken, inputs, strict=True):
            padding[stats.processed_size].append(max(0, stats.processed_size - rows))
            sizes[stats.model_name].append(stats.processed_size)
            queuing[stats.thread_pool_name].extend(
                max(0.0, seconds * 1e6) for seconds in stats.queuing_seconds
            )
            depth[stats.model_name] = stats.model_queued_tasks
        _RUNS(n)
        self._input(inputs)
        self._processed(processed)
        for size, rows_padded in padding.items():
            _bulk(self._padding, size, m.PADDING_SIZE, rows_padded)
        for model, rows_run in sizes.items():
            _bulk(self._batch_size, model, m.BATCH_SIZE, rows_run)
        for pool, micros in queuing.items():
            if micros:
                _bulk(self._queuing, pool, m.QUEUING_LATENCY, micros)
        for model, tasks in depth.items():
            gauge = self._depth.get(model)
            if gauge is None:
                gauge = self._depth[model] = m.BATCH_QUEUE_DEPTH.labels(model)
            gauge.set(tasks)


def _bulk(
    known: dict[K, deferred.ObserveMany],
    key: K,
    histogram: Histogram,
    amounts: list[int] | list[float],
) -> None:
    """Observe ``amounts`` in ``histogram``'s child labelled ``str(key)`` (kept in ``known``)."""
    observe = known.get(key)
    if observe is None:
        integral = not amounts or isinstance(amounts[0], int)
        child = histogram.labels(str(key))
        observe = known[key] = deferred.ObserveMany(child, integral=integral)
    observe(amounts)
