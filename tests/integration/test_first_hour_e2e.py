"""The mistakes of a first hour, against real server processes: a port in use, a path that does
not exist, a SavedModel given without a version directory, one broken model among good ones."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.harness import BIN, ServerProcess, free_port, running_server

pytestmark = [pytest.mark.timeout(240)]

HPT = "saved_model_half_plus_two_cpu"
PREDICT = {"instances": [1.0, 2.0, 5.0]}


def _held_port() -> tuple[socket.socket, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("0.0.0.0", 0))
    sock.listen(1)
    return sock, sock.getsockname()[1]


@pytest.mark.parametrize(
    ("program", "which", "flag"),
    [
        ("tensorflow_model_server", "rest", "--rest_api_port"),
        ("tensorflow_model_server", "grpc", "--port"),
        ("pyserving", "rest", "--rest-port"),
    ],
)
def test_a_port_in_use_fails_before_loading_and_names_the_flag(
    shared_models: Path, program: str, which: str, flag: str
) -> None:
    held, port = _held_port()
    other = free_port()
    grpc_port, rest_port = (other, port) if which == "rest" else (port, other)
    base = shared_models / HPT
    if program == "pyserving":
        args = ["serve", str(base), f"--port={grpc_port}", f"--rest-port={rest_port}"]
    else:
        args = [f"--port={grpc_port}", f"--rest_api_port={rest_port}", f"--model_base_path={base}"]
    server = ServerProcess(args, program=program)
    try:
        assert server.wait_exit(timeout=60) == 255
    finally:
        server.stop()
        held.close()
    output = server.output
    assert f"{flag}={port} is in use" in output, output
    assert "Loading servable version" not in output  # nothing was loaded first


def test_serve_a_path_that_does_not_exist_exits_at_once(tmp_path: Path) -> None:
    server = ServerProcess(["serve", str(tmp_path / "nope")], program="pyserving")
    try:
        assert server.wait_exit(timeout=60) == 2
    finally:
        server.stop()
    assert f"{tmp_path / 'nope'} does not exist" in server.output


def test_serve_a_saved_model_directory_as_version_1(shared_models: Path, tmp_path: Path) -> None:
    model = tmp_path / "hpt"
    shutil.copytree(shared_models / HPT / "00000123", model)
    args = ["serve", str(model), "--port={grpc_port}", "--rest-port={rest_port}"]
    with running_server(args, "/v1/models/hpt", program="pyserving") as server:
        deadline = time.monotonic() + 120
        while (status := httpx.get(f"{server.base_url}/v1/models/hpt")).status_code != 200 or (
            status.json()["model_version_status"][0]["state"] != "AVAILABLE"
        ):
            assert time.monotonic() < deadline, server.output
            time.sleep(0.2)
        assert status.json()["model_version_status"][0]["version"] == "1"
        response = httpx.post(f"{server.base_url}/v1/models/hpt:predict", json=PREDICT)
        assert response.json() == {"predictions": [2.5, 3.0, 4.5]}
        assert "holds a model but no numbered version directory: serving it as version 1" in (
            server.output
        )


def test_serve_keeps_serving_good_models_when_one_cannot_load(
    shared_models: Path, tmp_path: Path
) -> None:
    no_saved_model = tmp_path / "empty_version" / "1"
    no_saved_model.mkdir(parents=True)
    (no_saved_model / "variables").mkdir()
    args = [
        "serve",
        str(shared_models / HPT),
        f"legacy={shared_models / 'bad_half_plus_two'}",
        f"incomplete={tmp_path / 'empty_version'}",
        "--port={grpc_port}",
        "--rest-port={rest_port}",
    ]
    with running_server(args, f"/v1/models/{HPT}", program="pyserving") as server:
        http = httpx.Client(base_url=server.base_url, timeout=30)
        deadline = time.monotonic() + 120
        while http.post(f"/v1/models/{HPT}:predict", json=PREDICT).status_code != 200:
            assert time.monotonic() < deadline, server.output
            time.sleep(0.2)
        ready = http.get("/readyz")
        assert ready.status_code == 503
        missing = ready.json()["unavailable_models"]
        assert set(missing) == {"legacy", "incomplete"}
        assert "Session Bundle is deprecated" in missing["legacy"][0]["error"]
        assert "saved_model.pb" in missing["incomplete"][0]["error"]
        status = http.get("/v1/models/legacy").json()["model_version_status"][0]
        assert status["state"] == "END" and status["status"]["error_code"] == "UNIMPLEMENTED"
        output = server.output
        assert "Model legacy could not be loaded; serving the other models without it" in output
        assert "retrying in" not in output


def test_tensorflow_model_server_keeps_tf_serving_semantics(shared_models: Path) -> None:
    """One model that cannot load fails the whole start (exit 255), as in TF Serving."""
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        f"--model_base_path={shared_models / 'bad_half_plus_two'}",
        "--max_num_load_retries=0",
    ]
    server = ServerProcess(args)
    try:
        assert server.wait_exit(timeout=120) == 255
    finally:
        server.stop()
    assert "Failed to start server. Error: UNIMPLEMENTED: Session Bundle" in server.output


def _startup_output(shared_models: Path, tmp_path: Path, **env: str) -> str:
    """What a server prints until it serves, with ``env`` (and no TF_CPP_MIN_LOG_LEVEL unless
    given)."""
    clean = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    log = tmp_path / f"server-{len(env)}.log"
    rest = free_port()
    args = [
        str(BIN / "tensorflow_model_server"),
        f"--port={free_port()}",
        f"--rest_api_port={rest}",
        f"--model_base_path={shared_models / HPT}",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env={**clean, **env})
    try:
        deadline = time.monotonic() + 120
        while "Exporting HTTP/REST API" not in log.read_text(errors="replace"):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    return log.read_text(errors="replace")


def test_tensorflow_start_up_noise_is_hidden_unless_asked_for(
    shared_models: Path, tmp_path: Path
) -> None:
    quiet = _startup_output(shared_models, tmp_path)
    assert "cpu_feature_guard" not in quiet and "oneDNN" not in quiet, quiet
    assert "is deprecated" not in quiet and "deprecation" not in quiet.lower(), quiet
    loud = _startup_output(shared_models, tmp_path, TF_CPP_MIN_LOG_LEVEL="0")
    assert "cpu_feature_guard" in loud or "oneDNN" in loud, loud
