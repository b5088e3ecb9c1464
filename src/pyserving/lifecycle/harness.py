"""The manager's record of one version of one model (TF Serving's ``LoaderHarness``)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from pyserving.errors import ServingError
from pyserving.lifecycle.handle import LoadedServable
from pyserving.lifecycle.policy import VersionSnapshot
from pyserving.lifecycle.state import ServableId, ServableState, check_transition


@dataclass(eq=False)
class VersionHarness:
    """State, error and loaded servable of one version, from START to END.

    Thread-safety: fields are read and written only under the manager's lock, except ``cancel``
    (an Event, safe anywhere) and ``servable`` once the version is AVAILABLE (never changed again).
    """

    id: ServableId
    path: str
    state: ServableState = ServableState.UNKNOWN
    is_aspired: bool = True
    error: ServingError | None = None
    servable: LoadedServable | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    """Set when the version stops being aspired: pending load retries are skipped."""
    since: float = field(default_factory=time.monotonic)
    """When the current state began (for log timings)."""

    def move_to(self, state: ServableState, error: ServingError | None = None) -> float:
        """Change state (checked against the transition table); the seconds spent in the old one."""
        check_transition(self.state, state)
        now = time.monotonic()
        elapsed, self.since = now - self.since, now
        self.state = state
        self.error = error
        return elapsed

    def snapshot(self) -> VersionSnapshot:
        return VersionSnapshot(self.id.version, self.state, self.is_aspired)
