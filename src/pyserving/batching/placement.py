"""Where a queue's batches run: on batch threads, or right on the event loop thread.

Handing a batch to a thread and back costs the loop a wake-up, a GIL hand-over and a callback, a
few microseconds each (more under load, when the returning thread waits for the GIL). A model call
cheaper than that is better made on the loop thread itself: half_plus_two's call takes ~5 us.

Measuring on batch threads overstates a call (the thread waits for the GIL to return), and a model
whose calls are long must never block the loop. Hence, per queue:

1. ``PROBE_RUNS`` batches on batch threads; if the fastest took ``10 x threshold`` or more, the
   queue stays on threads for good (a slow model blocks the loop at most never);
2. else ``PROBE_RUNS`` batches on the loop, measured there (accurately); the queue goes inline if
   the fastest took less than ``threshold``, else stays on threads for good;
3. inline, ``SLOW_STREAK`` consecutive calls of ``5 x threshold`` or more (bigger batches, a changed
   model) send it back to threads for good.

``calling_thread`` says how a batch thread runs the graph: on itself while the queue may still go
inline (cheap for small graphs, and the probes must measure what the loop would run), through the
runtime's own thread pools once settled on threads: for big graphs TensorFlow's inter-op pool
spreads the work better (measured on a 784-8192-8192-10 MLP: one-row calls 11 ms against 14 ms).
"""

from __future__ import annotations

import enum
import logging
from typing import Final

logger = logging.getLogger("pyserving.batching")

PROBE_RUNS: Final = 8
SLOW_STREAK: Final = 4


class _Phase(enum.Enum):
    PROBE_THREADS = 1
    PROBE_LOOP = 2
    INLINE = 3
    THREADS = 4


class Placement:
    """The decision for one queue; ``inline`` says where its next batch runs. Loop thread only."""

    __slots__ = ("_name", "_phase", "_probes", "_slow", "_threshold", "inline")

    def __init__(self, threshold_s: float, name: str = "") -> None:
        self._threshold = threshold_s
        self._name = name
        self._phase = _Phase.PROBE_THREADS if threshold_s > 0 else _Phase.THREADS
        self._probes: list[float] = []
        self._slow = 0
        self.inline = False

    @property
    def calling_thread(self) -> bool:
        return self._phase is not _Phase.THREADS

    def record(self, seconds: float, on_loop: bool) -> None:
        """One model call of this queue took ``seconds``, on the loop thread or a batch thread."""
        phase = self._phase
        if phase is _Phase.THREADS:
            return
        threshold = self._threshold
        if phase is _Phase.INLINE:
            self._slow = self._slow + 1 if seconds >= 5 * threshold else 0
            if self._slow >= SLOW_STREAK:
                self._settle(_Phase.THREADS, seconds)
            return
        if on_loop is (phase is _Phase.PROBE_THREADS):
            return  # a batch started before the phase changed
        self._probes.append(seconds)
        if len(self._probes) < PROBE_RUNS:
            return
        fastest = min(self._probes)
        self._probes.clear()
        if phase is _Phase.PROBE_THREADS and fastest < 10 * threshold:
            self._phase = _Phase.PROBE_LOOP
            self.inline = True
        else:
            self._settle(_Phase.INLINE if fastest < threshold else _Phase.THREADS, fastest)

    def _settle(self, phase: _Phase, seconds: float) -> None:
        self._phase = phase
        self.inline = phase is _Phase.INLINE
        logger.info(
            "Batches of model %s run on %s (model call %.0f us)",
            self._name or "?",
            "the event loop thread" if self.inline else "batch threads",
            seconds * 1e6,
        )
