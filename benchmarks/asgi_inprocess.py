"""What the in-process benchmarks (``front_door.py``, ``v2_inprocess.py``, ``core_inprocess.py``,
``batcher_inprocess.py``) share: a server core with one fake-runtime model ``m``, ``make bench``'s
batching parameters, a ``POST`` scope, and one request sent straight into an ASGI app (no
sockets, no HTTP parsing)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from pyserving.batching import BatchingOptions
from pyserving.lifecycle import ModelConfig, ServerCore, VersionPolicy
from pyserving.lifecycle.manager import PostLoadHook
from pyserving.runtimes.base import LoadOptions
from pyserving.runtimes.fake import FakeRuntime, write_fake_model

BENCH_BATCHING = BatchingOptions(
    max_batch_size=1_000_000,
    batch_timeout_micros=0,
    max_enqueued_batches=100_000,
    enable_large_batch_splitting=True,
    max_execution_batch_size=256,
)
"""``make bench``'s batching parameters (``benchmarks/systems.py``)."""


def fake_core(post_load: PostLoadHook | None = None) -> ServerCore:
    """A started core serving the fake model ``m`` (version 1) from a temporary directory;
    ``post_load``: e.g. a batching policy's."""
    base = Path(tempfile.mkdtemp())
    write_fake_model(os.fspath(base / "m" / "1"))
    core = ServerCore(
        runtime_for=lambda platform: FakeRuntime(),
        file_system_poll_wait_seconds=1,
        load_options=LoadOptions(),
        post_load=post_load,
    )
    core.start([ModelConfig("m", os.fspath(base / "m"), "fake", VersionPolicy.latest())])
    core.wait_until_ready()
    return core


def post_scope(path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> dict[str, Any]:
    """The ASGI scope of ``POST path`` with ``headers`` and the body's content-length."""
    return {
        "type": "http",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [*headers, (b"content-length", str(len(body)).encode())],
    }


async def request(app: Any, scope: dict[str, Any], body: bytes) -> int:
    """Send one request with ``body`` into ``app``; its response status."""
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Any) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(dict(scope), receive, send)
    return status
