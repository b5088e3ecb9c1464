"""Run deadlines: one daemon thread sets ``RunOptions.terminate`` on runs that outlive theirs.

onnxruntime cancels a run only through its ``RunOptions`` (checked between operators), so a bounded
run arms a :class:`Deadline`; the thread sleeps until the earliest one. Arming costs a heap push
and, when the new deadline is the earliest, one condition notify: no thread per run.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from typing import Any


class Deadline:
    """One armed run; ``fired`` once its RunOptions was told to terminate."""

    __slots__ = ("at", "cancelled", "fired", "run_options")

    def __init__(self, at: float, run_options: Any) -> None:
        self.at = at
        self.run_options = run_options
        self.cancelled = False
        self.fired = False


class Watchdog:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, run_options: Any, timeout_ms: int) -> Deadline:
        deadline = Deadline(time.monotonic() + timeout_ms / 1000, run_options)
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="onnx-deadlines", daemon=True
                )
                self._thread.start()
            heapq.heappush(self._heap, (deadline.at, next(self._seq), deadline))
            if self._heap[0][2] is deadline:
                self._cond.notify()
        return deadline

    def disarm(self, deadline: Deadline) -> None:
        """The run ended: never terminate it (its entry leaves the heap when due)."""
        with self._cond:
            deadline.cancelled = True

    def _loop(self) -> None:
        with self._cond:
            while True:
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                _, _, deadline = heapq.heappop(self._heap)
                if not deadline.cancelled:
                    deadline.fired = True
                    deadline.run_options.terminate = True


WATCHDOG = Watchdog()
