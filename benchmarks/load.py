"""Load generators: wrk for REST (POST body from a file via a tiny Lua script), grpc_load.py for
gRPC. Both report requests/s and the p50/p99 latency of one closed-loop run."""

from __future__ import annotations

import json
import re
import struct
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PREDICT = "/tensorflow.serving.PredictionService/Predict"
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}
_LUA = """wrk.method = "POST"
{headers}
local file = io.open("{path}", "rb")
wrk.body = file:read("*all")
file:close()
"""


@dataclass(frozen=True)
class Point:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int = 0


def lua_script(body_file: Path, headers: dict[str, str] | None = None) -> Path:
    """A wrk script POSTing ``body_file`` with ``headers`` (default: JSON content type)."""
    headers = headers or {"Content-Type": "application/json"}
    lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
    script = body_file.with_suffix(".lua")
    script.write_text(_LUA.replace("{headers}", lines).replace("{path}", str(body_file)))
    return script


def wrk(url: str, script: Path, concurrency: int, seconds: float) -> Point:
    args = [
        "wrk",
        "-t1",
        f"-c{concurrency}",
        f"-d{seconds:g}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = 0
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(match.group(1))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    ):
        errors += sum(int(n) for n in match.groups())
    return Point(rps, _percentile(out, "50"), _percentile(out, "99"), errors)


def _percentile(out: str, which: str) -> float:
    match = re.search(rf"^\s+{which}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    if match is None:
        return float("nan")
    return float(match.group(1)) * _UNITS[match.group(2)]


def grpc(
    target: str,
    request_file: Path,
    concurrency: int,
    seconds: float,
    warmup: float,
    method: str = PREDICT,
) -> Point:
    args = [
        sys.executable,
        str(HERE / "grpc_load.py"),
        target,
        str(request_file),
        str(concurrency),
        str(seconds),
        str(warmup),
        method,
    ]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    data = json.loads(out.strip().splitlines()[-1])
    return Point(data["rps"], data["p50_ms"], data["p99_ms"], data["errors"])


def h2load(
    target: str, request_file: Path, concurrency: int, seconds: float, warmup: float
) -> Point:
    """gRPC Predict load from nghttp2's h2load, a C client (one connection per client, one stream
    at a time): the server's cost without a Python client's. Latency percentiles come from its
    per-request log. h2load checks the HTTP status, not grpc-status: the server's own tests check
    that these calls succeed."""
    request = request_file.read_bytes()
    framed = request_file.with_suffix(".grpc-frame")
    framed.write_bytes(struct.pack(">BI", 0, len(request)) + request)
    url = f"http://{target}/tensorflow.serving.PredictionService/Predict"
    with tempfile.NamedTemporaryFile(suffix=".log") as log:
        args = [
            "h2load",
            f"-c{concurrency}",
            "-m1",
            f"--warm-up-time={warmup:g}",
            f"-D{seconds:g}",
            "-H",
            "content-type: application/grpc",
            "-H",
            "te: trailers",
            "-d",
            str(framed),
            f"--log-file={log.name}",
            url,
        ]
        out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
        latencies = sorted(
            int(line.split("\t")[2]) / 1000 for line in Path(log.name).read_text().splitlines()
        )
    rps = float(re.search(r"finished in [\d.]+s, ([\d.]+) req/s", out).group(1))  # type: ignore[union-attr]
    failed = re.search(r"(\d+) failed, (\d+) errored, (\d+) timeout", out)
    errors = sum(int(n) for n in failed.groups()) if failed else 0

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else 0.0

    return Point(rps, pct(0.5), pct(0.99), errors)
