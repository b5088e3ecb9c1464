"""Load generators: wrk for REST (POST body from a file via a tiny Lua script), grpc_load.py for
gRPC. Both report requests/s and the p50/p99 latency of one closed-loop run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
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
