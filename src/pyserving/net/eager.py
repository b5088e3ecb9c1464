"""Eager start of a coroutine: its first step runs right away in the caller, and only a
coroutine that suspends gets an :class:`asyncio.Task` to continue it (Python 3.12's eager tasks;
on 3.11 done here by hand).

A request whose model runs on the event loop thread never suspends: it is parsed, served and
answered inside the ``data_received`` callback that read it, with no Task and no extra loop
iteration (the zttp gRPC server's unary calls, the REST hot lane's requests, each while requests
arrive one at a time).
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
from collections.abc import Coroutine, Generator
from typing import Any, Final

_NATIVE_EAGER = sys.version_info >= (3, 12)

ALONE_STREAK: Final = 8
"""Requests in a row that started with no other request being served, before requests start
eagerly: at 32 clients a request now and then finds the server idle, and starting those eagerly
split the batches (the event loop spent ~20 µs more per request)."""


class Arrivals:
    """Whether requests arrive one at a time, so that the next may start eagerly (see
    :func:`start_eagerly`). While requests overlap they should start as Tasks, so that those read
    together reach the batcher together."""

    __slots__ = ("_alone_streak",)

    def __init__(self) -> None:
        self._alone_streak = 0  # requests in a row that started with no other one being served

    def one_at_a_time(self, serving: int) -> bool:
        """A request starts, with ``serving`` requests (itself included) now being served;
        whether the last :data:`ALONE_STREAK` (this one included) each started alone."""
        self._alone_streak = self._alone_streak + 1 if serving == 1 else 0
        return self._alone_streak >= ALONE_STREAK


def start_eagerly(
    loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, None]
) -> asyncio.Task[None] | None:
    """Run ``coro`` until it first suspends, in a copy of the current context (as a Task would).
    Returns None if it finished, else the Task that continues it. An exception escaping the first
    step is raised here (a Task would have stored it)."""
    if _NATIVE_EAGER:  # pragma: no cover - the project runs 3.11 today
        task: asyncio.Task[None] = asyncio.Task(coro, loop=loop, eager_start=True)  # type: ignore[call-arg,unused-ignore]
        if task.done():
            task.result()
            return None
        return task
    context = contextvars.copy_context()
    try:
        yielded = context.run(coro.send, None)
    except StopIteration:
        return None
    return loop.create_task(_Resumed(coro, yielded), context=context)


class _Resumed(Coroutine[Any, Any, None]):
    """``coro`` after its first step yielded ``yielded``: the Task's first step gets that value
    (the future the coroutine waits for), later steps go to ``coro``. A cancellation before the
    first step is thrown into ``coro`` at the point where it waits, as on any Task."""

    __slots__ = ("_coro", "_first", "_yielded")

    def __init__(self, coro: Coroutine[Any, Any, None], yielded: Any) -> None:
        self._coro = coro
        self._yielded = yielded
        self._first = True

    def send(self, value: Any) -> Any:
        if self._first:
            self._first = False
            yielded, self._yielded = self._yielded, None
            return yielded
        return self._coro.send(value)

    def throw(self, exc: Any, value: Any = None, traceback: Any = None) -> Any:
        self._first = False
        self._yielded = None
        if value is None and traceback is None:
            return self._coro.throw(exc)
        return self._coro.throw(exc, value, traceback)  # pragma: no cover - asyncio passes one

    def close(self) -> None:
        self._coro.close()

    def __await__(self) -> Generator[Any, None, None]:  # pragma: no cover - only Tasks drive it
        raise TypeError("an eagerly started coroutine is driven by its Task")
