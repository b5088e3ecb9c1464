"""The REST front door's cost on the /v1 predict path, in process: no sockets, no HTTP parsing.

Usage: python benchmarks/front_door.py [ROUNDS]
Builds the REST app as the server does (probes, the Prometheus page and the admin API on the
router) over a fake-runtime model run inline on the event loop, then sends ``POST
/v1/models/m:predict`` straight into the ASGI app. Prints the CPU time per request (thread time,
so other processes on a shared machine disturb it less) for each round of 5000 requests, and the
best round. To compare two commits, run this in both checkouts, alternately, a few times (it also
runs on a checkout from before the front door: ``PYTHONPATH=<that checkout>/src``).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from asgi_inprocess import fake_core, post_scope, request

from pyserving.api.rest.app import RestApp
from pyserving.api.rest.metrics_page import metrics_routes
from pyserving.api.rest.probes import Probes
from pyserving.service.core import ServingService
from pyserving.service.execution import Lease

BODY = b'{"instances": [[1.0], [2.0], [3.0]]}'
REQUESTS_PER_ROUND = 5000


class InlineRunner:
    """Runs the model on the event loop thread: measures the request path, not thread hops."""

    async def run(
        self,
        lease: Lease,
        feeds: Mapping[str, np.ndarray],
        fetches: Sequence[str],
        timeout_ms: int = 0,
    ) -> list[np.ndarray]:
        try:
            return lease.model.run(feeds, fetches, timeout_ms)
        finally:
            lease.release()


async def main(rounds: int) -> None:
    core = fake_core()
    parts: list[Any] = [metrics_routes("/monitoring/prometheus/metrics"), Probes(core).routes()]
    routes: Any = [route for part in parts for route in part]
    if isinstance(parts[0], dict):  # a checkout from before the front door: a path table
        routes = {path: handler for part in parts for path, handler in part.items()}
    app = RestApp(ServingService(core, InlineRunner()), routes=routes)
    scope = post_scope("/v1/models/m:predict", [(b"content-type", b"application/json")], BODY)
    assert await request(app, scope, BODY) == 200
    results = []
    for _ in range(rounds):
        started = time.thread_time()
        for _ in range(REQUESTS_PER_ROUND):
            await request(app, scope, BODY)
        results.append((time.thread_time() - started) / REQUESTS_PER_ROUND * 1e6)
    core.shutdown()
    print("us per request, by round:", " ".join(f"{r:.1f}" for r in results))
    print(f"best {min(results):.1f} us, median {statistics.median(results):.1f} us")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 15))
