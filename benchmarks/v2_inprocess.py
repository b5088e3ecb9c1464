"""The REST adapters' CPU per request in process, for a 784-float request (the ``mlp`` shape):
TF Serving's ``/v1`` JSON, V2 JSON and V2 with the binary tensor data extension. No sockets, no
HTTP parsing, no model: what the adapters and the core cost on the event loop.

Usage: python benchmarks/v2_inprocess.py [ROUNDS]
Builds the REST app with the V2 routes as the server does, over a fake model (one input ``x``
of any shape) whose run, inline on the event loop, returns ten floats per row as the mlp does.
Prints the best and median CPU time per request (thread time) of rounds of 3000 requests per
kind. To compare two commits, run it in both checkouts alternately.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from collections.abc import Mapping, Sequence

import numpy as np
from asgi_inprocess import fake_core, post_scope, request

from pyserving.api.rest.app import RestApp
from pyserving.api.v2.rest import V2Rest
from pyserving.service.core import ServingService
from pyserving.service.execution import Lease

REQUESTS_PER_ROUND = 3000
WIDTH = 784


class MlpShapedRunner:
    """Runs inline on the event loop; ``y`` is ten floats per row of ``x``."""

    async def run(
        self,
        lease: Lease,
        feeds: Mapping[str, np.ndarray],
        fetches: Sequence[str],
        timeout_ms: int = 0,
    ) -> list[np.ndarray]:
        try:
            x = next(iter(feeds.values()))
            return [np.ascontiguousarray(x.reshape(x.shape[0], -1)[:, :10] * 0.5)]
        finally:
            lease.release()


def bodies() -> dict[str, tuple[str, bytes, list[tuple[bytes, bytes]]]]:
    values = [round(float(v), 4) for v in np.random.default_rng(3).standard_normal(WIDTH)]
    tensor = {"name": "x", "shape": [1, WIDTH], "datatype": "FP32"}
    raw = np.asarray(values, np.float32).tobytes()
    header = json.dumps(
        {"inputs": [{**tensor, "parameters": {"binary_data_size": len(raw)}}]}
    ).encode()
    json_type = (b"content-type", b"application/json")
    return {
        "v1": ("/v1/models/m:predict", json.dumps({"instances": [values]}).encode(), [json_type]),
        "v2-json": (
            "/v2/models/m/infer",
            json.dumps({"inputs": [{**tensor, "data": values}]}).encode(),
            [json_type],
        ),
        "v2-binary": (
            "/v2/models/m/infer",
            header + raw,
            [
                (b"content-type", b"application/octet-stream"),
                (b"inference-header-content-length", str(len(header)).encode()),
            ],
        ),
    }


async def main(rounds: int) -> None:
    core = fake_core()
    service = ServingService(core, MlpShapedRunner())
    v2 = V2Rest(service, None)  # type: ignore[arg-type]  # the repository serves no infer
    app = RestApp(service, routes=v2.routes())
    requests = {
        kind: (post_scope(path, headers, body), body)
        for kind, (path, body, headers) in bodies().items()
    }
    results: dict[str, list[float]] = {}
    for kind, (scope, body) in requests.items():
        status = await request(app, scope, body)
        assert status == 200, (kind, status)
        results[kind] = []
    for _ in range(rounds):
        for kind, (scope, body) in requests.items():
            started = time.thread_time()
            for _ in range(REQUESTS_PER_ROUND):
                await request(app, scope, body)
            results[kind].append((time.thread_time() - started) / REQUESTS_PER_ROUND * 1e6)
    core.shutdown()
    for kind, times in results.items():
        print(f"{kind:10} best {min(times):6.1f} us, median {statistics.median(times):6.1f} us")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10))
