"""End to end: how ``tensorflow_model_server`` starts, fails to start and stops (reference §1, §4.1,
§10 items 4-5).

Processes expected to exit run with stdout and stderr in separate files, because the reference
says which stream each message goes to (``Failed to start server`` on stdout, logs on stderr).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from tests.integration.harness import BIN, START_TIMEOUT_S, ServerProcess, free_port, running_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

FAILED_TO_START = "Failed to start server. Error: "
EXIT_FAILURE = 255


def port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


class SplitServer:
    """``tensorflow_model_server`` with stdout and stderr captured separately (to files)."""

    _ids = itertools.count()

    def __init__(self, args: Sequence[str], log_dir: Path) -> None:
        self.grpc_port = free_port()
        self.rest_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.rest_port}"
        argv = [
            str(BIN / "tensorflow_model_server"),
            *(a.format(grpc_port=self.grpc_port, rest_port=self.rest_port) for a in args),
        ]
        number = next(self._ids)
        self._stdout_path = log_dir / f"server-{number}.stdout"
        self._stderr_path = log_dir / f"server-{number}.stderr"
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
        with open(self._stdout_path, "wb") as out, open(self._stderr_path, "wb") as err:
            self.process = subprocess.Popen(argv, stdout=out, stderr=err, env=env)

    @property
    def stdout(self) -> str:
        return self._stdout_path.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self._stderr_path.read_text(errors="replace")

    def describe(self) -> str:
        return (
            f"exit code {self.process.poll()}\n--- stdout:\n{self.stdout}\n"
            f"--- stderr:\n{self.stderr}"
        )

    def ports_open(self) -> list[int]:
        return [p for p in (self.grpc_port, self.rest_port) if port_open(p)]

    def wait_exit_watching_ports(self, timeout: float = START_TIMEOUT_S) -> tuple[int, set[int]]:
        """Wait for the exit: its code, and the ports that accepted a connection meanwhile."""
        opened: set[int] = set()
        deadline = time.monotonic() + timeout
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                pytest.fail(f"server still running after {timeout:.0f} s:\n{self.describe()}")
            opened.update(self.ports_open())
            time.sleep(0.05)
        return self.process.returncode, opened

    def wait_for_rest(self, probe_path: str, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"server exited:\n{self.describe()}")
            with contextlib.suppress(httpx.TransportError):
                httpx.get(self.base_url + probe_path, timeout=2.0)
                return
            time.sleep(0.1)
        pytest.fail(f"REST port not open after {timeout:.0f} s:\n{self.describe()}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@contextlib.contextmanager
def split_server(args: Sequence[str], log_dir: Path) -> Iterator[SplitServer]:
    server = SplitServer(args, log_dir)
    try:
        yield server
    finally:
        server.stop()


def expect_start_failure(args: Sequence[str], log_dir: Path) -> SplitServer:
    """Run a server that must not start: exit 255, one failure line on stdout, no port opened."""
    with split_server(args, log_dir) as server:
        code, opened = server.wait_exit_watching_ports()
    assert code == EXIT_FAILURE, server.describe()
    assert opened == set(), f"ports {opened} opened:\n{server.describe()}"
    assert FAILED_TO_START in server.stdout, server.describe()
    return server


def failure_line(server: SplitServer) -> str:
    return next(line for line in server.stdout.splitlines() if FAILED_TO_START in line)


def predict(base_url: str, model: str, x: float) -> httpx.Response:
    return httpx.post(f"{base_url}/v1/models/{model}:predict", json={"instances": [x]}, timeout=10)


@pytest.fixture
def half_plus_two(shared_models: Path) -> Path:
    return shared_models / "saved_model_half_plus_two_cpu"


# -- startup failures --------------------------------------------------------------------------


def test_model_failing_to_load_at_startup_exits_255(tmp_path: Path, shared_models: Path) -> None:
    server = expect_start_failure(
        [
            "--port={grpc_port}",
            "--rest_api_port={rest_port}",
            "--model_name=bad",
            f"--model_base_path={shared_models / 'bad_half_plus_two'}",
            "--max_num_load_retries=0",
        ],
        tmp_path,
    )
    # TF's format: "<CODE>: <message>" after the prefix, with a non-empty message.
    assert re.search(r"Failed to start server\. Error: [A-Z_]+: \S", failure_line(server))


def test_unparsable_config_file_exits_255(tmp_path: Path, shared_models: Path) -> None:
    config = shared_models / "bad_model_config.txt"
    server = expect_start_failure(
        ["--port={grpc_port}", "--rest_api_port={rest_port}", f"--model_config_file={config}"],
        tmp_path,
    )
    assert (
        f"Failed to start server. Error: INVALID_ARGUMENT: Invalid protobuf file: '{config}'"
        in server.stdout
    )
    assert "Error parsing text-format tensorflow.serving.ModelServerConfig:" in server.stderr


def test_no_model_flags_exits_255(tmp_path: Path) -> None:
    server = expect_start_failure(["--port={grpc_port}", "--rest_api_port={rest_port}"], tmp_path)
    assert failure_line(server) == (
        "Failed to start server. Error: INVALID_ARGUMENT: Both server_options.model_base_path "
        "and server_options.model_config_file are empty!"
    )


CONFIG_ERRORS = {
    "duplicate-name": (
        'config { name: "m" base_path: "<HP2>" model_platform: "tensorflow" }\n'
        'config { name: "m" base_path: "<HP2>" model_platform: "tensorflow" }',
        "Illegal to list model m multiple times in config list",
    ),
    "relative-base-path": (
        'config { name: "m" base_path: "models/m" model_platform: "tensorflow" }',
        "Expected model m to have an absolute path or URI; got base_path()=models/m",
    ),
    "missing-platform": (
        'config { name: "m" base_path: "<HP2>" }',
        "Illegal setting neither ModelServerConfig::model_type (deprecated) nor "
        "ModelServerConfig::model_platform, model name is m",
    ),
    "unknown-platform": (
        'config { name: "m" base_path: "<HP2>" model_platform: "pytorch" }',
        "Model m requests unsupported platform pytorch",
    ),
}


@pytest.mark.parametrize("case", sorted(CONFIG_ERRORS))
def test_invalid_config_exits_255_with_tf_message(
    case: str, tmp_path: Path, half_plus_two: Path
) -> None:
    entries, message = CONFIG_ERRORS[case]
    config = tmp_path / "models.config"
    config.write_text(
        "model_config_list {\n" + entries.replace("<HP2>", str(half_plus_two)) + "\n}\n"
    )
    server = expect_start_failure(
        ["--port={grpc_port}", "--rest_api_port={rest_port}", f"--model_config_file={config}"],
        tmp_path,
    )
    # TF Serving reports every one of these as INVALID_ARGUMENT (server_core.cc).
    assert failure_line(server) == f"Failed to start server. Error: INVALID_ARGUMENT: {message}"


# -- waiting for a first version ---------------------------------------------------------------


def test_base_path_without_versions_waits_then_serves_the_first(
    tmp_path: Path, half_plus_two: Path
) -> None:
    base = tmp_path / "waiting"
    base.mkdir()
    shutil.copytree(half_plus_two / "00000123", base / "not-a-version")  # ignored: not a number
    message = (
        f"No versions of servable waiting found under base path {base}. Did you forget to name "
        "your leaf directory as a number (eg. '/1/')?"
    )
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        "--model_name=waiting",
        f"--model_base_path={base}",
        "--file_system_poll_wait_seconds=1",
    ]
    with split_server(args, tmp_path) as server:
        deadline = time.monotonic() + START_TIMEOUT_S
        while message not in server.stderr:
            assert server.process.poll() is None, server.describe()
            assert time.monotonic() < deadline, f"no 'No versions' log:\n{server.describe()}"
            time.sleep(0.1)
        # It keeps waiting, ports closed.
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            assert server.process.poll() is None, server.describe()
            assert server.ports_open() == [], server.describe()
            time.sleep(0.2)

        staging = base / ".tmp-1"
        shutil.copytree(half_plus_two / "00000123", staging)
        os.rename(staging, base / "1")
        server.wait_for_rest("/v1/models/waiting", timeout=60)
        response = predict(server.base_url, "waiting", 2.0)
        assert response.status_code == 200, response.text
        assert response.json() == {"predictions": [3.0]}
        status = httpx.get(f"{server.base_url}/v1/models/waiting", timeout=10).json()
        assert [(r["version"], r["state"]) for r in status["model_version_status"]] == [
            ("1", "AVAILABLE")
        ]


# -- a good config file, log lines, SIGTERM ----------------------------------------------------


@pytest.fixture(scope="module")
def two_model_server(
    tmp_path_factory: pytest.TempPathFactory, shared_models: Path
) -> Iterator[ServerProcess]:
    template = (shared_models / "good_model_config.txt").read_text()
    text = template.replace(
        "${TEST_HALF_PLUS_TWO_DIR}", str(shared_models / "saved_model_half_plus_two_cpu")
    ).replace("${TEST_HALF_PLUS_THREE_DIR}", str(shared_models / "saved_model_half_plus_three"))
    assert "${" not in text
    config = tmp_path_factory.mktemp("good-config") / "models.config"
    config.write_text(text)
    args = ["--port={grpc_port}", "--rest_api_port={rest_port}", f"--model_config_file={config}"]
    with running_server(args, "/v1/models/half_plus_two") as server:
        yield server


def test_good_config_serves_both_models(two_model_server: ServerProcess) -> None:
    for model, expected in (("half_plus_two", 3.0), ("half_plus_three", 4.0)):
        response = predict(two_model_server.base_url, model, 2.0)
        assert response.status_code == 200, f"{model}: {response.text}"
        assert response.json() == {"predictions": [expected]}, model
        status = httpx.get(f"{two_model_server.base_url}/v1/models/{model}", timeout=10)
        assert status.json() == {
            "model_version_status": [
                {
                    "version": "123",
                    "state": "AVAILABLE",
                    "status": {"error_code": "OK", "error_message": ""},
                }
            ]
        }


def test_startup_logs_the_rest_address(two_model_server: ServerProcess) -> None:
    line = f"Exporting HTTP/REST API at:localhost:{two_model_server.rest_port} ..."
    assert line in two_model_server.output


def test_startup_logs_the_grpc_address(two_model_server: ServerProcess) -> None:
    grpc_line = f"Running gRPC ModelServer at 0.0.0.0:{two_model_server.grpc_port} ..."
    output = two_model_server.output
    if grpc_line not in output and not port_open(two_model_server.grpc_port):
        pytest.skip("the gRPC front end is not running yet (port closed, no log line)")
    assert grpc_line in output
    rest_line = f"Exporting HTTP/REST API at:localhost:{two_model_server.rest_port} ..."
    assert output.index(grpc_line) < output.index(rest_line), "gRPC opens before HTTP"


def test_sigterm_stops_gracefully_with_exit_0(half_plus_two: Path) -> None:
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        "--model_name=default",
        f"--model_base_path={half_plus_two}",
    ]
    server = ServerProcess(args)
    try:
        server.wait_for_rest("/v1/models/default")
        response = predict(server.base_url, "default", 2.0)
        assert response.json() == {"predictions": [3.0]}
    finally:
        code = server.stop(signal.SIGTERM, timeout=60)
    assert code == 0, server.output
    assert not port_open(server.rest_port)
