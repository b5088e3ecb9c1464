"""``BatchingRunner``: the :class:`~pyserving.service.execution.ModelRunner` that batches.

Each model version has its batching options (one set for all, or per model from its version
directory) or none (then its runs go to the unbatched ``fallback`` runner). Its requests are
queued by (input names and dtypes, fetches): only requests that can share one model call share a
queue. A request whose inputs have different dtypes than another's gets its own queue, so a
wrong dtype fails with TensorFlow's error for that request alone instead of being cast. The
queues hang on the policy's per-version entry and disappear with the unloaded version.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any

import numpy as np

from pyserving.batching.batch import Request
from pyserving.batching.observer import BatchObserver
from pyserving.batching.params import BatchingOptions
from pyserving.batching.policy import BatchingPolicy, ModelEntry
from pyserving.batching.queue import BatchQueue
from pyserving.batching.scheduler import BatchScheduler
from pyserving.batching.tensors import task_size
from pyserving.service.execution import Lease, ModelRunner

logger = logging.getLogger("pyserving.batching")

# Model calls shorter than this run on the event loop thread (see ``placement``): about what
# handing a batch to a thread and back costs. Measured on the loop of a server at c=1, TensorFlow's
# half_plus_two call (~5 us in a warm loop) takes 36-55 us (cold caches between requests), so a
# 50 us threshold placed it on the loop or on threads by chance at start-up; on threads the zttp
# gRPC c=1 p50 was 454-515 us against 270-290 us on the loop (two sleeping threads woken per
# request). A 150 us call still blocks the loop for less than one request's own handling costs.
DEFAULT_INLINE_THRESHOLD_S = 150e-6

_QueueKey = tuple[tuple[tuple[str, np.dtype[Any]], ...], tuple[str, ...]]


class BatchingRunner:
    """Batches model runs (see the module docstring).

    Parameters:
        policy: each model version's batching options (None: the version runs unbatched).
        fallback: runs the requests of models without batching options.
        num_batch_threads: batches running at once on batch threads, shared by all models.
        inline_threshold_s: model calls measured faster than this run on the event loop thread;
            0 keeps every batch on the batch threads.

    Thread-safety: ``run`` on one event loop; ``queued_tasks`` from any thread (a gauge's
    snapshot); ``close`` once at shutdown.
    """

    def __init__(
        self,
        policy: BatchingPolicy,
        fallback: ModelRunner,
        *,
        num_batch_threads: int,
        thread_name: str = "batch",
        observer: BatchObserver | None = None,
        inline_threshold_s: float = DEFAULT_INLINE_THRESHOLD_S,
    ) -> None:
        self._policy = policy
        self._fallback = fallback
        self._inline_threshold = inline_threshold_s
        self._scheduler = BatchScheduler(
            num_batch_threads, thread_name=thread_name, observer=observer
        )

    def run(
        self,
        lease: Lease,
        feeds: Mapping[str, np.ndarray],
        fetches: Sequence[str],
        timeout_ms: int = 0,
    ) -> Awaitable[list[np.ndarray]]:
        """Not a coroutine: for the usual request (one task) the awaitable is the task's future
        itself, one coroutine frame less per request. Errors of queueing raise here."""
        model = lease.model
        entry = self._policy.entry(model, lease.name)
        options = entry.options if entry is not None else None
        if options is None or not feeds:
            return self._fallback.run(lease, feeds, fetches, timeout_ms)
        try:
            # One loop for the queue key and the task size (a comprehension and task_size would
            # be two more calls per request); task_size raises the error of inputs without a
            # shared dim 0.
            dtypes = []
            size = -1
            for name, tensor in feeds.items():
                dtypes.append((name, tensor.dtype))
                shape = tensor.shape
                if not shape or (size >= 0 and shape[0] != size):
                    task_size(feeds)
                size = shape[0]
            key: _QueueKey = (tuple(dtypes), tuple(fetches))
            assert entry is not None
            queue = entry.queues.get(key)
            if queue is None or queue.loop.is_closed():
                queue = self._new_queue(entry, options, fetches)
                entry.queues[key] = queue
            futures = queue.add(Request(lease, timeout_ms), feeds, size)
        except BaseException:
            lease.release()  # nothing was queued: the lease is still ours alone
            raise
        if len(futures) == 1:
            return futures[0]
        return _gather_parts(futures)

    def queued_tasks(self) -> dict[str, int]:
        """Tasks waiting in the queues, by model name (a snapshot; safe from any thread)."""
        depths: dict[str, int] = {}
        for entry in self._policy.entries():
            for queue in list(entry.queues.values()):
                depths[entry.name] = depths.get(entry.name, 0) + queue.queued_tasks
        return depths

    def close(self) -> None:
        """Shut down: requests still queued fail with UNAVAILABLE and release their leases (so
        that the versions can unload), then the batch threads stop after the batches they hold.
        Call it on the event loop thread, or once that loop has stopped."""
        for entry in self._policy.entries():
            for queue in list(entry.queues.values()):
                queue.abandon()
        self._scheduler.close()

    def _new_queue(
        self, entry: ModelEntry, options: BatchingOptions, fetches: Sequence[str]
    ) -> BatchQueue:
        scheduler = self._scheduler
        return BatchQueue(
            options,
            fetches,
            scheduler.loop,
            scheduler.poke,
            model_name=entry.name,
            siblings=entry.queues,
            inline_threshold_s=self._inline_threshold,
        )


async def _gather_parts(futures: list[asyncio.Future[list[np.ndarray]]]) -> list[np.ndarray]:
    """The outputs of a request split across batches: each output's parts joined on dim 0."""
    try:
        parts = [await future for future in futures]
    finally:
        for future in futures:
            future.cancel()  # no-op for the finished ones; frees the rest from waiting
    return [np.concatenate(pieces) for pieces in zip(*parts, strict=True)]
