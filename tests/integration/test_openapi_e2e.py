"""The OpenAPI document: served at /openapi.json, equal to docs/openapi.json, valid OpenAPI, and
true of a live server (schemathesis generates requests from it; no answer may be a 5xx, and every
status, content type, header and body must be one the document declares).

``PYSERVING_SCHEMATHESIS_EXAMPLES`` random cases per operation (``make test``: 5; ``make fuzz``:
200, plus stateful sequences), beside schemathesis' examples and schema-edge ("coverage") cases.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openapi_spec_validator import validate

from tests.integration.conftest import DEFAULT, model_config
from tests.integration.harness import BIN, ServerProcess, running_server

pytestmark = pytest.mark.slow

DOCS_COPY = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
CONFIG = Path(__file__).resolve().parent / "schemathesis.toml"  # why 504 is not a failure
EXAMPLES = int(os.environ.get("PYSERVING_SCHEMATHESIS_EXAMPLES", "5"))
# Stateful sequences (links between operations) only in `make fuzz`: they double the time.
PHASES = os.environ.get("PYSERVING_SCHEMATHESIS_PHASES", "examples,coverage,fuzzing")
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)


@pytest.fixture(scope="module")
def api_server(
    shared_models: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A server of its own: schemathesis may delete and unload its models."""
    folder = tmp_path_factory.mktemp("openapi")
    config = folder / "models.config"
    served = {
        DEFAULT: (shared_models / "saved_model_half_plus_two_cpu", ""),
        "half_plus_three": (shared_models / "saved_model_half_plus_three", ""),
    }
    config.write_text(model_config(served))
    monitoring = folder / "monitoring.config"
    monitoring.write_text(
        'prometheus_config { enable: true path: "/monitoring/prometheus/metrics" }\n'
    )
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        f"--model_config_file={config}",
        f"--monitoring_config_file={monitoring}",
        "--enable_admin_api",
        "--enable_console",
        f"--model_base_path_allowlist={shared_models}",
        "--rest_api_timeout_in_ms=10000",
        "--rest_api_max_body_bytes=1048576",
    ]
    with running_server(args, f"/v1/models/{DEFAULT}") as server:
        yield server


@pytest.fixture(scope="module")
def served_document(api_server: ServerProcess) -> dict[str, object]:
    response = httpx.get(api_server.base_url + "/openapi.json", timeout=30.0)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    document: dict[str, object] = response.json()
    return document


def test_the_served_document_is_the_docs_copy(served_document: dict[str, object]) -> None:
    assert served_document == json.loads(DOCS_COPY.read_text()), (
        "docs/openapi.json differs from the served document: run `make openapi`"
    )


def test_the_document_is_valid_openapi(served_document: dict[str, object]) -> None:
    validate(served_document)  # raises OpenAPIValidationError


def test_the_document_covers_every_protocol(served_document: dict[str, object]) -> None:
    paths = served_document["paths"]
    assert isinstance(paths, dict)
    for path in (
        "/v1/models/{model}:predict",
        "/v1/models/{model}/labels/{label}/metadata",
        "/v2/models/{model}/versions/{version}/infer",
        "/v2/repository/models/{model}/load",
        "/v1/admin/models/{model}/labels/{label}",
        "/readyz",
        "/openapi.json",
        "/console/api/models",
    ):
        assert path in paths
    infer = paths["/v2/models/{model}/infer"]["post"]["requestBody"]["content"]
    assert set(infer) == {"application/json", "application/octet-stream"}


def test_live_server_conforms_to_its_document(api_server: ServerProcess, tmp_path: Path) -> None:
    """schemathesis' own engine (examples, coverage of the schemas' edges, random cases)."""
    command = [
        str(BIN / "schemathesis"),
        f"--config-file={CONFIG}",
        "run",
        api_server.base_url + "/openapi.json",
        f"--checks={','.join(CHECKS)}",
        f"--max-examples={EXAMPLES}",
        f"--phases={PHASES}",
        "--seed=17",
        "--generation-database=none",
        "--no-color",
        f"--report-dir={tmp_path}",
    ]
    # In tmp_path: schemathesis keeps a cache (.schemathesis/) in its working directory.
    run = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=1800, check=False
    )
    assert run.returncode == 0, (
        f"{run.stdout}\n{run.stderr}\n--- server log ---\n{api_server.output}"
    )
    generated = re.search(r"(\d+) generated", run.stdout)
    assert generated is not None and int(generated[1]) >= 100, run.stdout
    assert api_server.process.poll() is None, "the server died under schemathesis"
