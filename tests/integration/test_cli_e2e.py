"""End to end: the command lines of ``tensorflow_model_server`` and ``pyserving`` (reference §1,
§10 items 1-3), run as real subprocesses.

Most cases end before any model would load; the two that serve use a copy of half_plus_two.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest

from tests.integration.harness import BIN, START_TIMEOUT_S, free_port, running_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

TFS = str(BIN / "tensorflow_model_server")
PYSERVING = str(BIN / "pyserving")
EXIT_FAILURE = 255
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")


def run(argv: Sequence[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """A command expected to finish on its own (before any server would start)."""
    return subprocess.run(
        list(argv), capture_output=True, text=True, timeout=timeout, env=ENV, check=False
    )


def port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        return True
    return False


def tensorflow_version() -> str:
    for distribution in ("tensorflow-cpu", "tensorflow"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            return importlib.metadata.version(distribution)
    pytest.fail("TensorFlow is not installed in the test environment")


def assert_usage(stdout: str) -> None:
    """TF's ``Flags::Usage``: a ``usage:`` header, ``Flags:``, then one ``\\t--name=default`` line
    per flag."""
    lines = stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("usage: ")), None)
    assert start is not None, stdout
    assert lines[start + 1] == "Flags:", stdout
    flag_lines = [line for line in lines[start + 2 :] if line.startswith("\t--")]
    defaults = {line.split("\t")[1].split("=", 1)[0].strip(): line for line in flag_lines}
    for expected in (
        "--port=8500",
        "--rest_api_port=0",
        '--model_name="default"',
        '--model_base_path=""',
        "--file_system_poll_wait_seconds=1",
        "--enable_model_warmup=true",
        '--saved_model_tags="serve"',
    ):
        name = expected.split("=", 1)[0]
        assert name in defaults, f"no usage line for {name}:\n{stdout}"
        assert defaults[name].split("\t")[1].strip() == expected, defaults[name]


# -- commands that exit at once ----------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        # --version comes first: no model is loaded even with a model flag given.
        [TFS, "--version", "--model_base_path=/nonexistent/model"],
        [PYSERVING, "--version"],
    ],
    ids=["tensorflow_model_server", "pyserving"],
)
def test_version_prints_tf_serving_s_lines_then_pyserving_s_and_exits_0(argv: list[str]) -> None:
    result = run(argv)
    assert result.returncode == 0, result
    lines = result.stdout.splitlines()
    assert len(lines) == 3, result.stdout
    assert re.fullmatch(
        r"pyserving: \S+ \(a TensorFlow Serving compatible model server\)", lines[2]
    )
    assert re.fullmatch(r"TensorFlow ModelServer: \S+", lines[0]), lines
    assert lines[1] == f"TensorFlow Library: {tensorflow_version()}"


def test_help_exits_255_with_usage_on_stdout() -> None:
    result = run([TFS, "--help"])
    assert result.returncode == EXIT_FAILURE, result
    assert_usage(result.stdout)


@pytest.mark.parametrize(
    ("arg", "flag", "value"),
    [
        ("--port=abc", "port", "abc"),
        ("--rest_api_port=8501x", "rest_api_port", "8501x"),
        ("--port=4294967296", "port", "4294967296"),  # beyond int32
        ("--enable_batching=yes", "enable_batching", "yes"),
    ],
)
def test_bad_flag_value_exits_255_with_usage(arg: str, flag: str, value: str) -> None:
    result = run([TFS, arg, "--model_base_path=/nonexistent/model"])
    assert result.returncode == EXIT_FAILURE, result
    assert_usage(result.stdout)
    assert f"Couldn't interpret value {value} for flag {flag}." in result.stdout + result.stderr
    assert "Failed to start server" not in result.stdout  # it never got that far


def test_space_separated_value_does_not_set_the_flag() -> None:
    # `--port 9000` is two unknown arguments, so --port keeps the 0 given before it: the flag
    # check then finds no gRPC listener at all. (Had it been set, the next check would complain
    # about the missing model flags instead.)
    result = run([TFS, "--port=0", "--port", "9000"])
    assert result.returncode == EXIT_FAILURE, result
    assert "unknown argument: --port\n" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1] == (
        "Failed to start server. Error: INVALID_ARGUMENT: At least one of "
        "server_options.grpc_port or server_options.grpc_socket_path must be set."
    )


# -- commands that serve -----------------------------------------------------------------------


def test_unknown_argument_is_reported_and_the_server_still_serves(
    tmp_path: Path, shared_models: Path
) -> None:
    rest_port = free_port()
    stdout_path = tmp_path / "stdout"
    argv = [
        TFS,
        f"--port={free_port()}",
        f"--rest_api_port={rest_port}",
        "--model_name=default",
        f"--model_base_path={shared_models / 'saved_model_half_plus_two_cpu'}",
        "--no_such_flag=1",
    ]
    with open(stdout_path, "wb") as out, open(tmp_path / "stderr", "wb") as err:
        process = subprocess.Popen(argv, stdout=out, stderr=err, env=ENV)
    try:
        url = f"http://127.0.0.1:{rest_port}/v1/models/default"
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert process.poll() is None, (tmp_path / "stderr").read_text()
            assert time.monotonic() < deadline, "the server did not open its REST port"
            with contextlib.suppress(httpx.TransportError):
                httpx.get(url, timeout=2.0)
                break
            time.sleep(0.1)
        response = httpx.post(f"{url}:predict", json={"instances": [2.0]}, timeout=10)
        assert response.status_code == 200, response.text
        assert response.json() == {"predictions": [3.0]}
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    stdout = stdout_path.read_text()
    assert stdout.startswith("unknown argument: --no_such_flag=1\n"), stdout
    assert_usage(stdout)


def test_pyserving_serve_infers_the_model_name(tmp_path: Path, shared_models: Path) -> None:
    base = tmp_path / "half_plus_two"
    shutil.copytree(shared_models / "saved_model_half_plus_two_cpu", base)
    args = ["serve", str(base), "--port={grpc_port}", "--rest-port={rest_port}"]
    with running_server(args, "/v1/models/half_plus_two", program="pyserving") as server:
        status = httpx.get(f"{server.base_url}/v1/models/half_plus_two", timeout=10)
        assert status.status_code == 200, status.text
        assert status.json()["model_version_status"][0]["state"] == "AVAILABLE"
        response = httpx.post(
            f"{server.base_url}/v1/models/half_plus_two:predict",
            json={"instances": [2.0]},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"predictions": [3.0]}
        assert port_open(server.grpc_port), f"gRPC port closed:\n{server.output}"
