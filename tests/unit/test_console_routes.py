"""The console's routes in-process: the models document and the authorization hook (through
httpx's ASGI transport over a Starlette router, with small stand-ins for the service)."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any, cast

import httpx
import pytest
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Router

from pyserving.console import MetricsWindow, console_routes
from pyserving.dtypes import DataType
from pyserving.errors import Code, not_found
from pyserving.lifecycle.state import ServableState, VersionStatus
from pyserving.management.controller import ConfigController
from pyserving.protos import model_server_config_pb2
from pyserving.service.core import MetadataResult, ServingService
from pyserving.service.types import ModelSpec
from pyserving.signature import Signature, TensorSpec

SIGNATURES = {
    "serving_default": Signature(
        "serving_default",
        {"x": TensorSpec("x:0", DataType.DT_FLOAT, (-1, 3))},
        {"y": TensorSpec("y:0", DataType.DT_INT64, None)},
    ),
    "__saved_model_init_op": Signature("__saved_model_init_op", {}, {}, calls=frozenset()),
}


class FakeService:
    def __init__(self) -> None:
        self.metadata_calls = 0

    def model_status(self, name: str, version: int | None = None) -> list[VersionStatus]:
        if name == "new":
            raise not_found("Could not find any versions of model new")
        return [
            VersionStatus(3, ServableState.LOADING),
            VersionStatus(2, ServableState.AVAILABLE),
            VersionStatus(1, ServableState.END, Code.NOT_FOUND, "no SavedModel"),
        ]

    def metadata(self, spec: ModelSpec) -> MetadataResult:
        self.metadata_calls += 1
        assert spec.version is not None
        return MetadataResult(spec.name, spec.version, SIGNATURES)


class FakeController:
    config_file = "/etc/models.config"

    def current(self) -> model_server_config_pb2.ModelServerConfig:
        config = model_server_config_pb2.ModelServerConfig()
        entry = config.model_config_list.config.add(name="m", base_path="/models/m")
        entry.model_platform = "tensorflow"
        entry.version_labels["stable"] = 2
        config.model_config_list.config.add(name="new", base_path="/models/new")
        return config


def get(router: Router, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=router)
        async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
            return await client.get(path, headers=headers)

    return asyncio.run(send())


def router(service: FakeService, **kwargs: Any) -> Router:
    routes = console_routes(
        cast(ServingService, service),
        cast(ConfigController, FakeController()),
        MetricsWindow(),
        **kwargs,
    )
    return Router(routes=routes)


def test_models_document() -> None:
    service = FakeService()
    app = router(service)
    document = get(app, "/console/api/models").json()
    assert document["config_file"] == "/etc/models.config"
    m, new = document["models"]
    assert (m["name"], m["platform"], m["base_path"]) == ("m", "tensorflow", "/models/m")
    assert m["labels"] == {"stable": 2}
    assert [(v["version"], v["state"]) for v in m["versions"]] == [
        (3, "LOADING"),
        (2, "AVAILABLE"),
        (1, "END"),
    ]
    assert m["versions"][2]["error_code"] == "NOT_FOUND"
    assert m["versions"][2]["error_message"] == "no SavedModel"
    # Signatures of AVAILABLE versions only, without TensorFlow's internal entries.
    assert "signatures" not in m["versions"][0]
    assert m["versions"][1]["signatures"] == [
        {
            "key": "serving_default",
            "method_name": "tensorflow/serving/predict",
            "inputs": [{"alias": "x", "name": "x:0", "dtype": "DT_FLOAT", "shape": [-1, 3]}],
            "outputs": [{"alias": "y", "name": "y:0", "dtype": "DT_INT64", "shape": None}],
        }
    ]
    # A model just added, with no version known yet.
    assert new["versions"] == []
    assert new["platform"] == "tensorflow"
    # A loaded version's signatures are read once.
    get(app, "/console/api/models")
    assert service.metadata_calls == 1


def needs_token(request: Request) -> Collection[str]:
    token = request.headers.get("authorization", "")
    if token == "Bearer viewer":
        return {"view", "predict"}
    if token == "Bearer nobody":
        return set()
    raise HTTPException(401, "A token is required", {"www-authenticate": "Bearer"})


@pytest.mark.parametrize("path", ["/console/api/models", "/console/api/metrics"])
def test_permissions_hook_guards_the_json(path: str) -> None:
    app = router(FakeService(), permissions=needs_token)
    missing = get(app, path)
    assert missing.status_code == 401
    assert missing.json() == {"error": "A token is required"}
    assert missing.headers["www-authenticate"] == "Bearer"
    refused = get(app, path, {"authorization": "Bearer nobody"})
    assert refused.status_code == 403
    assert "may not view" in refused.json()["error"]
    assert get(app, path, {"authorization": "Bearer viewer"}).status_code == 200


def test_models_document_lists_what_the_caller_may_do() -> None:
    app = router(FakeService(), permissions=needs_token, protocols=("tfserving",))
    document = get(app, "/console/api/models", {"authorization": "Bearer viewer"}).json()
    assert document["permissions"] == ["predict", "view"]
    assert document["protocols"] == ["tfserving"]
    assert get(router(FakeService()), "/console/api/models").json()["permissions"] == [
        "admin",
        "predict",
        "view",
    ]


def test_pages_need_no_permission() -> None:
    # The pages hold no data: they load, then ask for a token when the JSON answers 401.
    app = router(FakeService(), permissions=needs_token)
    for path in ("/", "/console/", "/demo/digits"):
        assert get(app, path).status_code == 200
