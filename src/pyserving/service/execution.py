"""Running a model off the event loop while holding its servable handle."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Protocol

import numpy as np

from pyserving.errors import Code, ServingError
from pyserving.runtimes.base import Model

# Extra time the event loop waits beyond a run timeout before answering DEADLINE_EXCEEDED itself,
# so that a runtime honouring the timeout reports its own error first.
_TIMEOUT_GRACE_S = 0.05


class Lease(Protocol):
    """A servable handle: ``model`` (version ``version`` of model ``name``) stays loaded until
    ``release``."""

    @property
    def name(self) -> str: ...

    @property
    def model(self) -> Model: ...

    @property
    def version(self) -> int: ...

    def release(self) -> None: ...


def _run_and_release(
    lease: Lease, feeds: Mapping[str, np.ndarray], fetches: Sequence[str], timeout_ms: int
) -> list[np.ndarray]:
    try:
        return lease.model.run(feeds, fetches, timeout_ms)
    finally:
        lease.release()


class ModelRunner(Protocol):
    """How the core executes a model run: the seam where batching plugs in.

    ``run`` takes ownership of ``lease`` and must release it exactly once, after the model has
    finished with the request's tensors (not merely when the caller stops waiting). It returns
    an awaitable of the outputs (a coroutine, or a future: a runner that has a future for the
    answer returns it rather than a coroutine around it); it may raise before returning one.
    """

    def run(
        self,
        lease: Lease,
        feeds: Mapping[str, np.ndarray],
        fetches: Sequence[str],
        timeout_ms: int = 0,
    ) -> Awaitable[list[np.ndarray]]: ...


class ThreadRunner:
    """Runs each request's model call on its own worker thread (no batching)."""

    def __init__(self, executor: Executor) -> None:
        self._executor = executor

    async def run(
        self,
        lease: Lease,
        feeds: Mapping[str, np.ndarray],
        fetches: Sequence[str],
        timeout_ms: int = 0,
    ) -> list[np.ndarray]:
        return await run_model(self._executor, lease, feeds, fetches, timeout_ms)


async def run_model(
    executor: Executor,
    lease: Lease,
    feeds: Mapping[str, np.ndarray],
    fetches: Sequence[str],
    timeout_ms: int = 0,
) -> list[np.ndarray]:
    """Run ``lease.model`` on ``executor`` and release the lease when the run ends.

    Ownership of ``lease`` passes to this function. The lease is released by the worker thread
    when the run really finishes, not when the caller stops waiting: a request that times out or
    is cancelled never lets its version unload under a run still in progress.
    """
    loop = asyncio.get_running_loop()
    try:
        future = loop.run_in_executor(executor, _run_and_release, lease, feeds, fetches, timeout_ms)
    except BaseException:
        lease.release()
        raise
    if timeout_ms <= 0:
        return await future
    try:
        return await asyncio.wait_for(future, timeout_ms / 1000 + _TIMEOUT_GRACE_S)
    except TimeoutError:
        raise ServingError(
            Code.DEADLINE_EXCEEDED, f"Timed out after {timeout_ms} ms running the model"
        ) from None
