"""Leases on loaded versions: :class:`LoadedServable` counts them, :class:`ServableHandle` is one.

The request path takes a handle for the duration of a request; the unload path closes the servable
(no new leases) and then waits for the count to reach zero before the model is unloaded, so a
request holding a handle is never broken by an unload.
"""

from __future__ import annotations

import threading
from types import TracebackType

from pyserving.runtimes.base import Model


class LoadedServable:
    """One loaded version and the number of handles currently leased on it.

    Thread-safety: every method may be called from any thread. The counter is guarded by a lock
    private to this servable and held only for a few instructions, so leasing never waits on a load,
    an unload or another model.
    """

    __slots__ = ("_closed", "_cond", "_lock", "_refs", "model", "name", "version")

    def __init__(self, name: str, version: int, model: Model) -> None:
        self.name = name
        self.version = version
        self.model = model
        # Leasing and releasing (every request, twice) take the bare lock: entering the
        # Condition itself costs a Python-level call each time. Holding the lock holds the
        # Condition, so ``notify_all`` under it is legal.
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._refs = 0
        self._closed = False

    def try_lease(self) -> ServableHandle | None:
        """A new handle, or None once :meth:`close` has been called."""
        with self._lock:
            if self._closed:
                return None
            self._refs += 1
        return ServableHandle(self)

    def _release(self, handle: ServableHandle) -> None:
        with self._lock:
            if handle._released:  # a second release() of the same handle is a no-op
                return
            handle._released = True
            self._refs -= 1
            if self._refs == 0 and self._closed:
                self._cond.notify_all()

    @property
    def leases(self) -> int:
        with self._cond:
            return self._refs

    def close(self) -> None:
        """Refuse new leases (existing ones stay valid). Idempotent."""
        with self._cond:
            self._closed = True

    def wait_drained(self, timeout: float | None = None) -> bool:
        """Block until every lease has been released; False on timeout. Call after close()."""
        with self._cond:
            return self._cond.wait_for(lambda: self._refs == 0, timeout)


class ServableHandle:
    """A lease on one loaded version: keeps ``model`` loaded until released.

    Use it as a context manager, or call :meth:`release` (idempotent, any thread) when done. A
    handle that is never released blocks that version's unload, and so shutdown.
    """

    __slots__ = ("_released", "_servable", "model", "name", "version")

    def __init__(self, servable: LoadedServable) -> None:
        self._servable = servable
        self._released = False
        self.name = servable.name
        self.version = servable.version
        self.model = servable.model

    def release(self) -> None:
        # LoadedServable._release, inline (one call less per request): same lock, same counts.
        servable = self._servable
        with servable._lock:
            if self._released:  # a second release() of the same handle is a no-op
                return
            self._released = True
            servable._refs -= 1
            if servable._refs == 0 and servable._closed:
                servable._cond.notify_all()

    def __enter__(self) -> ServableHandle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"ServableHandle(name={self.name!r}, version={self.version})"
