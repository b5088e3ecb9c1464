"""The README's commands, run as written against a server started the way `make run` starts
one (its demo models, its config file, its flags), so the README cannot drift from what works."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import grpc
import httpx
import pytest

from pyserving.admin import ModelAdminServiceStub, admin_pb2
from tests.conftest import PROJECT_ROOT, SHARED_MODELS
from tests.integration.harness import ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

README = PROJECT_ROOT / "README.md"
DEMO = PROJECT_ROOT / "demo" / "models"


def readme_curls() -> list[str]:
    """Every ``curl`` command of the README's ``sh`` blocks (a leading ``$ `` dropped,
    backslash continuations joined), in order."""
    commands: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", README.read_text(), flags=re.S):
        pending = ""
        for raw in block.splitlines():
            line = raw.removeprefix("$ ")
            if pending:
                pending += " " + line.strip()
            elif line.startswith("curl "):
                pending = line
            else:
                continue
            if pending.endswith("\\"):
                pending = pending[:-1].rstrip()
                continue
            commands.append(pending)
            pending = ""
    return commands


def _build_demo() -> ModuleType:
    """`make demo`: build (or find up to date) the demo models where `make run` serves them."""
    builder = PROJECT_ROOT / "demo" / "build_demo.py"
    done = subprocess.run(
        [sys.executable, str(builder), "--out", str(DEMO), "--shared", str(SHARED_MODELS)],
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    spec = importlib.util.spec_from_file_location("build_demo", builder)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_demo", module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def demo_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the config `make run` serves, as built (the checkout's own file may hold a
    reader's admin changes; the admin examples below rewrite the copy, never the checkout)."""
    build_demo = _build_demo()
    config = tmp_path_factory.mktemp("readme") / "models.config"
    half_plus_two = (SHARED_MODELS / build_demo.HALF_PLUS_TWO_DIR).resolve()
    config.write_text(
        build_demo.model_config_text(
            half_plus_two, DEMO / build_demo.MODEL_NAME, DEMO / build_demo.ONNX_MODEL_NAME
        )
    )
    return config


def _make_run_server(config: Path, *extra: str) -> ServerProcess:
    # The Makefile's `run` command, on free ports.
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        f"--model_config_file={config}",
        "--enable_admin_api",
        *extra,
    ]
    server = ServerProcess(args)
    deadline = time.monotonic() + 240
    while True:
        assert server.process.poll() is None, server.output
        try:
            if httpx.get(f"{server.base_url}/readyz", timeout=5).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, server.output
        time.sleep(0.3)


@pytest.fixture(scope="module")
def server(demo_config: Path) -> Iterator[ServerProcess]:
    running = _make_run_server(demo_config)
    try:
        yield running
    finally:
        running.stop()


def _run(command: str, port: int) -> str:
    command = command.replace("localhost:8501", f"localhost:{port}")
    command = command.replace("curl ", "curl -sS --fail-with-body ", 1)
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_readme_has_the_examples_this_test_runs() -> None:
    curls = readme_curls()
    assert any(":predict" in c for c in curls)
    assert sum("/v1/admin/" in c for c in curls) >= 6
    assert not any('/models/digits"' in c and "$PWD" not in c for c in curls)


@pytest.mark.parametrize("client", ["client_rest.py", "client_grpc.py"])
def test_demo_clients_read_the_sample_pictures(server: ServerProcess, client: str) -> None:
    """The tutorial clients: a picture in, the digit and its confidence out."""
    port = server.rest_port if client == "client_rest.py" else server.grpc_port
    pictures = [str(DEMO / "samples" / f"digit_{label}.png") for label in range(10)]
    script = str(PROJECT_ROOT / "demo" / client)
    done = subprocess.run(
        [sys.executable, script, *pictures, "--server", f"localhost:{port}"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 10, done.stdout
    for label, (picture, line) in enumerate(zip(pictures, lines, strict=True)):
        pattern = rf"{re.escape(picture)}: digit {label} \(confidence (0\.\d\d|1\.00)\) from digits"
        assert re.fullmatch(pattern, line), line


def test_readme_curls_work_as_written_and_admin_changes_survive_a_restart(
    server: ServerProcess, demo_config: Path
) -> None:
    outputs = [_run(command, server.rest_port) for command in readme_curls()]
    assert outputs[0].strip() == '{"predictions":[2.5,3.0,4.5]}'  # as the README shows it
    served = httpx.get(f"{server.base_url}/v1/admin/models", timeout=30).json()
    digits = next(m for m in served["models"] if m["name"] == "digits")
    assert digits["version_policy"] == {"latest": {"num_versions": 1}}
    assert [m["name"] for m in served["models"]] == ["half_plus_two", "digits", "digits_onnx"]

    # A restart serves what the admin API last wrote (item: `make run` keeps it too).
    server.stop()
    restarted = _make_run_server(demo_config)
    try:
        again = httpx.get(f"{restarted.base_url}/v1/admin/models", timeout=30).json()
        assert again["models"] == served["models"]
    finally:
        restarted.stop()


def test_admin_put_of_a_missing_path_fails_at_once_over_rest_and_grpc(
    demo_config: Path, tmp_path: Path
) -> None:
    config = tmp_path / "models.config"
    shutil.copy(demo_config, config)
    before = config.read_text()
    # Allowed roots that hold the missing paths: this test is about their absence.
    running = _make_run_server(config, f"--model_base_path_allowlist=/models,{tmp_path}")
    try:
        started = time.monotonic()
        response = httpx.put(
            f"{running.base_url}/v1/admin/models/digits",
            json={"base_path": "/models/digits"},
            timeout=300,
        )
        assert response.status_code == 404, response.text
        assert response.json()["error"].startswith(
            "Could not find base path /models/digits for model digits: the path does not exist."
        )
        request = admin_pb2.PutModelRequest()
        request.config.name = "extra"
        request.config.base_path = str(tmp_path / "nothing-here")
        request.config.model_platform = "tensorflow"
        with (
            grpc.insecure_channel(f"127.0.0.1:{running.grpc_port}") as channel,
            pytest.raises(grpc.RpcError) as caught,
        ):
            ModelAdminServiceStub(channel).PutModel(request, timeout=300)
        assert caught.value.code() is grpc.StatusCode.NOT_FOUND
        assert time.monotonic() - started < 60  # not the 300 s timeout
        assert config.read_text() == before
    finally:
        running.stop()
    noise = [  # the audit line of the refused change is expected; no poller noise
        line
        for line in running.output.splitlines()
        if "Could not find base path /models/digits" in line and "pyserving.audit" not in line
    ]
    assert not noise


def test_make_run_takes_the_ports_the_readme_names() -> None:
    done = subprocess.run(
        ["make", "-n", "run", "REST_PORT=9501", "GRPC_PORT=9500"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "--port=9500 --rest_api_port=9501" in done.stdout, done.stdout + done.stderr
    assert "--enable_admin_api" in done.stdout  # the README's admin examples need it
    assert "make run REST_PORT=9501 GRPC_PORT=9500" in README.read_text()
