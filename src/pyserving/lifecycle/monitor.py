"""Every version's latest state (for GetModelStatus and readiness) and the state listeners.

TF Serving's ``ServableStateMonitor`` plus its event bus. The manager calls :meth:`record` under its
own lock, so records arrive in transition order; listeners are called later by :meth:`flush`,
which any thread runs after releasing the manager lock.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from pyserving.errors import Code, ServingError, not_found
from pyserving.lifecycle.state import ServableState, VersionStatus

logger = logging.getLogger(__name__)

T = TypeVar("T")

StateListener = Callable[[str, int, ServableState, "ServingError | None"], None]
_Event = tuple[str, int, ServableState, "ServingError | None"]


class ServableStateMonitor:
    """Per model, version -> :class:`VersionStatus`; END entries are kept for good.

    Thread-safety: all methods may be called from any thread. Listeners are called in the order the
    transitions were recorded, one at a time, never under the manager's lock; a listener must be
    quick (it runs on a lifecycle thread) and its exceptions are logged and swallowed. A listener
    may query the core or reload its config, but must not call ``shutdown`` (which waits for
    unloads that wait for the listener).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.RLock())
        self._statuses: dict[str, dict[int, VersionStatus]] = {}
        self._seqs: dict[str, dict[int, int]] = {}  # when each status was recorded (see mark())
        self._seq = 0
        self._path_errors: set[str] = set()  # models whose version 0 is a base path error
        self._listeners: list[StateListener] = []
        self._pending: collections.deque[_Event] = collections.deque()
        self._flush_lock = threading.Lock()
        self._flusher: int | None = None  # thread id of the flushing thread (re-entrancy guard)

    def add_listener(self, listener: StateListener) -> None:
        with self._cond:
            self._listeners = [*self._listeners, listener]

    def record(
        self,
        name: str,
        version: int,
        state: ServableState,
        error: ServingError | None = None,
        *,
        base_path_error: bool = False,
    ) -> None:
        """Store a transition, queue its event and wake :meth:`wait` callers. Never blocks long.

        ``base_path_error``: not a version's transition but why the model's base path cannot
        be read, kept as version 0 (START while retrying, END when someone must fix it) so that
        GetModelStatus and readiness show it; :meth:`forget_base_path_error` removes it.
        """
        if error is None:
            status = VersionStatus(version, state)
        else:
            status = VersionStatus(version, state, error.code, error.message)
        with self._cond:
            if base_path_error:
                self._path_errors.add(name)
            elif version == 0:
                self._path_errors.discard(name)  # a real version 0 took the place
            self._seq += 1
            self._statuses.setdefault(name, {})[version] = status
            self._seqs.setdefault(name, {})[version] = self._seq
            self._pending.append((name, version, state, error))
            self._cond.notify_all()

    def forget_base_path_error(self, name: str) -> None:
        """The base path of ``name`` can be read again: drop its version-0 error entry (if it is
        still one) and tell the listeners it ended."""
        with self._cond:
            if name not in self._path_errors:
                return
            self._path_errors.discard(name)
            self._statuses.get(name, {}).pop(0, None)
            self._seqs.get(name, {}).pop(0, None)
            self._pending.append((name, 0, ServableState.END, None))
            self._cond.notify_all()

    def flush(self) -> None:
        """Deliver queued events to the listeners, in order.

        When this returns, every event recorded before the call has been delivered (by this thread
        or by another one that was flushing), which lets the manager order side effects after them.
        """
        me = threading.get_ident()
        if self._flusher == me:  # a listener caused more events: the loop below delivers them next
            return
        with self._flush_lock:
            self._flusher = me
            try:
                self._deliver()
            finally:
                self._flusher = None

    def _deliver(self) -> None:
        while True:
            with self._cond:
                if not self._pending:
                    return
                event = self._pending.popleft()
                listeners = self._listeners
            for listener in listeners:
                try:
                    listener(*event)
                except Exception:
                    logger.exception("Servable state listener %r failed", listener)

    def model_status(self, name: str, version: int | None = None) -> list[VersionStatus]:
        """GetModelStatus: highest version first, or only ``version``; NOT_FOUND as TF Serving."""
        with self._cond:
            versions = dict(self._statuses.get(name, {}))
        if not versions:
            raise not_found(f"Could not find any versions of model {name}")
        if version is not None:
            if version not in versions:
                raise not_found(f"Could not find version {version} of model {name}")
            return [versions[version]]
        return [versions[v] for v in sorted(versions, reverse=True)]

    def statuses(self, name: str, since: int = 0) -> list[VersionStatus]:
        """Known versions of ``name`` (possibly none), highest first; with ``since`` (a
        :meth:`mark`), only those whose latest transition was recorded after that mark."""
        with self._cond:
            versions = self._statuses.get(name, {})
            seqs = self._seqs.get(name, {})
            return [versions[v] for v in sorted(versions, reverse=True) if seqs[v] > since]

    def mark(self) -> int:
        """A point in the transition history: ``statuses(name, since=mark)`` then ignores what
        was recorded up to now (TF Serving uses a fresh monitor for the same purpose)."""
        with self._cond:
            return self._seq

    def wait_for(self, check: Callable[[], T | None], timeout: float | None = None) -> T | None:
        """Call ``check`` now and after every record (or :meth:`wake_waiters`) until it returns
        something truthy, which is returned; None on timeout. (A falsy result such as ``False``
        counts as "keep waiting".)

        ``check`` runs under the monitor's (reentrant) lock: it may call :meth:`statuses`, and
        must not block.
        """
        with self._cond:
            return self._cond.wait_for(check, timeout)

    def wake_waiters(self) -> None:
        with self._cond:
            self._cond.notify_all()


def readiness(statuses: list[VersionStatus]) -> bool | ServingError | None:
    """Whether a model (statuses highest first) is ready, has failed, or may still become ready.

    True: some version is AVAILABLE. A ServingError: nothing is AVAILABLE or on its way (START or
    LOADING) and a version failed to load -> the error of the highest failed version. None: keep
    waiting (no version yet, or one is still loading).
    """
    states = {s.state for s in statuses}
    if ServableState.AVAILABLE in states:
        return True
    if states & {ServableState.START, ServableState.LOADING}:
        return None
    for status in statuses:
        if status.state is ServableState.END and status.error_code is not Code.OK:
            return ServingError(status.error_code, status.error_message)
    return None
