"""CPU per request of the metrics the request path records, measured in-process.

Runs what a REST predict does with metrics on (``RequestObserver.begin``/``end_rest``, the
``TimedRunner`` around the model runner, one ``MetricsObserver`` batch per ``BATCH`` requests,
as the batcher reports them) against the same loop without metrics, and prints the difference in
CPU µs per request (``time.process_time``, best of ``ROUNDS``). Uses only the public recording
API, so the same script measures any two builds: ``PYTHONPATH=<src> python metrics_overhead.py``.
With ``READ_EVERY`` (requests), it also reads the metrics that often (``REGISTRY.collect``), as a
scrape or the console's sampler would.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Mapping, Sequence

import numpy as np

from pyserving.batching.observer import BatchStats, MetricsObserver
from pyserving.errors import Code
from pyserving.observability.metrics import registry
from pyserving.observability.metrics.runner import TimedRunner
from pyserving.observability.requests import CURRENT_API, RequestObserver

REQUESTS = int(os.environ.get("REQUESTS", "100000"))
ROUNDS = int(os.environ.get("ROUNDS", "5"))
BATCH = int(os.environ.get("BATCH", "8"))
READ_EVERY = int(os.environ.get("READ_EVERY", "0"))
PATH = "/v1/models/half_plus_two:predict"
OUTPUTS = [np.zeros(3, np.float32)]
FEEDS = {"x": np.zeros(3, np.float32)}


class _Lease:
    name = "half_plus_two"
    version = 1

    def release(self) -> None:
        pass


class _Runner:
    async def run(
        self,
        lease: object,
        feeds: Mapping[str, np.ndarray],
        fetches: Sequence[str],
        timeout_ms: int = 0,
    ) -> list[np.ndarray]:
        return OUTPUTS


async def _bare(n: int) -> None:
    runner, lease = _Runner(), _Lease()
    for _ in range(n):
        await runner.run(lease, FEEDS, ["y"])


async def _observed(n: int) -> None:
    observer = RequestObserver()
    runner, lease = TimedRunner(_Runner()), _Lease()
    batches = MetricsObserver()
    stats = BatchStats(
        "half_plus_two", "pool", (3,) * BATCH, (0.0002,) * BATCH, 32, 32 - 3 * BATCH, 0.0001, 2
    )
    for i in range(n):
        started = observer.begin()
        CURRENT_API.set("Predict")
        await runner.run(lease, FEEDS, ["y"])
        if i % BATCH == 0:
            batches.batch_processed(stats)
        observer.end_rest("POST", PATH, "half_plus_two", "predict", Code.OK, 200, started)
        if READ_EVERY and i % READ_EVERY == 0:
            for _ in registry.REGISTRY.collect():
                pass


def _cpu(body: object) -> float:
    start = time.process_time()
    asyncio.run(body)  # type: ignore[arg-type]
    return time.process_time() - start


def main() -> None:
    bare = min(_cpu(_bare(REQUESTS)) for _ in range(ROUNDS))
    observed = min(_cpu(_observed(REQUESTS)) for _ in range(ROUNDS))
    per_request = (observed - bare) / REQUESTS * 1e6
    print(json.dumps({"metrics_us_per_request": round(per_request, 2), "batch": BATCH}))


if __name__ == "__main__":
    main()
