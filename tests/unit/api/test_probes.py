"""Liveness and readiness probes (pyserving extension), over a stand-in core."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
import orjson

from pyserving.api.rest.probes import Probes
from pyserving.api.rest.router import build_router
from pyserving.errors import Code, not_found
from pyserving.lifecycle.state import ServableState, VersionStatus

_S = ServableState


class _Core:
    def __init__(self, statuses: dict[str, list[VersionStatus]]) -> None:
        self.statuses = statuses

    def is_ready(self) -> bool:
        return all(
            any(s.state is _S.AVAILABLE for s in versions) for versions in self.statuses.values()
        )

    def model_names(self) -> list[str]:
        return list(self.statuses)

    def model_status(self, name: str, version: int | None = None) -> list[VersionStatus]:
        if not self.statuses[name]:
            raise not_found(f"Could not find any versions of model {name}")
        return self.statuses[name]


@dataclass
class Response:
    status: int
    body: bytes


def _get(probes: Probes, path: str, method: str = "GET") -> Response:
    """``method path`` through a router holding just the probe routes."""
    transport = httpx.ASGITransport(app=build_router(probes.routes(), _unrouted))

    async def call() -> Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://probe") as http:
            reply = await http.request(method, path)
        return Response(reply.status_code, reply.content)

    return asyncio.run(call())


async def _unrouted(scope: object, receive: object, send: object) -> None:
    raise AssertionError("no probe route matched")


def test_ready_when_every_model_has_an_available_version() -> None:
    core = _Core({"a": [VersionStatus(2, _S.LOADING), VersionStatus(1, _S.AVAILABLE)]})
    probes = Probes(core)
    for path in ("/readyz", "/v2/health/ready"):
        response = _get(probes, path)
        assert (response.status, orjson.loads(response.body)) == (200, {"ready": True})
    for path in ("/healthz", "/v2/health/live"):
        assert _get(probes, path).status == 200


def test_not_ready_names_what_is_missing() -> None:
    core = _Core(
        {
            "a": [VersionStatus(1, _S.AVAILABLE)],
            "b": [VersionStatus(3, _S.LOADING)],
            "c": [],
            "d": [VersionStatus(1, _S.END, Code.NOT_FOUND, "no model")],
        }
    )
    probes = Probes(core)
    response = _get(probes, "/readyz")
    assert response.status == 503
    assert orjson.loads(response.body) == {
        "ready": False,
        "shutting_down": False,
        "unavailable_models": {
            "b": [{"version": 3, "state": "LOADING", "error": ""}],
            "c": [],
            "d": [{"version": 1, "state": "END", "error": "NOT_FOUND: no model"}],
        },
    }
    assert _get(probes, "/healthz").status == 200


def test_shutdown_makes_readiness_fail_but_not_liveness() -> None:
    probes = Probes(_Core({"a": [VersionStatus(1, _S.AVAILABLE)]}))
    probes.begin_shutdown()
    response = _get(probes, "/v2/health/ready")
    assert response.status == 503
    assert orjson.loads(response.body) == {
        "ready": False,
        "shutting_down": True,
        "unavailable_models": {},
    }
    assert _get(probes, "/v2/health/live").status == 200


def test_probes_answer_get_and_head_only() -> None:
    probes = Probes(_Core({"a": [VersionStatus(1, _S.AVAILABLE)]}))
    assert _get(probes, "/healthz", "HEAD").status == 200
    response = _get(probes, "/readyz", "POST")
    assert response.status == 405
    assert orjson.loads(response.body) == {
        "error": "Method POST is not allowed for /readyz; use GET, HEAD"
    }
