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

from pyserving.api.grpc.transport.zttp_server.connection import STREAM_BUDGET

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
    # Named after the whole file name: mlp.v2.json and mlp.v2.bin get scripts of their own.
    script = body_file.with_name(body_file.name + ".lua")
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
    that these calls succeed.

    The zttp server moves a client to a new connection after STREAM_BUDGET streams (a graceful
    GOAWAY; grpc clients reconnect by themselves) and h2load does not reconnect: a timing-based
    run (``-D``) would stop counting there. So h2load runs in rounds of at most
    ``STREAMS_PER_CONNECTION`` requests per connection, each round on new connections and sized
    to the time left at the last round's rate, until ``warmup`` and then ``seconds`` have passed;
    the rate is the measured requests over the rounds' own durations."""
    request = request_file.read_bytes()
    framed = request_file.with_suffix(".grpc-frame")
    framed.write_bytes(struct.pack(">BI", 0, len(request)) + request)
    url = f"http://{target}/tensorflow.serving.PredictionService/Predict"
    rate = 0.0  # requests/s of the last round, to size the next one to the time left

    def round_size(seconds_left: float) -> int:
        most = concurrency * STREAMS_PER_CONNECTION
        if rate == 0:  # the first round: one request per connection, however slow the model
            return concurrency
        return min(most, int(rate * seconds_left) + concurrency)

    elapsed = 0.0
    while elapsed < warmup:
        took, succeeded, _ = _h2load_round(
            url, framed, concurrency, round_size(warmup - elapsed), []
        )
        elapsed, rate = elapsed + took, succeeded / took
    latencies: list[float] = []
    elapsed, done, errors = 0.0, 0, 0
    while elapsed < seconds:
        size = round_size(seconds - elapsed)
        took, succeeded, failed = _h2load_round(url, framed, concurrency, size, latencies)
        elapsed, done, errors = elapsed + took, done + succeeded, errors + failed
        rate = succeeded / took
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else 0.0

    return Point(done / elapsed, pct(0.5), pct(0.99), errors)


# Requests per connection in one h2load round: below the zttp server's STREAM_BUDGET.
STREAMS_PER_CONNECTION = STREAM_BUDGET - 200


def _h2load_round(
    url: str, framed: Path, concurrency: int, requests: int, latencies: list[float]
) -> tuple[float, int, int]:
    """One h2load run of ``requests`` requests on ``concurrency`` new connections; appends the
    latencies (ms) and returns (seconds, succeeded, failed)."""
    with tempfile.NamedTemporaryFile(suffix=".log") as log:
        args = [
            "h2load",
            f"-c{concurrency}",
            "-m1",
            f"-n{requests}",
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
        latencies.extend(
            int(line.split("\t")[2]) / 1000 for line in Path(log.name).read_text().splitlines()
        )
    finished = re.search(r"finished in ([\d.]+)(us|ms|s),", out)
    assert finished is not None, out
    took = float(finished.group(1)) * _UNITS[finished.group(2)] / 1000
    succeeded = int(re.search(r"(\d+) succeeded", out).group(1))  # type: ignore[union-attr]
    failed = re.search(r"(\d+) failed, (\d+) errored, (\d+) timeout", out)
    return took, succeeded, sum(int(n) for n in failed.groups()) if failed else 0
