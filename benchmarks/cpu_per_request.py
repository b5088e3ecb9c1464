"""The server's CPU time per request under load, by request kind: less noisy than req/s on a
shared machine (another process's load moves throughput far more than it moves CPU per request).

Usage: python benchmarks/cpu_per_request.py MODEL [SECONDS] [CONCURRENCY] [KIND,...]
Starts pyserving as ``make bench`` does on ``.bench/models/MODEL`` (run ``make bench`` or
``BENCH_MODELS=MODEL`` once to build it and its requests), then for each kind (``v1``,
``v2-json``, ``v2-binary``; default all) drives it with wrk and prints requests/s and the server
process's user+system CPU per request: all its threads (HTTP, batcher, TensorFlow) and
the event loop's thread alone (what bounds the throughput).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load
import run
import systems

_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def cpu_seconds(stat: str) -> float:
    """utime + stime from a /proc stat file."""
    fields = Path(stat).read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) * _TICK_S


def cpu(pid: int) -> tuple[float, float]:
    """(the whole process's, its main thread's) CPU seconds: the main thread runs the event
    loop, whose CPU per request bounds the throughput (the model runs on other threads)."""
    return cpu_seconds(f"/proc/{pid}/stat"), cpu_seconds(f"/proc/{pid}/task/{pid}/stat")


def drive(
    pid: int, url: str, script: Path, concurrency: int, seconds: float
) -> tuple[float, float, float]:
    """(requests/s, process CPU µs per request, main thread CPU µs per request) of one wrk run."""
    load.wrk(url, script, concurrency, 1.0)  # warm up
    before, loop_before = cpu(pid)
    args = ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds:g}s", "-s", str(script), url]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    after, loop_after = cpu(pid)
    match = re.search(r"(\d+) requests in", out)
    assert match is not None, out
    requests = int(match.group(1))
    if "Non-2xx" in out:
        raise RuntimeError(f"errors from {url}:\n{out}")
    return (
        requests / seconds,
        (after - before) / requests * 1e6,
        (loop_after - loop_before) / requests * 1e6,
    )


def main(name: str, seconds: float, concurrency: int, kinds: list[str]) -> None:
    model = run.prepare(name)
    with systems.pyserving(model, run.WORK) as running:
        v2 = running.url.rpartition("/v1/")[0] + f"/v2/models/{model.name}/infer"
        binary_headers = {
            "Content-Type": "application/octet-stream",
            "Inference-Header-Content-Length": str(model.v2_header_length),
        }
        scripts = {
            "v1": (running.url, load.lua_script(model.tfs_body)),
            "v2-json": (v2, load.lua_script(model.v2_body)),
            "v2-binary": (v2, load.lua_script(model.v2_binary, binary_headers)),
        }
        for kind in kinds:
            url, script = scripts[kind]
            rps, total, loop = drive(running.process.pid, url, script, concurrency, seconds)
            print(
                f"{kind:10} c={concurrency}: {rps:7.0f} req/s  CPU/request {total:6.1f} us, "
                f"event loop thread {loop:6.1f} us",
                flush=True,
            )


if __name__ == "__main__":
    argv = sys.argv[1:]
    main(
        argv[0],
        float(argv[1]) if len(argv) > 1 else 5.0,
        int(argv[2]) if len(argv) > 2 else 32,
        argv[3].split(",") if len(argv) > 3 else ["v1", "v2-json", "v2-binary"],
    )
