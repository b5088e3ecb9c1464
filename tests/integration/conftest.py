"""One real ``tensorflow_model_server`` for all REST end-to-end tests, plus their helpers.

Starting a server imports TensorFlow (seconds), so the REST tests share one session-scoped server
(:func:`rest_server`) serving the shared TF Serving test models and the models of
:mod:`tests.integration.models`. Only a test needing a different flag starts a second one
(:func:`cors_server`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration import models
from tests.integration.harness import ServerProcess, running_server

DEFAULT = "default"  # saved_model_half_plus_two_cpu: its metadata is the golden file's
TF2 = "half_plus_two_tf2"  # saved_model_half_plus_two_tf2_cpu
HALF_PLUS_THREE = "half_plus_three"
TWO_VERSIONS = "saved_model_half_plus_two_2_versions"  # versions 123 and 124, policy all
COUNTER = "counter"

TIMEOUT_MS = 3000
MAX_BODY_BYTES = 1 << 20
READY_TIMEOUT_S = 120.0

# Shared model folder per served name, and the version policy (text format) if not the default.
_SHARED = {
    DEFAULT: ("saved_model_half_plus_two_cpu", ""),
    TF2: ("saved_model_half_plus_two_tf2_cpu", ""),
    HALF_PLUS_THREE: ("saved_model_half_plus_three", ""),
    TWO_VERSIONS: ("saved_model_half_plus_two_2_versions", "model_version_policy { all {} }"),
    COUNTER: ("saved_model_counter", "model_version_policy { specific { versions: 123 } }"),
}
# How many versions each model must have AVAILABLE before the tests start.
_EXPECTED_VERSIONS = {TWO_VERSIONS: 2}


def model_config(base_paths: dict[str, tuple[Path, str]]) -> str:
    """A ModelServerConfig in protobuf text format serving ``name -> (base path, policy)``."""
    entries = "".join(
        f'  config {{ name: "{name}" base_path: "{path}" model_platform: "tensorflow" {policy} }}\n'
        for name, (path, policy) in base_paths.items()
    )
    return f"model_config_list {{\n{entries}}}\n"


def _wait_until_available(server: ServerProcess, names: list[str]) -> None:
    """Poll each model's status until all its versions are AVAILABLE (bounded by a deadline)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    pending = list(names)
    while pending:
        if time.monotonic() > deadline:
            raise RuntimeError(f"models not AVAILABLE in time: {pending}\n{server.output}")
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited with {server.process.returncode}:\n{server.output}")
        name = pending[0]
        response = httpx.get(f"{server.base_url}/v1/models/{name}", timeout=5.0)
        if response.status_code == 200:
            states = [v["state"] for v in response.json()["model_version_status"]]
            if len(states) == _EXPECTED_VERSIONS.get(name, 1) and set(states) == {"AVAILABLE"}:
                pending.pop(0)
                continue
        time.sleep(0.2)


@pytest.fixture(scope="session")
def built_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return models.build_all(tmp_path_factory.mktemp("built_models"))


@pytest.fixture(scope="session")
def rest_server(
    shared_models: Path, built_models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    served = {name: (shared_models / folder, policy) for name, (folder, policy) in _SHARED.items()}
    served.update({name: (path, "") for name, path in built_models.items()})
    config = tmp_path_factory.mktemp("rest_config") / "models.config"
    config.write_text(model_config(served))
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        f"--model_config_file={config}",
        f"--rest_api_timeout_in_ms={TIMEOUT_MS}",
        f"--rest_api_max_body_bytes={MAX_BODY_BYTES}",
        "--file_system_poll_wait_seconds=1",
        # The V2 repository tests load models built under the session's temporary directory.
        "--enable_admin_api",
        f"--model_base_path_allowlist={shared_models},{tmp_path_factory.getbasetemp()}",
    ]
    with running_server(args, f"/v1/models/{DEFAULT}") as server:
        _wait_until_available(server, list(served))
        yield server


@pytest.fixture(scope="session")
def client(rest_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=rest_server.base_url, timeout=30.0) as http:
        yield http


@pytest.fixture(scope="session")
def cors_server(shared_models: Path) -> Iterator[ServerProcess]:
    """A second server, default flags except ``--rest_api_enable_cors_support=true``."""
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        f"--model_name={DEFAULT}",
        f"--model_base_path={shared_models / 'saved_model_half_plus_two_cpu'}",
        "--rest_api_enable_cors_support=true",
    ]
    with running_server(args, f"/v1/models/{DEFAULT}") as server:
        _wait_until_available(server, [DEFAULT])
        yield server


# --- helpers ----------------------------------------------------------------------------------


def post(client: httpx.Client, path: str, body: Any, **kwargs: Any) -> httpx.Response:
    """POST ``body``: bytes/str are sent verbatim, anything else as JSON (NaN/Infinity allowed)."""
    if isinstance(body, str):
        body = body.encode()
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    return client.post(path, content=body, **kwargs)


def predict(client: httpx.Client, model: str, body: Any) -> httpx.Response:
    return post(client, f"/v1/models/{model}:predict", body)


def ok_json(response: httpx.Response) -> Any:
    """The JSON body of a 200 JSON response (fails showing the body otherwise)."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def error_of(response: httpx.Response, status: int) -> str:
    """The message of a ``{"error": ...}`` JSON response with HTTP ``status``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict) and list(body) == ["error"], body
    message = body["error"]
    assert isinstance(message, str)
    return message


def compact(text: str) -> str:
    """JSON text without whitespace (responses are pretty-printed; tests must not care)."""
    return "".join(text.split())


def assert_still_serving(client: httpx.Client) -> None:
    """A good predict on ``default`` still answers 3.0 for 2.0."""
    assert ok_json(predict(client, DEFAULT, {"instances": [2.0]})) == {"predictions": [3.0]}
