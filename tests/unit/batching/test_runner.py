"""BatchingRunner end to end over a scriptable model: batching, padding, limits, errors, leases.

Batch threads are held busy by closing the model's gate; ``entered`` tells when a call started.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import pytest

from pyserving.batching import (
    BatchingOptions,
    BatchingPolicy,
    BatchingRunner,
    BatchStats,
    MetricsObserver,
)
from pyserving.batching.queue import QUEUE_FULL
from pyserving.errors import Code, ServingError
from pyserving.lifecycle.handle import LoadedServable
from tests.unit.batching.support import WAIT, Lease, RecordingModel, column, runner_for

FETCH = ["y:0"]


def scenario(
    runner: BatchingRunner, body: Callable[[], Awaitable[None]], timeout: float = WAIT
) -> None:
    async def main() -> None:
        await asyncio.wait_for(body(), timeout)

    try:
        asyncio.run(main())
    finally:
        runner.close()


async def entered(model: RecordingModel, calls: int = 1) -> None:
    for _ in range(calls):
        assert await asyncio.to_thread(model.entered.acquire, timeout=WAIT)


def submit(runner: BatchingRunner, lease: Any, x: np.ndarray, **kw: Any) -> asyncio.Task[Any]:
    """A task that runs ``x``: it enqueues in its first step, as a request's task does."""
    fetches = kw.pop("fetches", FETCH)

    async def request() -> Any:
        return await runner.run(lease, {"x:0": x}, fetches, **kw)

    return asyncio.ensure_future(request())


async def hold_thread(runner: BatchingRunner, owner: Any) -> asyncio.Task[Any]:
    """Close the gate and start one 1-row request; returns once it occupies a batch thread.
    ``owner`` is the model, or a LoadedServable to lease it from."""
    model = owner.model if isinstance(owner, LoadedServable) else owner
    assert isinstance(model, RecordingModel)
    lease = owner.try_lease() if isinstance(owner, LoadedServable) else Lease(model)
    model.gate.clear()
    task = submit(runner, lease, column(100))
    await entered(model)
    return task


def test_concurrent_requests_share_a_batch_and_get_unbatched_results() -> None:
    model = RecordingModel()
    runner = runner_for(BatchingOptions(max_batch_size=8))
    inputs = [column(1), column(2, 3), column(4), column(5, 6, 7)]
    leases = [Lease(model) for _ in inputs]

    async def body() -> None:
        first = await hold_thread(runner, model)
        tasks = [submit(runner, lease, x) for lease, x in zip(leases, inputs, strict=True)]
        await asyncio.sleep(0.05)
        model.gate.set()
        results = await asyncio.gather(first, *tasks)
        for x, (y,) in zip(inputs, results[1:], strict=True):
            np.testing.assert_array_equal(y, x * 2 + 1)
            assert y.dtype == np.float32

    scenario(runner, body)
    assert model.batch_sizes == [1, 7]
    assert [lease.releases for lease in leases] == [1, 1, 1, 1]


def test_batches_are_padded_to_an_allowed_size() -> None:
    model = RecordingModel()
    runner = runner_for(BatchingOptions(max_batch_size=8, allowed_batch_sizes=(4, 8)))

    async def body() -> None:
        (y,) = await submit(runner, Lease(model), column(3, 5))
        np.testing.assert_array_equal(y, column(7, 11))

    scenario(runner, body)
    assert model.batch_sizes == [4]
    assert model.seen[0].ravel().tolist() == [3, 5, 3, 3]


def test_a_full_queue_answers_unavailable() -> None:
    model = RecordingModel()
    runner = runner_for(BatchingOptions(max_batch_size=2, max_enqueued_batches=1))
    refused = Lease(model)

    async def body() -> None:
        first = await hold_thread(runner, model)
        queued = submit(runner, Lease(model), column(1, 2))  # fills the one queued batch
        await asyncio.sleep(0)
        with pytest.raises(ServingError) as caught:
            await runner.run(refused, {"x:0": column(3)}, FETCH)
        assert (caught.value.code, caught.value.message) == (Code.UNAVAILABLE, QUEUE_FULL)
        model.gate.set()
        await asyncio.gather(first, queued)

    scenario(runner, body)
    assert refused.releases == 1
    assert model.batch_sizes == [1, 2]


def test_an_error_reaches_every_waiter_of_the_batch() -> None:
    model = RecordingModel()
    runner = runner_for(BatchingOptions(max_batch_size=8))
    leases = [Lease(model) for _ in range(3)]

    async def body() -> None:
        first = await hold_thread(runner, model)
        tasks = [submit(runner, lease, column(i)) for i, lease in enumerate(leases)]
        await asyncio.sleep(0.02)
        model.error = ServingError(Code.INVALID_ARGUMENT, "bad batch")
        model.gate.set()
        results = await asyncio.gather(first, *tasks, return_exceptions=True)
        assert all(isinstance(r, ServingError) and r.message == "bad batch" for r in results)

    scenario(runner, body)
    assert model.batch_sizes == [1, 3]
    assert [lease.releases for lease in leases] == [1, 1, 1]


def test_a_request_past_its_deadline_leaves_the_queue_unrun() -> None:
    model = RecordingModel()
    runner = runner_for(BatchingOptions(max_batch_size=8))
    late = Lease(model)

    async def body() -> None:
        first = await hold_thread(runner, model)
        started = time.monotonic()
        with pytest.raises(ServingError) as caught:
            await runner.run(late, {"x:0": column(42)}, FETCH, timeout_ms=50)
        assert caught.value.code is Code.DEADLINE_EXCEEDED
        assert "waiting for a batch" in caught.value.message
        assert 0.04 <= time.monotonic() - started < WAIT / 2
        model.gate.set()
        await first

    scenario(runner, body)
    assert model.batch_sizes == [1]
    assert late.releases == 1


def test_a_cancelled_request_leaves_the_queue_unrun() -> None:
    model = RecordingModel()
    runner = runner_for(BatchingOptions(max_batch_size=8))
    gone, kept = Lease(model), Lease(model)

    async def body() -> None:
        first = await hold_thread(runner, model)
        cancelled = submit(runner, gone, column(42))
        survivor = submit(runner, kept, column(7))
        await asyncio.sleep(0.01)
        cancelled.cancel()
        await asyncio.sleep(0.01)
        model.gate.set()
        await first
        (y,) = await survivor
        np.testing.assert_array_equal(y, column(15))

    scenario(runner, body)
    assert model.batch_sizes == [1, 1]
    assert model.seen[1].ravel().tolist() == [7]
    assert (gone.releases, kept.releases) == (1, 1)


def test_large_requests_are_split_across_batches() -> None:
    model = RecordingModel()
    options = BatchingOptions(
        max_batch_size=100, enable_large_batch_splitting=True, max_execution_batch_size=4
    )
    runner = runner_for(options)
    lease = Lease(model)
    x = np.arange(10, dtype=np.float32).reshape(-1, 1)

    async def body() -> None:
        (y,) = await submit(runner, lease, x)
        np.testing.assert_array_equal(y, x * 2 + 1)

    scenario(runner, body)
    assert model.batch_sizes == [4, 4, 2]
    assert lease.releases == 1


def test_an_oversized_request_is_invalid_without_splitting() -> None:
    model = RecordingModel()
    runner = runner_for(BatchingOptions(max_batch_size=8))
    lease = Lease(model)

    async def body() -> None:
        with pytest.raises(ServingError) as caught:
            await submit(runner, lease, np.zeros((9, 1), np.float32))
        assert (caught.value.code, caught.value.message) == (
            Code.INVALID_ARGUMENT,
            "Task size 9 is larger than maximum input batch size 8",
        )

    scenario(runner, body)
    assert lease.releases == 1 and model.batch_sizes == []


def test_batch_threads_run_batches_concurrently() -> None:
    model = RecordingModel()
    runner = runner_for(BatchingOptions(max_batch_size=8), threads=2)

    async def body() -> None:
        model.gate.clear()
        first = submit(runner, Lease(model), column(1))
        await entered(model)
        second = submit(runner, Lease(model), column(2))
        await entered(model)
        third = submit(runner, Lease(model), column(3))  # no free thread: waits
        await asyncio.sleep(0.05)
        assert model.in_flight == 2
        model.gate.set()
        await asyncio.gather(first, second, third)

    scenario(runner, body)
    assert model.max_in_flight == 2
    assert sorted(model.batch_sizes) == [1, 1, 1]


def test_queued_and_running_requests_keep_their_version_loaded() -> None:
    model = RecordingModel()
    servable = LoadedServable("m", 1, model)
    runner = runner_for(BatchingOptions(max_batch_size=8))

    async def body() -> None:
        model.gate.clear()
        running = submit(runner, servable.try_lease(), column(1))
        await entered(model)
        queued = submit(runner, servable.try_lease(), column(2))
        await asyncio.sleep(0.01)
        servable.close()  # what an unload does first
        drained = await asyncio.to_thread(servable.wait_drained, 0.1)
        assert not drained and servable.leases == 2
        model.gate.set()
        await asyncio.gather(running, queued)
        assert await asyncio.to_thread(servable.wait_drained, WAIT)

    scenario(runner, body)


def test_outputs_that_are_not_batch_major_fail_the_batch() -> None:
    model = RecordingModel()
    runner = runner_for(BatchingOptions(max_batch_size=8))

    async def body() -> None:
        with pytest.raises(ServingError) as caught:
            await submit(runner, Lease(model), column(1, 2), fetches=["y:0", "sum:0"])
        assert caught.value.code is Code.FAILED_PRECONDITION

    scenario(runner, body)


def test_requests_with_different_dtypes_are_never_merged() -> None:
    model = RecordingModel()
    runner = runner_for(BatchingOptions(max_batch_size=8))

    async def body() -> None:
        first = await hold_thread(runner, model)
        a = submit(runner, Lease(model), column(1))
        b = submit(runner, Lease(model), np.array([[2.0]], np.float64))
        await asyncio.sleep(0.01)
        model.gate.set()
        (ya,), (yb,) = await asyncio.gather(a, b)
        await first
        assert (ya.dtype, yb.dtype) == (np.float32, np.float64)

    scenario(runner, body)
    assert model.batch_sizes == [1, 1, 1]


def test_models_without_options_run_unbatched() -> None:
    model = RecordingModel()
    runner = runner_for(None)
    leases = [Lease(model) for _ in range(4)]

    async def body() -> None:
        results = await asyncio.gather(
            *(submit(runner, le, column(i)) for i, le in enumerate(leases))
        )
        assert [y.ravel().tolist() for (y,) in results] == [[1], [3], [5], [7]]

    scenario(runner, body)
    assert model.batch_sizes == [1, 1, 1, 1]
    assert [lease.releases for lease in leases] == [1, 1, 1, 1]


def test_a_batch_waits_for_its_timeout_unless_it_fills_up() -> None:
    model = RecordingModel()
    runner = runner_for(BatchingOptions(max_batch_size=3, batch_timeout_micros=100_000))

    async def body() -> None:
        started = time.monotonic()
        await submit(runner, Lease(model), column(1))
        assert time.monotonic() - started >= 0.09
        started = time.monotonic()
        await asyncio.gather(*(submit(runner, Lease(model), column(i)) for i in range(3)))
        assert time.monotonic() - started < 0.09

    scenario(runner, body)
    assert model.batch_sizes == [1, 3]


def test_fast_models_run_on_the_event_loop_thread() -> None:
    model = RecordingModel()
    runner = runner_for(BatchingOptions(max_batch_size=8), inline_threshold_s=1.0)
    loop_thread = threading.get_ident()

    async def body() -> None:
        for i in range(20):
            await submit(runner, Lease(model), column(i))

    scenario(runner, body)
    assert loop_thread not in model.threads[:8]  # probed on batch threads first
    assert model.threads[8:] == [loop_thread] * 12  # then on the loop, where it stays


def test_a_policy_configures_models_individually() -> None:
    model, other = RecordingModel(), RecordingModel()
    policy = BatchingPolicy(None, per_model=True)
    policy.configure(model, "m", BatchingOptions(max_batch_size=2))
    runner = runner_for(None)
    runner._policy = policy

    async def body() -> None:
        with pytest.raises(ServingError):
            await submit(runner, Lease(model), column(1, 2, 3))  # batched: too big
        (y,) = await submit(runner, Lease(other), column(1, 2, 3))  # unbatched
        assert y.shape == (3, 1)

    scenario(runner, body)


class Stats:
    def __init__(self) -> None:
        self.batches: list[BatchStats] = []

    def batch_processed(self, stats: BatchStats) -> None:
        self.batches.append(stats)


def test_every_batch_is_reported_to_the_observer() -> None:
    model = RecordingModel()
    stats = Stats()
    policy = BatchingPolicy(BatchingOptions(max_batch_size=8, allowed_batch_sizes=(4, 8)))
    runner = BatchingRunner(policy, runner_for(None), num_batch_threads=1, observer=stats)

    async def body() -> None:
        first = await hold_thread(runner, model)
        tasks = [
            submit(runner, Lease(model), column(1, 2)),
            submit(runner, Lease(model), column(3)),
        ]
        await asyncio.sleep(0.01)
        model.gate.set()
        await asyncio.gather(first, *tasks)

    scenario(runner, body)
    held, merged = stats.batches
    assert (held.task_sizes, held.processed_size, held.padding) == ((1,), 4, 3)
    assert held.model_queued_tasks == 2  # both later requests waited while the first ran
    assert (merged.task_sizes, merged.processed_size, merged.padding) == ((2, 1), 4, 1)
    assert merged.model_name == "m" and merged.thread_pool_name == "batch_threads"
    assert all(seconds >= 0 for seconds in merged.queuing_seconds)


def test_the_metrics_observer_records_tf_servings_batching_metrics() -> None:
    from pyserving.observability.metrics import registry

    def value(name: str, labels: dict[str, str] | None = None) -> float:
        return registry.REGISTRY.get_sample_value(name, labels or {}) or 0.0

    runs = ":tensorflow:serving:batching_session:wrapped_run_count_total"
    before = value(runs)
    MetricsObserver().batch_processed(
        BatchStats("m", "pool", (2, 1), (0.001, 0.002), 4, 1, 0.0001, 5)
    )
    assert value(runs) == before + 1
    assert value("pyserving_batch_queue_depth", {"model_name": "m"}) == 5


def test_closing_fails_queued_requests_and_frees_their_versions() -> None:
    model = RecordingModel()
    servable = LoadedServable("m", 1, model)
    runner = runner_for(BatchingOptions(max_batch_size=8))

    async def body() -> None:
        first = await hold_thread(runner, servable)
        queued = submit(runner, servable.try_lease(), column(2))
        await asyncio.sleep(0.01)
        threading.Timer(0.1, model.gate.set).start()  # the running batch may then finish
        runner.close()  # on the loop thread, as the server does at shutdown
        with pytest.raises(ServingError) as caught:
            await queued
        assert caught.value.code is Code.UNAVAILABLE
        await first
        assert servable.leases == 0

    scenario(runner, body)
    assert model.batch_sizes == [1]


def test_a_lone_request_on_a_loop_queue_runs_at_once_and_arrivals_together_still_share() -> None:
    model = RecordingModel()
    runner = runner_for(BatchingOptions(max_batch_size=8), inline_threshold_s=1.0)

    def run(x: np.ndarray) -> Any:
        return runner.run(Lease(model), {"x:0": x}, FETCH)

    async def body() -> None:
        for i in range(20):  # settle on the loop; requests one at a time
            await submit(runner, Lease(model), column(i))
        # Alone, a request runs inside its first step: the coroutine never suspends.
        lone = run(column(7))
        with pytest.raises(StopIteration) as done:
            lone.__await__().send(None)  # a future or a coroutine
        np.testing.assert_array_equal(done.value.value[0], column(15))
        del model.batch_sizes[:]
        # Three arrive in one iteration: the first runs at once, the next two share the pump's
        # batch, which tells the queue requests now come together: the next three share one.
        for group in ([1, 2, 3], [4, 5, 6]):
            tasks = [submit(runner, Lease(model), column(v)) for v in group]
            results = await asyncio.gather(*tasks)
            for v, (y,) in zip(group, results, strict=True):
                np.testing.assert_array_equal(y, column(2 * v + 1))
        assert model.batch_sizes == [1, 2, 3]

    scenario(runner, body)
