"""The units the scheduler moves around: requests, their tasks, and batches of tasks.

A :class:`Request` is one ``BatchingRunner.run`` call: it owns the servable lease. It becomes one
:class:`Task` (or several when a large request is split across batches), each answered through its
own future. The lease is released once every task of the request has left the scheduler: dropped
before running, or its batch finished running.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping

import numpy as np

from pyserving.service.execution import Lease

Outputs = list[np.ndarray]


class Request:
    """Owns ``lease`` until :meth:`task_done` has been called once per task.

    Thread-safety: ``task_done`` may be called from the event loop and from batch threads; split
    requests (``tasks > 1``) count under a lock, the common single-task request needs none.
    """

    __slots__ = ("_lock", "_tasks_left", "lease", "timeout_ms")

    def __init__(self, lease: Lease, timeout_ms: int) -> None:
        self.lease = lease
        self.timeout_ms = timeout_ms
        self._tasks_left = 1
        self._lock: threading.Lock | None = None

    def expect_tasks(self, count: int) -> None:
        """Called before any task is queued when the request is split into ``count`` tasks."""
        self._tasks_left = count
        if count > 1:
            self._lock = threading.Lock()

    def task_done(self) -> None:
        lock = self._lock
        if lock is None:
            self.lease.release()
            return
        with lock:
            self._tasks_left -= 1
            last = self._tasks_left == 0
        if last:
            self.lease.release()


class Task:
    """Rows of one request in one batch; ``future`` gets this task's outputs or its error."""

    __slots__ = ("deadline", "enqueued", "feeds", "future", "request", "size")

    def __init__(
        self,
        request: Request,
        feeds: Mapping[str, np.ndarray],
        size: int,
        future: asyncio.Future[Outputs],
        enqueued: float,
        deadline: float,
    ) -> None:
        self.request = request
        self.feeds = feeds
        self.size = size
        self.future = future
        self.enqueued = enqueued
        self.deadline = deadline  # monotonic seconds; math.inf when the request has no timeout


class Batch:
    """Tasks of one queue that run as one model call.

    ``closed``: takes no more tasks (full, timed out, or a later task did not fit). ``timer``: the
    pending event-loop timer (batch timeout or the earliest task deadline), if any.
    """

    __slots__ = ("closed", "deadline", "opened", "rows", "started", "tasks", "timer")

    def __init__(self, opened: float) -> None:
        self.tasks: list[Task] = []
        self.rows = 0
        self.opened = opened
        self.closed = False
        self.started = 0.0
        self.deadline = float("inf")
        self.timer: asyncio.TimerHandle | None = None

    def add(self, task: Task) -> None:
        self.tasks.append(task)
        self.rows += task.size
