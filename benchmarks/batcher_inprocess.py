"""The batcher's cost on the event loop per request, in process: 32 clients call
``BatchingRunner.run`` in a loop over a model whose call takes ~1 ms off the GIL (as the mlp's
batched TensorFlow call does), with ``make bench``'s batching parameters and two batch threads.

Usage: python benchmarks/batcher_inprocess.py [ROUNDS]
Prints the best and median event-loop thread CPU per request (thread time) over rounds of
32 x 300 requests, and how many requests a model call served on average. What it counts: the
client coroutine, the lease object, queueing, the pump, the hand-off to a batch thread and back,
resolving the future. To compare two commits, run it in both checkouts alternately.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import uvloop
from asgi_inprocess import BENCH_BATCHING

from pyserving.batching import BatchingPolicy, BatchingRunner
from pyserving.runtimes.base import Model
from pyserving.service.execution import ThreadRunner
from pyserving.signature import Signature

CLIENTS = 32
REQUESTS_PER_CLIENT = 300
MODEL_CALL_S = 0.001


class SleepyModel(Model):
    """Ten zeros per row after ``MODEL_CALL_S`` of sleep (the GIL released, as TensorFlow does)."""

    def __init__(self) -> None:
        self.calls = 0

    @property
    def signatures(self) -> Mapping[str, Signature]:
        return {}

    def run(
        self, feeds: Mapping[str, np.ndarray], fetches: Sequence[str], timeout_ms: int = 0
    ) -> list[np.ndarray]:
        self.calls += 1
        time.sleep(MODEL_CALL_S)
        return [np.zeros((len(feeds["x"]), 10), np.float32)]

    def unload(self) -> None:
        pass


class Lease:
    def __init__(self, model: Model) -> None:
        self.model = model
        self.name = "mlp"
        self.version = 1

    def release(self) -> None:
        pass


async def client(runner: BatchingRunner, model: Model, requests: int) -> None:
    x = np.ones((1, 784), np.float32)
    for _ in range(requests):
        await runner.run(Lease(model), {"x": x}, ["y"])


async def main(rounds: int) -> None:
    fallback = ThreadRunner(ThreadPoolExecutor(max_workers=1))
    runner = BatchingRunner(BatchingPolicy(BENCH_BATCHING), fallback, num_batch_threads=2)
    model = SleepyModel()
    await asyncio.gather(*[client(runner, model, 50) for _ in range(CLIENTS)])  # warm up
    per_request: list[float] = []
    calls = 0
    for _ in range(rounds):
        before_calls = model.calls
        started = time.thread_time()
        await asyncio.gather(*[client(runner, model, REQUESTS_PER_CLIENT) for _ in range(CLIENTS)])
        elapsed = time.thread_time() - started
        per_request.append(elapsed / (CLIENTS * REQUESTS_PER_CLIENT) * 1e6)
        calls += model.calls - before_calls
    runner.close()
    print(
        f"event loop CPU per request: best {min(per_request):.1f} us, "
        f"median {statistics.median(per_request):.1f} us; "
        f"{rounds * CLIENTS * REQUESTS_PER_CLIENT / calls:.1f} requests per model call"
    )


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
