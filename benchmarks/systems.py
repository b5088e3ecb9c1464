"""The systems under test: how to start each one on a model, and what to send it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "benchmarks"
MAIN_BIN = ROOT / ".venv" / "bin"
BENCH_BIN = ROOT / ".bench-venv" / "bin"
READY_TIMEOUT_S = 180.0
# What pyserving batches with here: pyserving serve's adaptive defaults (no added wait), capped
# at 256 rows per executed batch.
BATCHING = (
    "max_batch_size { value: 1000000 }\n"
    "batch_timeout_micros { value: 0 }\n"
    "max_enqueued_batches { value: 100000 }\n"
    "enable_large_batch_splitting { value: true }\n"
    "max_execution_batch_size { value: 256 }\n"
)


@dataclass(frozen=True)
class Model:
    name: str
    base: Path  # the directory holding the numbered version directory
    version_dir: Path
    tfs_body: Path  # {"instances": ...}
    v2_body: Path  # MLServer's V2 inference request
    grpc_request: Path  # serialized PredictRequest
    rows_per_request: int
    v2_binary: Path  # the V2 request in Triton's binary tensor data extension
    v2_header_length: int  # its JSON header's length (Inference-Header-Content-Length)
    v2_grpc_request: Path  # serialized inference.ModelInferRequest (raw_input_contents)


@dataclass
class Running:
    url: str  # where wrk POSTs
    body: Path
    process: subprocess.Popen[bytes]
    grpc_target: str | None = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _http_probe(url: str, body: Path) -> Callable[[], bool]:
    """Ready once a POST of ``body`` to ``url`` answers 200."""
    data = body.read_bytes()

    def probe() -> bool:
        with contextlib.suppress(httpx.HTTPError):
            response = httpx.post(
                url, content=data, headers={"content-type": "application/json"}, timeout=10
            )
            return response.status_code == 200
        return False

    return probe


def _grpc_probe(target: str) -> Callable[[], bool]:
    """Ready once a gRPC channel to ``target`` connects."""

    def probe() -> bool:
        with grpc.insecure_channel(target) as channel, contextlib.suppress(grpc.FutureTimeoutError):
            grpc.channel_ready_future(channel).result(timeout=1)
            return True
        return False

    return probe


def _wait_ready(
    label: str, probe: Callable[[], bool], process: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{label}: server exited:\n{tail}")
        if probe():
            return
        time.sleep(0.5)
    raise RuntimeError(f"{label} not ready after {READY_TIMEOUT_S} s")


@contextlib.contextmanager
def _process(
    args: list[str],
    label: str,
    probe: Callable[[], bool],
    work: Path,
    name: str,
    env: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    log = work / f"{name}.log"
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **(env or {}))
    with open(log, "wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=environment)
    try:
        _wait_ready(label, probe, process, log)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def pyserving(
    model: Model,
    work: Path,
    grpc_server: str = "grpcio",
    *,
    bin_dir: Path = MAIN_BIN,
    cpu: int | None = None,
) -> Iterator[Running]:
    """pyserving from ``bin_dir`` (another checkout's venv, to compare), pinned to ``cpu`` if
    given."""
    rest, grpc_port = free_port(), free_port()
    params = work / "batching.txt"
    params.write_text(BATCHING)
    # Platform "auto": a SavedModel or a model.onnx, whichever the version directory holds.
    config = work / f"{model.name}.config"
    config.write_text(
        f'model_config_list {{ config {{ name: "{model.name}" base_path: "{model.base}" '
        'model_platform: "auto" } }'
    )
    args = [
        *(["taskset", "-c", str(cpu)] if cpu is not None else []),  # taskset execs: same pid
        str(bin_dir / "tensorflow_model_server"),
        f"--port={grpc_port}",
        f"--rest_api_port={rest}",
        f"--model_config_file={config}",
        "--enable_batching",
        f"--batching_parameters_file={params}",
        "--grpc_max_threads=4096",  # TF's default (4 x CPUs) would cap concurrent RPCs at 8
        f"--grpc_server={grpc_server}",
    ]
    url = f"http://127.0.0.1:{rest}/v1/models/{model.name}:predict"
    probe = _http_probe(url, model.tfs_body)
    name = f"pyserving-{grpc_server}-{model.name}"
    if bin_dir != MAIN_BIN:  # another checkout: its own log
        name += f"-{bin_dir.parent.parent.name}"
    with _process(args, url, probe, work, name) as process:
        yield Running(url, model.tfs_body, process, f"127.0.0.1:{grpc_port}")


@contextlib.contextmanager
def fastapi(model: Model, work: Path) -> Iterator[Running]:
    port = free_port()
    args = [str(BENCH_BIN / "uvicorn"), "fastapi_tf:app", "--app-dir", str(HERE)]
    args += ["--port", str(port), "--http", "httptools", "--loop", "uvloop"]
    args += ["--no-access-log", "--log-level", "warning"]
    url = f"http://127.0.0.1:{port}/v1/models/{model.name}:predict"
    env = {"MODEL_DIR": str(model.version_dir)}
    probe = _http_probe(url, model.tfs_body)
    with _process(args, url, probe, work, f"fastapi-{model.name}", env) as process:
        yield Running(url, model.tfs_body, process)


@contextlib.contextmanager
def mlserver(model: Model, work: Path) -> Iterator[Running]:
    folder = work / f"mlserver-{model.name}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    shutil.copy(HERE / "mlserver_tf" / "runtime.py", folder / "runtime.py")
    http = free_port()
    settings = {"http_port": http, "grpc_port": free_port(), "metrics_port": free_port()}
    (folder / "settings.json").write_text(json.dumps(settings))
    model_settings = {
        "name": model.name,
        "implementation": "runtime.TensorFlowRuntime",
        "parameters": {"uri": str(model.version_dir)},
    }
    (folder / "model-settings.json").write_text(json.dumps(model_settings))
    args = [str(BENCH_BIN / "mlserver"), "start", str(folder)]
    url = f"http://127.0.0.1:{http}/v2/models/{model.name}/infer"
    probe = _http_probe(url, model.v2_body)
    with _process(args, url, probe, work, f"mlserver-{model.name}") as process:
        yield Running(url, model.v2_body, process)


@contextlib.contextmanager
def grpc_ceiling(model: Model, work: Path) -> Iterator[Running]:
    """The bare grpc.aio server of ``grpc_ceiling.py``; ``url`` is unused (gRPC only)."""
    target = f"127.0.0.1:{free_port()}"
    args = [str(MAIN_BIN / "python"), str(HERE / "grpc_ceiling.py"), target.rpartition(":")[2]]
    probe = _grpc_probe(target)
    with _process(args, target, probe, work, f"grpc-ceiling-{model.name}") as process:
        yield Running("", model.grpc_request, process, target)


@contextlib.contextmanager
def ceiling(model: Model, work: Path) -> Iterator[Running]:
    port = free_port()
    args = [str(MAIN_BIN / "uvicorn"), "asgi_ceiling:app", "--app-dir", str(HERE)]
    args += ["--port", str(port), "--http", "httptools", "--loop", "uvloop"]
    args += ["--no-access-log", "--no-proxy-headers", "--log-level", "warning"]
    url = f"http://127.0.0.1:{port}/v1/models/{model.name}:predict"
    probe = _http_probe(url, model.tfs_body)
    with _process(args, url, probe, work, f"ceiling-{model.name}") as process:
        yield Running(url, model.tfs_body, process)
