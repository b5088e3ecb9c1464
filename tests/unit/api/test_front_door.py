"""The REST front door in-process: which requests the /v1 fast path takes, which the router takes,
TF Serving's fallbacks for paths no route matches, 405 + Allow, path parameters, body limits and
middleware (over a real ServingService on the fake runtime, through httpx's ASGI transport)."""

from __future__ import annotations

import asyncio
import gzip
import json
from dataclasses import dataclass

import httpx

from pyserving.api.rest.app import RestApp
from pyserving.api.rest.asgi import ASGIApp, Receive, Scope, Send, body_limit, read_body
from pyserving.api.rest.extensions import HttpRequest, HttpResponse
from pyserving.api.rest.router import (
    BaseRoute,
    Middleware,
    asgi_route,
    json_mount,
    json_route,
    with_middleware,
)
from pyserving.errors import not_found
from pyserving.service.core import ServingService


@dataclass
class Reply:
    status: int
    body: bytes
    headers: httpx.Headers

    def json(self) -> object:
        return json.loads(self.body)


class Client:
    def __init__(self, app: ASGIApp) -> None:
        self._transport = httpx.ASGITransport(app=app)

    def __call__(self, method: str, path: str, **kwargs: object) -> Reply:
        async def send() -> Reply:
            async with httpx.AsyncClient(transport=self._transport, base_url="http://door") as h:
                r = await h.request(method, path, **kwargs)  # type: ignore[arg-type]
            return Reply(r.status_code, r.content, r.headers)

        return asyncio.run(send())


async def _echo(request: HttpRequest) -> HttpResponse:
    document = {
        "method": request.method,
        "path": request.path,
        "query": request.query,
        "params": dict(request.params),
        "body": request.body.decode(),
    }
    return HttpResponse(200, json.dumps(document).encode())


async def _missing(request: HttpRequest) -> HttpResponse:
    raise not_found(f"No thing {request.params['thing']}")


class _RawEcho:
    """A raw ASGI endpoint, as hot routes are written."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(scope, receive, body_limit(scope))
        payload = json.dumps({"params": scope["path_params"], "size": len(body)}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": payload})


def _routes() -> list[BaseRoute]:
    return [
        json_route("/things/{thing}", {"GET": _echo, "PUT": _echo}),
        json_route("/missing/{thing}", {"GET": _missing}),
        asgi_route("/raw/{a}/x/{b}", _RawEcho(), ["POST"]),
        json_route("/any{x}", _echo, literal=True),
        json_mount("/v1/extra", [json_route("/ping", {"GET": _echo})], what="extra endpoint"),
    ]


class _Tag:
    """Middleware adding a header to every response it sees."""

    def __init__(self, app: ASGIApp, value: bytes) -> None:
        self._app, self._value = app, value

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def tagged(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))  # type: ignore[call-overload]
                message["headers"] = [*headers, (b"x-tag", self._value)]
            await send(message)

        await self._app(scope, receive, tagged)  # type: ignore[arg-type]


def test_v1_models_takes_the_fast_path_in_any_case(service: ServingService) -> None:
    client = Client(RestApp(service, routes=_routes()))
    reply = client("POST", "/v1/models/m:predict", json={"instances": [[2.0]]})
    assert (reply.status, reply.json()) == (200, {"predictions": [[3.0]]})
    reply = client("POST", "/V1/MODELS/m:predict", json={"instances": [[2.0]]})
    assert (reply.status, reply.json()) == (200, {"predictions": [[3.0]]})
    reply = client("GET", "/v1/models/m?x=1")  # the query string is part of the name
    assert reply.status == 404


def test_paths_no_route_matches_fall_back_to_tf_serving(service: ServingService) -> None:
    client = Client(RestApp(service, routes=_routes()))
    reply = client("GET", "/v1/foo")
    assert (reply.status, reply.json()) == (400, {"error": "Malformed request: GET /v1/foo"})
    reply = client("GET", "/things/a/b")
    assert reply.status == 404 and reply.headers["content-type"] == "text/html"
    assert b"<TITLE>404 Not Found</TITLE>" in reply.body
    assert client("GET", "/things/a/").status == 404  # no slash redirects
    reply = client("OPTIONS", "/v1/foo", headers={"origin": "http://x"})
    assert reply.status == 200  # CORS preflight, as for any /v1 path


def test_routes_with_path_parameters_and_errors(service: ServingService) -> None:
    client = Client(RestApp(service, routes=_routes()))
    reply = client("PUT", "/things/a%20b?q=1", content=b"hello")
    assert reply.json() == {
        "method": "PUT",
        "path": "/things/a b",
        "query": "q=1",
        "params": {"thing": "a b"},
        "body": "hello",
    }
    reply = client("GET", "/missing/z")
    assert (reply.status, reply.json()) == (404, {"error": "No thing z"})
    reply = client("POST", "/raw/1/x/2", content=b"abc")
    assert reply.json() == {"params": {"a": "1", "b": "2"}, "size": 3}
    assert client("GET", "/any{x}").status == 200  # a literal path is not a pattern
    assert client("GET", "/anything").status == 404


def test_405_lists_the_declared_methods_in_order(service: ServingService) -> None:
    client = Client(RestApp(service, routes=_routes()))
    reply = client("DELETE", "/things/a")
    assert reply.status == 405 and reply.headers["allow"] == "GET, PUT"
    assert reply.json() == {"error": "Method DELETE is not allowed for /things/a; use GET, PUT"}
    assert client("HEAD", "/things/a").status == 405  # HEAD is not implied by GET
    assert client("GET", "/raw/1/x/2").headers["allow"] == "POST"


def test_a_mount_answers_json_404_under_its_prefix(service: ServingService) -> None:
    client = Client(RestApp(service, routes=_routes()))
    assert client("GET", "/v1/extra/ping").status == 200
    reply = client("GET", "/v1/extra/pong")
    assert (reply.status, reply.json()) == (404, {"error": "No extra endpoint at /v1/extra/pong"})
    reply = client("GET", "/v1/extra")  # the prefix itself is not under it: TF Serving's answer
    assert (reply.status, reply.json()) == (400, {"error": "Malformed request: GET /v1/extra"})


def test_routed_bodies_obey_the_body_limit(service: ServingService) -> None:
    client = Client(RestApp(service, routes=_routes(), max_body_bytes=100))
    reply = client("PUT", "/things/a", content=b"x" * 101)
    assert reply.status == 413
    assert reply.json() == {
        "error": "Request body is larger than the limit of 100 bytes (--rest_api_max_body_bytes)"
    }
    gzipped = {"content-encoding": "gzip"}
    bomb = gzip.compress(b"x" * 1000)
    assert len(bomb) <= 100
    assert client("PUT", "/things/a", content=bomb, headers=gzipped).status == 413
    reply = client("PUT", "/things/a", content=gzip.compress(b"12345"), headers=gzipped)
    assert reply.json()["body"] == "12345"  # type: ignore[index]


def test_middleware_on_the_router_and_on_the_whole_door(service: ServingService) -> None:
    router_tagged = RestApp(
        service, routes=_routes(), router_middleware=[Middleware(_Tag, value=b"router")]
    )
    client = Client(router_tagged)
    assert client("GET", "/things/a").headers["x-tag"] == "router"
    assert client("GET", "/v1/foo").headers["x-tag"] == "router"  # the fallback is routed too
    assert "x-tag" not in client("GET", "/v1/models/m").headers  # the fast path is not
    whole = with_middleware(RestApp(service, routes=_routes()), [Middleware(_Tag, value=b"door")])
    assert Client(whole)("GET", "/v1/models/m").headers["x-tag"] == "door"


class _Mutating:
    """A raw endpoint that changes its path parameters (they must be its own copy)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        payload = json.dumps(dict(scope["path_params"])).encode()
        scope["path_params"]["thing"] = "changed"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": payload})


def test_repeated_requests_get_the_remembered_route_with_their_own_parameters(
    service: ServingService,
) -> None:
    routes = [asgi_route("/mut/{thing}", _Mutating(), ["GET"]), *_routes()]
    client = Client(RestApp(service, routes=routes))
    for _ in range(3):  # the first time learns each path's route, the others remember it
        assert client("GET", "/mut/a").json() == {"thing": "a"}
        assert client("GET", "/mut/b").json() == {"thing": "b"}
        assert client("POST", "/raw/1/x/2", content=b"ab").json() == {
            "params": {"a": "1", "b": "2"},
            "size": 2,
        }
        reply = client("DELETE", "/mut/a")  # the same path, a method it does not serve
        assert reply.status == 405 and reply.headers["allow"] == "GET"
        assert client("GET", "/v1/extra/ping").status == 200  # under a Mount
        assert client("GET", "/v1/extra/nothing").status == 404
        assert client("GET", "/nowhere").status == 404
