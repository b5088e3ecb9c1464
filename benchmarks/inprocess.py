"""The in-process limit: pyserving's TensorFlow runtime called directly, no server.

Usage: python inprocess.py VERSION_DIR INPUT_WIDTH SECONDS
Prints JSON: ``call_us`` (median one-row call on one thread: the floor under a request's latency)
and ``rows_per_s`` (full batches from one thread per CPU: the ceiling of any server's throughput
on this model and machine). Both are the best of the two ways the runtime can run a graph: on the
calling thread (``run_on_calling_thread``) and through TensorFlow's pools (``run``).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable

import numpy as np

from pyserving.runtimes.base import LoadOptions
from pyserving.runtimes.tensorflow import TensorFlowRuntime

BATCH_SIZES = (64, 128, 256)
Run = Callable[[dict[str, np.ndarray], list[str]], list[np.ndarray]]


def _work(
    run: Run,
    batch: dict[str, np.ndarray],
    fetches: list[str],
    stop: float,
    counts: list[int],
    index: int,
) -> None:
    while time.perf_counter() < stop:
        run(batch, fetches)
        counts[index] += 1


def _call_seconds(run: Run, one: dict[str, np.ndarray], fetches: list[str]) -> float:
    samples: list[float] = []
    stop = time.perf_counter() + 1.0
    while len(samples) < 2000 and (len(samples) < 20 or time.perf_counter() < stop):
        started = time.perf_counter()
        run(one, fetches)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples[len(samples) // 10 :])  # the first calls warm up


def _rows_per_second(
    run: Run, batch: dict[str, np.ndarray], fetches: list[str], seconds: float
) -> float:
    run(batch, fetches)
    threads = len(os.sched_getaffinity(0))
    counts = [0] * threads
    stop = time.perf_counter() + seconds
    workers = [
        threading.Thread(target=_work, args=(run, batch, fetches, stop, counts, i))
        for i in range(threads)
    ]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    # Every started batch is counted and waited for: rows over the real elapsed time.
    elapsed = time.perf_counter() - started
    return sum(counts) * len(next(iter(batch.values()))) / elapsed


def main(path: str, width: int, seconds: float) -> None:
    model = TensorFlowRuntime().load(path, LoadOptions())
    signature = model.signatures["serving_default"]
    (x_name,) = [spec.name for spec in signature.inputs.values()]
    fetches = [spec.name for spec in signature.outputs.values()]
    rng = np.random.default_rng(1)
    pooled: Run = model.run
    modes: list[Run] = [model.run_on_calling_thread, pooled]

    def feeds(rows: int) -> dict[str, np.ndarray]:
        return {x_name: rng.standard_normal((rows, width)).astype(np.float32)}

    one = feeds(1)
    call = min(_call_seconds(run, one, fetches) for run in modes)
    best = max(
        _rows_per_second(run, feeds(size), fetches, seconds)
        for size in BATCH_SIZES
        for run in modes
    )
    print(json.dumps({"call_us": call * 1e6, "rows_per_s": best}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
