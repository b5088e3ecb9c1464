"""``start_eagerly``: the eager start of a request handler (zttp gRPC calls, REST hot requests)."""

from __future__ import annotations

import asyncio
import contextvars

from pyserving.net.eager import start_eagerly

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("eager_test", default="caller")


def test_a_coroutine_that_never_suspends_finishes_in_the_caller_without_a_task() -> None:
    seen: list[str] = []

    async def handler() -> None:
        VAR.set("handler")
        seen.append(VAR.get())

    async def main() -> None:
        before = asyncio.all_tasks()
        assert start_eagerly(asyncio.get_running_loop(), handler()) is None
        assert seen == ["handler"]  # ran before start_eagerly returned
        assert asyncio.all_tasks() == before
        assert VAR.get() == "caller"  # in its own context, as a Task runs

    asyncio.run(main())


def test_a_suspending_coroutine_continues_in_a_task_with_its_context() -> None:
    steps: list[object] = []

    async def handler(wake: asyncio.Future[int]) -> None:
        VAR.set("handler")
        steps.append("first step")
        steps.append(await wake)
        await asyncio.sleep(0)  # a bare yield goes through the task too
        steps.append(VAR.get())

    async def main() -> None:
        wake: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        task = start_eagerly(asyncio.get_running_loop(), handler(wake))
        assert task is not None
        assert steps == ["first step"]
        wake.set_result(7)
        await task
        assert steps == ["first step", 7, "handler"]

    asyncio.run(main())


def test_cancelling_before_the_tasks_first_step_reaches_the_coroutine() -> None:
    ended: list[str] = []

    async def handler(wake: asyncio.Future[None]) -> None:
        try:
            await wake
        except asyncio.CancelledError:
            ended.append("cancelled where it waited")
            raise

    async def main() -> None:
        wake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        task = start_eagerly(asyncio.get_running_loop(), handler(wake))
        assert task is not None
        task.cancel()  # before the task ran a step
        await asyncio.gather(task, return_exceptions=True)
        assert task.cancelled()
        assert ended == ["cancelled where it waited"]

    asyncio.run(main())
