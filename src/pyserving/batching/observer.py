"""What the batcher reports per executed batch, for TF Serving's ``batching_session`` metrics.

The scheduler calls :meth:`BatchObserver.batch_processed` on the event loop thread after each
batch, so an observer must be quick and must not block (recording into Prometheus metrics is). The
numbers map onto TF Serving's metrics as:

* ``/tensorflow/serving/batching_session/queuing_latency`` (µs, label thread_pool_name): one point
  per task, ``queuing_seconds``;
* ``wrapped_run_count``: one per batch;
* ``input_batch_size``: one point per task, ``task_sizes``;
* ``processed_batch_size``: ``processed_size`` (rows after padding);
* ``padding_size`` (label execution_batch_size = ``processed_size``): ``padding``.

``model_queued_tasks`` (tasks of the model version still waiting after this batch started) feeds a
queue-depth gauge; :meth:`pyserving.batching.BatchingRunner.queued_tasks` reads it on demand too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class BatchStats:
    model_name: str
    thread_pool_name: str
    task_sizes: tuple[int, ...]
    queuing_seconds: tuple[float, ...]
    processed_size: int
    padding: int
    run_seconds: float  # the model call alone; 0.0 when the batch failed before it
    model_queued_tasks: int


class BatchObserver(Protocol):
    def batch_processed(self, stats: BatchStats) -> None: ...


class MetricsObserver:
    """Records TF Serving's ``batching_session`` metrics and the queue-depth gauge through
    :mod:`pyserving.observability.metrics` (use it when monitoring is on)."""

    def __init__(self) -> None:
        from pyserving.observability.metrics.batches import BatchRecorder

        self._recorder = BatchRecorder()

    def batch_processed(self, stats: BatchStats) -> None:
        self._recorder.record(stats)
