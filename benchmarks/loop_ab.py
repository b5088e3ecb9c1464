"""A/B of the event loop's CPU per request between checkouts: the figure to tune the request
path by on a noisy machine (throughput moves with any other load; the loop thread's CPU per
request barely does, least of all with the server and the load generator on cores of their own).

Usage: python benchmarks/loop_ab.py MODEL KIND ROUNDS SECONDS CHECKOUT [CHECKOUT ...]
KIND: ``v1``, ``v2-json`` or ``v2-binary``. Each CHECKOUT is a tree with its own ``.venv``
(``/path/to/other/worktree``; ``.`` for this one). Every checkout's server runs at once on
``.bench/models/MODEL`` (run ``make bench`` or ``cpu_per_request.py`` once to build it), pinned
to the last CPU; wrk (32 connections) is pinned to the first. The rounds alternate the order
of the checkouts; printed: per checkout, the median and the minimum of the loop thread's CPU per
request and the median requests/s.
"""

from __future__ import annotations

import contextlib
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load
import run
import systems
from cpu_per_request import cpu

CONCURRENCY = 32


def burst(pid: int, url: str, script: Path, seconds: float) -> tuple[float, float]:
    """(loop thread CPU µs per request, requests/s) of one wrk run."""
    before = cpu(pid)[1]
    args = ["wrk", "-t1", f"-c{CONCURRENCY}", f"-d{seconds:g}s", "-s", str(script), url]
    if (os.cpu_count() or 1) > 1:
        args = ["taskset", "-c", "0", *args]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    after = cpu(pid)[1]
    match = re.search(r"(\d+) requests in", out)
    assert match is not None, out
    if "Non-2xx" in out:
        raise RuntimeError(f"errors from {url}:\n{out}")
    requests = int(match.group(1))
    return (after - before) / requests * 1e6, requests / seconds


def main(name: str, kind: str, rounds: int, seconds: float, checkouts: list[Path]) -> None:
    model = run.prepare(name)
    binary_headers = {
        "Content-Type": "application/octet-stream",
        "Inference-Header-Content-Length": str(model.v2_header_length),
    }
    script = {
        "v1": lambda: load.lua_script(model.tfs_body),
        "v2-json": lambda: load.lua_script(model.v2_body),
        "v2-binary": lambda: load.lua_script(model.v2_binary, binary_headers),
    }[kind]()
    last_cpu = (os.cpu_count() or 1) - 1
    with contextlib.ExitStack() as stack:
        servers = []
        for checkout in checkouts:
            bin_dir = checkout.resolve() / ".venv" / "bin"
            running = stack.enter_context(
                systems.pyserving(model, run.WORK, bin_dir=bin_dir, cpu=last_cpu or None)
            )
            url = running.url
            if kind != "v1":
                url = url.rpartition("/v1/")[0] + f"/v2/models/{model.name}/infer"
            burst(running.process.pid, url, script, 1.0)  # warm up
            servers.append((checkout, running.process.pid, url))
        results: dict[Path, list[tuple[float, float]]] = {c: [] for c in checkouts}
        for index in range(rounds):
            for checkout, pid, url in servers if index % 2 == 0 else servers[::-1]:
                results[checkout].append(burst(pid, url, script, seconds))
    for checkout in checkouts:
        loop = [r[0] for r in results[checkout]]
        rps = [r[1] for r in results[checkout]]
        print(
            f"{checkout!s:40} loop CPU/request median {statistics.median(loop):6.1f} us, "
            f"min {min(loop):6.1f} us; req/s median {statistics.median(rps):7.0f}",
            flush=True,
        )


if __name__ == "__main__":
    argv = sys.argv[1:]
    if len(argv) < 5:
        raise SystemExit(__doc__)
    main(argv[0], argv[1], int(argv[2]), float(argv[3]), [Path(p) for p in argv[4:]])
