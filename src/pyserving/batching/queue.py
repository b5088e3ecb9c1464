"""One batching queue: the tasks of one model version with one set of inputs (names and dtypes)
and one list of fetches, grouped into batches.

Everything here except :meth:`BatchQueue.execute` runs on the event loop thread. Semantics
(TF Serving's ``shared_batch_scheduler`` and ``batching_session``):

* a task joins the open batch (the newest one) if its rows fit (``max_batch_size``, or
  ``max_execution_batch_size`` with large-batch splitting); otherwise the open batch closes and a
  new one opens, unless the queue already holds ``max_enqueued_batches`` batches (UNAVAILABLE);
* with splitting, a task that does not fit fills the open batch and continues in new ones;
* the head batch may run when closed (full or timed out), or at once with
  ``batch_timeout_micros`` 0, as soon as a batch thread is free;
* tasks whose future is done (client left, deadline answered) or whose deadline passed leave when
  their batch is taken to run, so they never occupy rows in a model call.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from pyserving.batching.batch import Batch, Outputs, Request, Task
from pyserving.batching.params import BatchingOptions
from pyserving.batching.placement import Placement
from pyserving.batching.tensors import merge_inputs, split_outputs
from pyserving.errors import (
    ServingError,
    deadline_exceeded,
    internal,
    invalid_argument,
    unavailable,
)

QUEUE_FULL = "The batch scheduling queue to which this task was submitted is full"


class BatchQueue:
    """Batches of one (model version, input names/dtypes, fetches) key; see the module docstring.

    ``poke(queue)`` tells the scheduler that the head batch may have become runnable.
    """

    def __init__(
        self,
        options: BatchingOptions,
        fetches: Sequence[str],
        loop: asyncio.AbstractEventLoop,
        poke: Callable[[BatchQueue], None],
        *,
        model_name: str = "",
        siblings: Mapping[object, BatchQueue] | None = None,
        inline_threshold_s: float = 0.0,
    ) -> None:
        self.options = options
        self.fetches = list(fetches)
        self.model_name = model_name
        # The model version's queues (this one included), for its queue-depth gauge.
        self.siblings: Mapping[object, BatchQueue] = siblings if siblings is not None else {}
        self.batches: deque[Batch] = deque()
        self.scheduled = False  # listed in the scheduler's ready queues
        # One-task batches in a row run inline by the scheduler's deferred pump (see scheduler).
        self.solo_streak = 0
        self.queued_tasks = 0
        self.loop = loop
        self._poke = poke
        self._limit = options.execution_limit
        self._timeout_s = options.batch_timeout_micros / 1e6
        self.placement = Placement(inline_threshold_s, model_name)

    # -- enqueueing ---------------------------------------------------------------------------

    def add(
        self, request: Request, feeds: Mapping[str, np.ndarray], size: int
    ) -> list[asyncio.Future[Outputs]]:
        """Queue ``size`` rows of ``feeds``; the futures answer each resulting task in order.

        Raises (nothing queued then): INVALID_ARGUMENT for a task larger than ``max_batch_size``,
        UNAVAILABLE when the queue is full.
        """
        options = self.options
        if size > options.max_batch_size:
            raise invalid_argument(
                f"Task size {size} is larger than maximum input batch size {options.max_batch_size}"
            )
        now = time.monotonic()
        deadline = now + request.timeout_ms / 1000 if request.timeout_ms > 0 else math.inf
        batches = self.batches
        if batches:
            batch = batches[-1]
            if not batch.closed and batch.rows + size <= self._limit:
                # The usual task: it fits the open batch whole (what _plan and _batch_for decide
                # for it, without their calls and lists).
                future: asyncio.Future[Outputs] = self.loop.create_future()
                batch.tasks.append(Task(request, feeds, size, future, now, deadline))
                batch.rows += size
                if deadline < batch.deadline:
                    batch.deadline = deadline
                    self._arm(batch)
                if batch.rows >= self._limit:
                    batch.closed = True
                self.queued_tasks += 1
                self._poke(self)
                return [future]
        pieces, new_batches = self._plan(size)
        if len(self.batches) + new_batches > options.max_enqueued_batches:
            raise unavailable(QUEUE_FULL)
        request.expect_tasks(len(pieces))
        futures: list[asyncio.Future[Outputs]] = []
        start = 0
        for rows in pieces:
            batch = self._batch_for(rows, now)
            part = feeds if len(pieces) == 1 else _rows(feeds, start, rows)
            future = self.loop.create_future()
            batch.add(Task(request, part, rows, future, now, deadline))
            if deadline < batch.deadline:
                batch.deadline = deadline
                self._arm(batch)
            if batch.rows >= self._limit:
                batch.closed = True
            futures.append(future)
            start += rows
        self.queued_tasks += len(pieces)
        self._poke(self)
        return futures

    def _plan(self, size: int) -> tuple[list[int], int]:
        """How ``size`` rows are cut into tasks, and how many new batches that opens."""
        batches = self.batches
        open_batch = batches[-1] if batches and not batches[-1].closed else None
        room = self._limit - open_batch.rows if open_batch is not None else 0
        if open_batch is not None and size <= room:
            return [size], 0
        if self.options.enable_large_batch_splitting and size > 0:
            chunks = _chunks(size - room, self._limit)
            return ([room] if room else []) + chunks, len(chunks)
        return [size], 1

    def _batch_for(self, rows: int, now: float) -> Batch:
        batches = self.batches
        if batches:
            last = batches[-1]
            if not last.closed and last.rows + rows <= self._limit:
                return last
            last.closed = True
        batch = Batch(now)
        batches.append(batch)
        if self._timeout_s > 0:
            self._arm(batch)
        return batch

    # -- timers ---------------------------------------------------------------------------------

    def _arm(self, batch: Batch) -> None:
        """(Re)arm the batch's one timer for its next event: timeout or earliest deadline."""
        when = batch.deadline
        if not batch.closed and self._timeout_s > 0:
            when = min(when, batch.opened + self._timeout_s)
        if batch.timer is not None:
            batch.timer.cancel()
            batch.timer = None
        if when != math.inf:
            delay = max(0.0, when - time.monotonic())
            batch.timer = self.loop.call_later(delay, self._on_timer, batch)

    def _on_timer(self, batch: Batch) -> None:
        batch.timer = None
        now = time.monotonic()
        if not batch.closed and self._timeout_s > 0 and now >= batch.opened + self._timeout_s:
            batch.closed = True
            self._poke(self)
        earliest = math.inf
        for task in batch.tasks:
            if task.future.done():
                continue
            if task.deadline <= now:
                _expire(task, "running the model" if batch.started else "waiting for a batch")
            else:
                earliest = min(earliest, task.deadline)
        batch.deadline = earliest
        if earliest != math.inf or not batch.closed:
            self._arm(batch)

    # -- taking batches to run -----------------------------------------------------------------

    def runnable(self) -> bool:
        """Whether the head batch may run now (a thread permitting)."""
        if not self.batches:
            return False
        head = self.batches[0]
        return head.closed or self._timeout_s <= 0 or len(self.batches) > 1

    def take(self) -> Batch | None:
        """Pop the runnable head batch without its departed tasks (None if nothing to run)."""
        now = time.monotonic()
        while self.runnable():
            batch = self.batches.popleft()
            batch.closed = True
            kept: list[Task] = []
            rows = 0
            for task in batch.tasks:
                if task.future.done() or task.deadline <= now:
                    if not task.future.done():
                        _expire(task, "waiting for a batch")
                    task.request.task_done()
                else:
                    kept.append(task)
                    rows += task.size  # summed here: a generator is one more call per task
            self.queued_tasks -= len(batch.tasks)
            if kept:
                batch.tasks = kept
                batch.rows = rows
                batch.started = now
                return batch
            if batch.timer is not None:
                batch.timer.cancel()
                batch.timer = None
        return None

    def abandon(self) -> None:
        """Fail every queued task with UNAVAILABLE and release its share of the lease."""
        while self.batches:
            batch = self.batches.popleft()
            if batch.timer is not None:
                batch.timer.cancel()
            for task in batch.tasks:
                if not task.future.done() and not task.future.get_loop().is_closed():
                    task.future.set_exception(unavailable("The server is shutting down"))
                task.request.task_done()
            self.queued_tasks -= len(batch.tasks)

    # -- running (any thread) ------------------------------------------------------------------

    def execute(self, batch: Batch) -> tuple[list[Outputs] | ServingError, float]:
        """Run ``batch``: merge, one model call, split. Returns (per-task outputs or the error,
        seconds the model call took). Releases every task's share of its lease."""
        tasks = batch.tasks
        elapsed = 0.0
        try:
            sizes = [task.size for task in tasks]
            padded = self.options.padded_size(batch.rows) if batch.rows else 0
            feeds = merge_inputs(
                [task.feeds for task in tasks],
                padded,
                self.options.pad_variable_length_inputs,
                rows=batch.rows,
            )
            model = tasks[0].request.lease.model
            # Batches run untimed (waiters enforce their own deadlines); small graphs run right
            # on this thread where the runtime offers it (see Placement.calling_thread).
            started = time.perf_counter()
            if self.placement.calling_thread:
                outputs = model.run_on_calling_thread(feeds, self.fetches)
            else:
                outputs = model.run(feeds, self.fetches, 0)
            elapsed = time.perf_counter() - started
            result: list[Outputs] | ServingError = split_outputs(outputs, sizes, padded)
        except ServingError as error:
            result = error
        except Exception as exc:
            result = internal(f"Batched run failed: {type(exc).__name__}: {exc}")
        finally:
            for task in tasks:
                task.request.task_done()
        return result, elapsed


def _rows(feeds: Mapping[str, np.ndarray], start: int, rows: int) -> dict[str, np.ndarray]:
    return {name: tensor[start : start + rows] for name, tensor in feeds.items()}


def _chunks(rows: int, limit: int) -> list[int]:
    full, rest = divmod(rows, limit)
    return [limit] * full + ([rest] if rest else [])


def _expire(task: Task, where: str) -> None:
    task.future.set_exception(
        deadline_exceeded(f"Timed out after {task.request.timeout_ms} ms {where}")
    )
