"""Closed-loop gRPC load: CONCURRENCY coroutines each send Predict (or METHOD) and wait, for
DURATION s.

Usage: python grpc_load.py TARGET REQUEST_FILE CONCURRENCY DURATION WARMUP [METHOD]
Prints one JSON object: requests, errors, seconds, rps, p50_ms, p99_ms. The request (a
PredictRequest unless METHOD says otherwise) is sent as serialized bytes (no client-side
serialization per call), so the client spends as little CPU as Python allows on this shared
2-core machine.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import grpc

METHOD = "/tensorflow.serving.PredictionService/Predict"


async def main(
    target: str, request: bytes, concurrency: int, duration: float, warmup: float, method: str
) -> None:
    async with grpc.aio.insecure_channel(
        target, options=[("grpc.max_receive_message_length", -1)]
    ) as channel:
        call = channel.unary_unary(method)
        latencies: list[float] = []
        errors = 0
        start = time.perf_counter()
        measure_from = start + warmup
        stop = measure_from + duration

        async def worker() -> None:
            nonlocal errors
            while True:
                began = time.perf_counter()
                if began >= stop:
                    return
                try:
                    await call(request, timeout=30)
                except grpc.aio.AioRpcError:
                    errors += 1
                    continue
                ended = time.perf_counter()
                if began >= measure_from:
                    latencies.append(ended - began)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    latencies.sort()
    count = len(latencies)

    def pct(p: float) -> float:
        return latencies[min(count - 1, int(p * count))] * 1000 if count else 0.0

    print(
        json.dumps(
            {
                "requests": count,
                "errors": errors,
                "seconds": duration,
                "rps": count / duration,
                "p50_ms": pct(0.50),
                "p99_ms": pct(0.99),
            }
        )
    )


if __name__ == "__main__":
    target, path, conc, dur, warm = sys.argv[1:6]
    method = sys.argv[6] if len(sys.argv) > 6 else METHOD
    with open(path, "rb") as f:
        payload = f.read()
    asyncio.run(main(target, payload, int(conc), float(dur), float(warm), method))
