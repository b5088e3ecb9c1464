"""The V2 infer path below the HTTP adapter, in process: what the event loop spends per request
from the request body to the response body, through the real core, lifecycle and batcher.

Usage: python benchmarks/core_inprocess.py [ROUNDS] [KIND]
``KIND``: ``v2-json`` (default; half_plus_two's ``make bench`` request, three floats) or
``v2-binary`` (the same tensor with the binary extension). 32 clients loop over
``BinaryParser.parse_body``, ``inference.infer`` and ``binary.encode_response`` against a
``ServerCore`` serving the fake model ``m`` (signature ``serving_default``: ``x`` -> ``y``),
through a ``BatchingRunner`` with ``make bench``'s batching parameters (its batches run inline
on the loop once measured fast, as half_plus_two's do). No sockets, no HTTP parsing, no
routing. Prints the best and median event-loop thread CPU per request (thread time) of rounds
of 32 x 300 requests. To compare two commits, run it in both checkouts alternately.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import uvloop
from asgi_inprocess import BENCH_BATCHING, fake_core

from pyserving.api.v2 import binary, inference
from pyserving.batching import BatchingPolicy, BatchingRunner
from pyserving.service.core import ServingService
from pyserving.service.execution import ThreadRunner

CLIENTS = 32
REQUESTS_PER_CLIENT = 300


def body(kind: str) -> tuple[bytes, bytes | None]:
    """The request body and its Inference-Header-Content-Length (None: all JSON)."""
    tensor = {"name": "x", "shape": [3, 1], "datatype": "FP32"}
    if kind == "v2-json":
        return json.dumps({"inputs": [{**tensor, "data": [1.0, 2.0, 5.0]}]}).encode(), None
    raw = np.asarray([1.0, 2.0, 5.0], np.float32).tobytes()
    params = {"binary_data_size": len(raw)}
    header = json.dumps({"inputs": [{**tensor, "parameters": params}]}).encode()
    return header + raw, str(len(header)).encode()


async def client(
    service: ServingService, parser: binary.BinaryParser, kind: str, requests: int
) -> None:
    data, header_length = body(kind)
    for _ in range(requests):
        request = parser.parse_body(data, header_length)
        result = await inference.infer(service, "m", "", request, 0)
        binary.encode_response(request, result)


async def main(rounds: int, kind: str) -> None:
    policy = BatchingPolicy(BENCH_BATCHING)
    core = fake_core(post_load=policy.post_load)
    fallback = ThreadRunner(ThreadPoolExecutor(max_workers=1))
    runner = BatchingRunner(policy, fallback, num_batch_threads=2)
    service = ServingService(core, runner)
    parser = binary.BinaryParser()
    await asyncio.gather(*[client(service, parser, kind, 100) for _ in range(CLIENTS)])  # warm up
    per_request: list[float] = []
    for _ in range(rounds):
        started = time.thread_time()
        await asyncio.gather(
            *[client(service, parser, kind, REQUESTS_PER_CLIENT) for _ in range(CLIENTS)]
        )
        elapsed = time.thread_time() - started
        per_request.append(elapsed / (CLIENTS * REQUESTS_PER_CLIENT) * 1e6)
    runner.close()
    core.shutdown()
    print(
        f"{kind}: event loop CPU per request: best {min(per_request):.1f} us, "
        f"median {statistics.median(per_request):.1f} us"
    )


if __name__ == "__main__":
    uvloop.run(
        main(
            int(sys.argv[1]) if len(sys.argv) > 1 else 10,
            sys.argv[2] if len(sys.argv) > 2 else "v2-json",
        )
    )
