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
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pyserving.api.rest.app import RestApp
from pyserving.api.rest.metrics_page import metrics_routes
from pyserving.api.rest.probes import Probes
from pyserving.lifecycle import ModelConfig, ServerCore, VersionPolicy
from pyserving.runtimes.base import LoadOptions
from pyserving.runtimes.fake import FakeRuntime, write_fake_model
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


async def _request(app: RestApp, scope: dict[str, Any]) -> int:
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: Any) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(dict(scope), receive, send)
    return status


async def main(rounds: int) -> None:
    base = Path(tempfile.mkdtemp())
    write_fake_model(os.fspath(base / "m" / "1"))
    core = ServerCore(
        runtime_for=lambda platform: FakeRuntime(),
        file_system_poll_wait_seconds=1,
        load_options=LoadOptions(),
    )
    core.start([ModelConfig("m", os.fspath(base / "m"), "fake", VersionPolicy.latest())])
    core.wait_until_ready()
    parts: list[Any] = [metrics_routes("/monitoring/prometheus/metrics"), Probes(core).routes()]
    routes: Any = [route for part in parts for route in part]
    if isinstance(parts[0], dict):  # a checkout from before the front door: a path table
        routes = {path: handler for part in parts for path, handler in part.items()}
    app = RestApp(ServingService(core, InlineRunner()), routes=routes)
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/models/m:predict",
        "raw_path": b"/v1/models/m:predict",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"36")],
    }
    assert await _request(app, scope) == 200
    results = []
    for _ in range(rounds):
        started = time.thread_time()
        for _ in range(REQUESTS_PER_ROUND):
            await _request(app, scope)
        results.append((time.thread_time() - started) / REQUESTS_PER_ROUND * 1e6)
    core.shutdown()
    print("us per request, by round:", " ".join(f"{r:.1f}" for r in results))
    print(f"best {min(results):.1f} us, median {statistics.median(results):.1f} us")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 15))
