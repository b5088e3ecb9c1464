"""The token check where each front door attaches it: REST middleware around the whole app, gRPC
registration (grpc.aio in-process, so the interceptor path a real client takes); and the
console's permissions from a token's scopes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from starlette.requests import Request

from pyserving.api.grpc.authorized import authorized_registration
from pyserving.api.grpc.errors import rpc
from pyserving.api.rest.asgi import Receive, Scope, Send, send_response
from pyserving.api.rest.auth import AuthMiddleware
from pyserving.protos import get_model_status_pb2, model_service_pb2_grpc
from pyserving.security.caller import CALLER
from pyserving.security.policy import AccessPolicy
from pyserving.security.scopes import Scope as TokenScope
from pyserving.security.setup import console_permissions
from pyserving.security.tokens import entry_json, new_token

READ, INFER = new_token(), new_token()


@pytest.fixture
def policy(tmp_path: Path) -> AccessPolicy:
    path = tmp_path / "tokens.json"
    entries = [
        entry_json("reader", READ, [TokenScope.READ]),
        entry_json("inferer", INFER, [TokenScope.INFER]),
    ]
    path.write_text(json.dumps({"tokens": entries}))
    return AccessPolicy(str(path))


async def _echo_caller(scope: Scope, receive: Receive, send: Send) -> None:
    await send_response(send, 200, (CALLER.get() or "-").encode(), [])


def _rest(policy: AccessPolicy) -> httpx.AsyncClient:
    app = AuthMiddleware(_echo_caller, policy, "/metrics")
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def test_rest_middleware_refuses_or_names_the_caller(policy: AccessPolicy) -> None:
    asyncio.run(_rest_checks(policy))


async def _rest_checks(policy: AccessPolicy) -> None:
    async with _rest(policy) as client:
        missing = await client.get("/v1/models/m")
        assert (missing.status_code, missing.headers["www-authenticate"][:6]) == (401, "Bearer")
        assert "'read' scope" in missing.json()["error"]
        wrong = await client.post(
            "/v1/models/m:predict", headers={"Authorization": f"Bearer {READ}"}
        )
        assert wrong.status_code == 403
        ok = await client.get("/v1/models/m", headers={"Authorization": f"bearer {READ}"})
        assert (ok.status_code, ok.text) == (200, "reader")
        assert (await client.get("/readyz")).text == "-"  # open: never checked


class _Status(model_service_pb2_grpc.ModelServiceServicer):
    @rpc
    async def GetModelStatus(
        self, request: get_model_status_pb2.GetModelStatusRequest, context: Any
    ) -> get_model_status_pb2.GetModelStatusResponse:
        response = get_model_status_pb2.GetModelStatusResponse()
        response.model_version_status.add(version=1 if CALLER.get() == "reader" else 0)
        return response


def test_grpc_registration_checks_every_method(policy: AccessPolicy) -> None:
    asyncio.run(_grpc_checks(policy))


async def _grpc_checks(policy: AccessPolicy) -> None:
    server = grpc.aio.server()
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(
        _Status(),  # type: ignore[abstract]
        authorized_registration(server, policy),
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        await _call_status(port)
    finally:
        await server.stop(None)


async def _call_status(grpc_port: int) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        stub = model_service_pb2_grpc.ModelServiceStub(channel)
        request = get_model_status_pb2.GetModelStatusRequest()
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetModelStatus(request)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetModelStatus(request, metadata=(("authorization", f"Bearer {INFER}"),))
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        reply = await stub.GetModelStatus(request, metadata=(("authorization", f"Bearer {READ}"),))
        assert reply.model_version_status[0].version == 1  # the servicer saw the caller


def test_console_permissions_follow_the_token(policy: AccessPolicy) -> None:
    def request(token: str | None) -> Request:
        headers = [] if token is None else [(b"authorization", f"Bearer {token}".encode())]
        return Request({"type": "http", "headers": headers})

    allowed = console_permissions(policy, admin=True)
    assert allowed(request(READ)) == ["view"]
    assert allowed(request(INFER)) == ["predict"]
    assert allowed(request(None)) == []
    open_policy = AccessPolicy(None)
    assert console_permissions(open_policy, admin=False)(request(None)) == ["predict", "view"]
    assert console_permissions(open_policy, admin=True)(request(None)) == [
        "admin",
        "predict",
        "view",
    ]
