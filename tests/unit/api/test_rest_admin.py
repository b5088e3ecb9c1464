"""The REST admin routes in-process: URL shapes, JSON bodies, status codes and error bodies, over a
ConfigController driving a real ServerCore with fake-runtime models."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from pyserving.api.rest.admin import PREFIX, admin_routes
from pyserving.api.rest.app import RestApp
from pyserving.config.models import read_model_server_config
from pyserving.lifecycle import ServableState
from pyserving.service.core import ServingService
from pyserving.service.execution import ThreadRunner
from tests.unit.lifecycle.lifecycle_support import eventually, fake_model, served, state_of
from tests.unit.management.management_support import config_of, controlled, entry


class Admin:
    """Requests through a real RestApp (as the server wires it), over httpx's ASGI transport."""

    def __init__(self, app: RestApp) -> None:
        self._transport = httpx.ASGITransport(app=app)

    def __call__(self, method: str, path: str, body: Any = None, query: str = "") -> Response:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        url = PREFIX + path + (f"?{query}" if query else "")
        return asyncio.run(self._send(method, url, content if body is not None else b""))

    async def _send(self, method: str, url: str, content: bytes) -> Response:
        async with httpx.AsyncClient(transport=self._transport, base_url="http://admin") as http:
            reply = await http.request(method, url, content=content)
        return Response(reply.status_code, reply.content, reply.headers)


@dataclass
class Response:
    status: int
    body: bytes
    headers: httpx.Headers


def _json(response: Response, status: int = 200) -> Any:
    assert response.status == status, response.body
    assert response.headers["content-type"] == "application/json"
    return json.loads(response.body)


def _error(response: Response, status: int) -> str:
    body = _json(response, status)
    assert list(body) == ["error"]
    return str(body["error"])


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Admin, Any, Path, Path]]:
    for version in (1, 2):
        fake_model(tmp_path / "a", version)
    fake_model(tmp_path / "b", 1)
    path = tmp_path / "models.config"
    startup = config_of(entry("a", tmp_path / "a", policy="all"))
    with (
        controlled(startup, config_file=path) as (controller, core, _),
        ThreadPoolExecutor(max_workers=2) as executor,
    ):
        # Ready means one version is AVAILABLE; the label tests need both.
        eventually(
            lambda: all(state_of(core, "a", v) is ServableState.AVAILABLE for v in (1, 2)),
            what="both versions of a AVAILABLE",
        )
        service = ServingService(core, ThreadRunner(executor))
        app = RestApp(service, routes=admin_routes(controller))
        yield Admin(app), core, tmp_path, path


def test_models_crud(setup: tuple[Admin, Any, Path, Path]) -> None:
    admin, core, tmp_path, path = setup
    a = {
        "name": "a",
        "base_path": str(tmp_path / "a"),
        "platform": "fake",
        "version_policy": {"all": {}},
        "version_labels": {},
    }
    assert _json(admin("GET", "models")) == {"models": [a], "config_file": str(path)}
    assert _json(admin("GET", "models/a")) == a
    b = {"base_path": str(tmp_path / "b"), "platform": "fake"}
    created = _json(admin("PUT", "models/b", b), 201)
    assert created["version_policy"] == {"latest": {"num_versions": 1}}
    assert served(core, "b") == 1  # AVAILABLE once the PUT has answered
    policy = {"latest": {"num_versions": 2}}
    replaced = _json(admin("PUT", "models/b", {**b, "name": "b", "version_policy": policy}))
    assert replaced["version_policy"] == policy
    assert [m["name"] for m in _json(admin("GET", "models"))["models"]] == ["a", "b"]
    assert _json(admin("DELETE", "models/a"))["name"] == "a"
    assert [e.name for e in read_model_server_config(str(path)).model_config_list.config] == ["b"]
    assert _error(admin("GET", "models/a"), 404) == "Model a is not in the model config"


def test_labels(setup: tuple[Admin, Any, Path, Path]) -> None:
    admin, core, _, path = setup
    assert _json(admin("PUT", "models/a/labels/stable", {"version": 1}))["version_labels"] == {
        "stable": 1
    }
    assert _json(admin("PUT", "models/a/labels/canary", {"version": "2"}))["version_labels"] == {
        "canary": 2,
        "stable": 1,
    }
    assert (served(core, "a", label="stable"), served(core, "a", label="canary")) == (1, 2)
    assert dict(read_model_server_config(str(path)).model_config_list.config[0].version_labels) == {
        "stable": 1,
        "canary": 2,
    }
    assert _error(admin("PUT", "models/a/labels/stable", {"version": 7}), 400) == (
        "Request to assign label to version 7 of model a, which is not currently available for "
        "inference"
    )
    assert _json(admin("DELETE", "models/a/labels/canary"))["version_labels"] == {"stable": 1}
    assert _error(admin("DELETE", "models/a/labels/canary"), 404) == (
        "Model a has no version label canary"
    )


@pytest.mark.parametrize(
    ("method", "path", "body", "query", "status", "message"),
    [
        ("GET", "", None, "", 404, "No admin endpoint at /v1/admin/"),
        ("GET", "models/a/versions", None, "", 404, "No admin endpoint at /v1/admin/models/a/ve"),
        ("POST", "models/a", {}, "", 405, "Method POST is not allowed for /v1/admin/models/a; "),
        ("PUT", "models/b", b"{", "", 400, "The request body is not valid JSON: "),
        ("PUT", "models/b", [], "", 400, "The request body must be a JSON object"),
        ("PUT", "models/b", {"path": "/x"}, "", 400, "Unknown field(s) in the model config: path"),
        ("PUT", "models/b", {"base_path": "rel"}, "", 400, "Expected model b to have an absolute"),
        ("PUT", "models/b", {"name": "c", "base_path": "/x"}, "", 400, "The body names model"),
        (
            "PUT",
            "models/b",
            {"base_path": "/x", "version_policy": {"newest": {}}},
            "",
            400,
            "Invalid ",
        ),
        (
            "PUT",
            "models/b",
            {"base_path": "/x", "version_policy": {"latest": 3}},
            "",
            400,
            'Invalid "version_policy": {"latest":3}. Expected one of {"latest": {"num_versions": '
            'N}}, {"all": {}} or {"specific": {"versions": [1, 2]}}.',
        ),
        (
            "PUT",
            "models/b",
            {"base_path": "/does/not/exist"},
            "",
            404,
            "Could not find base path /does/not/exist for model b: the path does not exist.",
        ),
        ("PUT", "models/b", {"base_path": "/x", "platform": "torch"}, "", 400, "Model b requests"),
        ("PUT", "models/a/labels/x", {"version": True}, "", 400, '"version" must be an int64'),
        ("PUT", "models/a/labels/x", {"v": 1}, "", 400, 'The body must be {"version"'),
        ("DELETE", "models/zz", None, "", 404, "Model zz is not in the model config"),
        ("DELETE", "models/a", None, "timeout_seconds=x", 400, "timeout_seconds must be"),
        # Found by schemathesis: a deadline past the platform's time range was a 500.
        ("DELETE", "models/a", None, "timeout_seconds=7e14", 400, "timeout_seconds must be"),
        ("PUT", "models/a/labels/x", {"version": 1}, "timeout_seconds=1e306", 400, "timeout_s"),
    ],
)
def test_errors(
    setup: tuple[Admin, Any, Path, Path],
    method: str,
    path: str,
    body: Any,
    query: str,
    status: int,
    message: str,
) -> None:
    admin, core, _, config_path = setup
    before = config_path.read_bytes() if config_path.exists() else None
    assert _error(admin(method, path, body, query), status).startswith(message)
    assert core.model_names() == ["a"]
    assert (config_path.read_bytes() if config_path.exists() else None) == before


def test_method_not_allowed_lists_the_allowed_ones(setup: tuple[Admin, Any, Path, Path]) -> None:
    admin = setup[0]
    response = admin("PATCH", "models/a/labels/x")
    assert response.status == 405 and response.headers["allow"] == "PUT, DELETE"
