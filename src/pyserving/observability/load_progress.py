"""Progress lines while a model version loads for long.

The lifecycle already logs one line per state change with its timing (``Loading servable version
...``, ``Successfully loaded ... (took N s)``...). A multi-gigabyte model can stay LOADING for
minutes in between; :class:`LoadProgress` (a ServerCore state listener plus one timer thread) logs
``Still loading servable version {name: x version: 3} (40 s)`` every ``interval`` seconds for each
version still LOADING, so an operator can tell a slow load from a hung server. A version whose
load failed and that waits to retry is not loading: the loader logs ``retrying in N s (attempt k
of n): <error>`` instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from pyserving.errors import ServingError
from pyserving.lifecycle.loader import is_waiting_to_retry
from pyserving.lifecycle.state import ServableId, ServableState

logger = logging.getLogger("pyserving.lifecycle.progress")

DEFAULT_INTERVAL_S = 10.0


class LoadProgress:
    """Listener + ticker; ``start`` the ticker once, ``stop`` it at shutdown (idempotent)."""

    def __init__(
        self, interval: float = DEFAULT_INTERVAL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._loading: dict[ServableId, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __call__(
        self, name: str, version: int, state: ServableState, error: ServingError | None
    ) -> None:
        sid = ServableId(name, version)
        with self._lock:
            if state is ServableState.LOADING:
                self._loading[sid] = self._clock()
            else:
                self._loading.pop(sid, None)

    def report(self) -> list[str]:
        """Log (and return) one line per version LOADING for at least one interval."""
        now = self._clock()
        with self._lock:
            slow = [(sid, now - since) for sid, since in self._loading.items()]
        lines = [
            f"Still loading servable version {sid} ({elapsed:.0f} s)"
            for sid, elapsed in slow
            if elapsed >= self._interval and not is_waiting_to_retry(sid)
        ]
        for line in lines:
            logger.info("%s", line)
        return lines

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="load-progress", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):  # ends with stop()
            self.report()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
