"""The shared batch scheduler: which queue's batch runs next, and where.

Design (one event loop, ``num_batch_threads`` worker threads):

* All queue state lives on the event loop thread; nothing there takes a lock. Enqueueing marks the
  queue ready and schedules one ``_pump`` per loop iteration (``call_soon``), so the requests that
  arrive in the same iteration can share a batch.
* ``_pump`` hands runnable batches to free batch threads, round-robin over ready queues (TF
  Serving's fair interleaving). A batch thread merges the tasks' inputs, makes the one model call
  (TensorFlow releases the GIL), splits the outputs and releases the leases, then posts the batch
  back with ONE ``call_soon_threadsafe`` per batch; the loop resolves every waiter's future there.
* Queues whose model calls measure faster than a thread hand-off (see ``placement``) run their
  batches right on the loop thread: no hop, no GIL hand-over. They take no batch thread; their
  calls are microseconds long by construction.
* Such an inline queue runs its batch at once, inside ``poke`` (in the enqueueing caller's
  callback, so a request that never suspends needs no further loop iteration), when nothing else
  waits for the pump and its last :data:`SOLO_STREAK` batches run by the deferred pump held one
  task each: requests are arriving one at a time, so waiting for the end of the iteration batches
  nothing. The deferred pump is still scheduled: requests enqueued later in the same iteration
  share its batch, and a deferred batch of several tasks restarts the streak, so while requests
  arrive together they keep sharing batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue as thread_queue
import threading
import time
from collections import deque
from typing import Final

from pyserving.batching.batch import Batch, Outputs
from pyserving.batching.observer import BatchObserver, BatchStats
from pyserving.batching.queue import BatchQueue
from pyserving.errors import ServingError

logger = logging.getLogger("pyserving.batching")

# Deferred single-task batches in a row before a queue's lone requests run at once (see above):
# at c=32 on half_plus_two, one such batch now and then started runs of immediate ones that split
# the batches (~6 tasks per model call against ~13).
SOLO_STREAK: Final = 8

_Outcome = tuple[list[Outputs] | ServingError, float]


class BatchScheduler:
    """Runs batches of any number of :class:`BatchQueue` on ``num_threads`` shared threads.

    Bound to the event loop of its first use. ``close`` stops the threads after the batches
    already handed to them; call it once nothing enqueues any more.
    """

    def __init__(
        self,
        num_threads: int,
        *,
        thread_name: str = "batch",
        observer: BatchObserver | None = None,
    ) -> None:
        self._num_threads = max(1, num_threads)
        self._free = self._num_threads
        self._thread_name = thread_name
        self._observer = observer
        self._ready: deque[BatchQueue] = deque()
        self._pump_pending = False
        self._pumping = False  # inside _pump: a poke from there must not recurse into it
        self._inbox: thread_queue.SimpleQueue[tuple[BatchQueue, Batch] | None] = (
            thread_queue.SimpleQueue()
        )
        self._threads: list[threading.Thread] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop served: the running one. A scheduler moves to a new loop only once its
        previous loop is closed (tests run several ``asyncio.run``); work of a closed loop has
        nobody waiting for it."""
        running = asyncio.get_running_loop()
        loop = self._loop
        if loop is not running:
            if loop is not None and not loop.is_closed():
                raise RuntimeError("A batch scheduler serves one event loop at a time")
            self._loop = running
            self._ready.clear()
            self._pump_pending = False
            self._free = self._num_threads
        return running

    def poke(self, queue: BatchQueue) -> None:
        """``queue`` may have a runnable batch: run it now (see the module docstring) or later in
        this loop iteration."""
        if not queue.scheduled:
            queue.scheduled = True
            self._ready.append(queue)
        if self._pump_pending:
            return
        if (
            queue.solo_streak >= SOLO_STREAK
            and queue.placement.inline
            and len(self._ready) == 1
            and not self._pumping
        ):
            self._pump(immediate=True)  # see the module docstring
        # Requests enqueued later in this iteration wait for the deferred pump (and share a batch).
        self._pump_pending = True
        self.bound_loop.call_soon(self._pump)

    def _pump(self, immediate: bool = False) -> None:
        self._pump_pending = False
        self._pumping = True
        try:
            self._pump_ready(immediate)
        finally:
            self._pumping = False

    def _pump_ready(self, immediate: bool) -> None:
        ready = self._ready
        blocked: list[BatchQueue] = []  # runnable, but waiting for a free thread
        while ready:
            queue = ready.popleft()
            inline = queue.placement.inline
            if not inline and self._free == 0:
                blocked.append(queue)
                continue
            batch = queue.take()
            if batch is None:
                queue.scheduled = False
                continue
            if inline:
                if not immediate:
                    queue.solo_streak = queue.solo_streak + 1 if len(batch.tasks) == 1 else 0
                self._finish(queue, batch, queue.execute(batch), on_loop=True)
            else:
                self._free -= 1
                self._start_threads()
                self._inbox.put((queue, batch))
            if queue.runnable():
                ready.append(queue)  # behind the others: one batch per queue per round
            else:
                queue.scheduled = False
        ready.extend(blocked)

    def _finished(self, queue: BatchQueue, batch: Batch, outcome: _Outcome) -> None:
        """On the loop: a batch thread is done with ``batch``."""
        self._free += 1
        self._finish(queue, batch, outcome, on_loop=False)
        if self._ready and not self._pump_pending:
            self._pump()

    def _finish(self, queue: BatchQueue, batch: Batch, outcome: _Outcome, *, on_loop: bool) -> None:
        if batch.timer is not None:
            batch.timer.cancel()
            batch.timer = None
        result, seconds = outcome
        tasks = batch.tasks
        if isinstance(result, ServingError):
            for task in tasks:
                if not task.future.done():
                    task.future.set_exception(result)
        else:
            queue.placement.record(seconds, on_loop)
            for task, outputs in zip(tasks, result, strict=True):
                if not task.future.done():
                    task.future.set_result(outputs)
        if self._observer is not None:
            self._observe(queue, batch, seconds)

    def _observe(self, queue: BatchQueue, batch: Batch, seconds: float) -> None:
        assert self._observer is not None
        processed = queue.options.padded_size(batch.rows) if batch.rows else 0
        stats = BatchStats(
            model_name=queue.model_name,
            thread_pool_name=queue.options.thread_pool_name,
            task_sizes=tuple(task.size for task in batch.tasks),
            queuing_seconds=tuple(batch.started - task.enqueued for task in batch.tasks),
            processed_size=processed,
            padding=processed - batch.rows,
            run_seconds=seconds,
            model_queued_tasks=sum(q.queued_tasks for q in queue.siblings.values()),
        )
        try:
            self._observer.batch_processed(stats)
        except Exception:  # metrics must never fail requests
            logger.exception("Batch observer failed")

    # -- threads -------------------------------------------------------------------------------

    def _start_threads(self) -> None:
        if self._threads:
            return
        for index in range(self._num_threads):
            thread = threading.Thread(
                target=self._work, name=f"{self._thread_name}-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _work(self) -> None:
        while True:
            item = self._inbox.get()
            if item is None:
                return
            queue, batch = item
            outcome = queue.execute(batch)
            # A closed loop (RuntimeError) has nobody waiting for these answers any more.
            with contextlib.suppress(RuntimeError):
                queue.loop.call_soon_threadsafe(self._finished, queue, batch, outcome)

    @property
    def bound_loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        assert loop is not None  # bound by the first queue's creation
        return loop

    def close(self, timeout: float = 30.0) -> None:
        """Stop the batch threads once the batches handed to them are done (from any thread)."""
        for _ in self._threads:
            self._inbox.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads.clear()
