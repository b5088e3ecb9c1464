"""The REST front door: TF Serving's ``/v1`` API by hand, everything else on one router.

Dispatch follows TF Serving's http_server.cc for its API: a path (with its query string) matching
``(?i)/v1/.*`` goes to the API handler, and every ``/v1`` response is JSON, errors as
``{"error": "<message>"}`` with the HTTP status of the error's code. Paths under ``/v1/models``
(any case: TF Serving's grammar) take that path at once, without a router lookup: it is the hot
path. Every other request goes to the front door's Starlette router (probes, metrics, the admin
API, later protocols; see :mod:`pyserving.api.rest.router`); what no route matches falls back to
TF Serving: the ``/v1`` handler (its ``Malformed request`` errors) or its 404 HTML page.

:meth:`RestApp.hot` tells the front door's hot lane (:mod:`pyserving.api.rest.hot`) which
requests it can answer without the ASGI machinery: ``POST``s under ``/v1/models``, and the
routes declared with a hot form; both forms of an endpoint share one answering function.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final

from pyserving.api.rest import handlers
from pyserving.api.rest.asgi import (
    BODY_LIMIT_KEY,
    BodyTooLarge,
    Receive,
    Scope,
    Send,
    read_body,
    send_response,
)
from pyserving.api.rest.errors import http_status
from pyserving.api.rest.hot import HotAnswer, HotHandler, HotRequest
from pyserving.api.rest.router import BaseRoute, Middleware, build_router
from pyserving.api.rest.routes import Action, Route, RouteError, match_route
from pyserving.codec.json_encode import encode_error
from pyserving.errors import Code, ServingError
from pyserving.observability.requests import CURRENT_API, RequestObserver
from pyserving.service.core import ServingService

logger = logging.getLogger("pyserving.rest")

_V1: Final = re.compile(r"(?i)/v1/")
_TFS_PREFIX: Final = "/v1/models"
_TFS_PREFIX_LEN: Final = len(_TFS_PREFIX)
_NO_PARAMS: Final[Mapping[str, Any]] = MappingProxyType({})
_ORIGIN_OK: Final = re.compile(rb"https?://")
_JSON: Final = (b"content-type", b"application/json")
_CORS: Final = (
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"POST, GET"),
    (b"access-control-allow-headers", b"Content-Type"),
)
_NOT_FOUND_HTML: Final = (
    b"<HTML><HEAD>\n<TITLE>404 Not Found</TITLE>\n</HEAD><BODY>\n<H1>Not Found</H1>\n"
    b"</BODY></HTML>\n"
)


_INFERENCE: Final = (Action.PREDICT, Action.CLASSIFY, Action.REGRESS)
# Request metrics name the API as TF Serving's REST handler does ("" for status and metadata);
# model runs record the gRPC names (the core methods are the same).
_API: Final = {a: a.value if a in _INFERENCE else "" for a in Action}
_RUNTIME_API: Final = {
    Action.PREDICT: "Predict",
    Action.CLASSIFY: "Classify",
    Action.REGRESS: "Regress",
}


class RestApp:
    """ASGI app serving TF Serving's REST API over one :class:`ServingService`, and ``routes``."""

    def __init__(
        self,
        service: ServingService,
        *,
        timeout_ms: int = 30_000,
        enable_cors: bool = False,
        max_body_bytes: int = 64 * 1024 * 1024,
        routes: Sequence[BaseRoute] = (),
        router_middleware: Sequence[Middleware] = (),
        observer: RequestObserver | None = None,
    ) -> None:
        """``observer`` (metrics, access log) sees every ``/v1`` request but CORS preflights.
        ``routes`` go on the router, wrapped in ``router_middleware`` (which ``/v1/models``
        requests bypass; wrap the whole app with :func:`~pyserving.api.rest.router.with_middleware`
        for middleware that must see them too)."""
        self._service = service
        self._observer = observer
        self._router = build_router(routes, self._not_routed, router_middleware)
        self._timeout_ms = max(timeout_ms, 0)
        self._max_body = max_body_bytes
        self._headers: list[tuple[bytes, bytes]] = [_JSON]
        if enable_cors:
            self._headers.extend(_CORS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await _lifespan(receive, send)
            return
        raw_path: bytes | None = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else scope["path"]
        if path.startswith(_TFS_PREFIX) or path[:_TFS_PREFIX_LEN].lower() == _TFS_PREFIX:
            path = _with_query(path, scope.get("query_string", b""))
            await self._v1(scope["method"], path, scope, receive, send)
            return
        scope[BODY_LIMIT_KEY] = self._max_body
        await self._router(scope, receive, send)

    async def _not_routed(self, scope: Scope, receive: Receive, send: Send) -> None:
        """What TF Serving answers for a path no route matches."""
        raw_path: bytes | None = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else scope["path"]
        path = _with_query(path, scope.get("query_string", b""))
        if _V1.match(path):
            await self._v1(scope["method"], path, scope, receive, send)
        else:
            await send_response(send, 404, _NOT_FOUND_HTML, [(b"content-type", b"text/html")])

    def hot(self, method: str, path: str) -> tuple[HotHandler, Mapping[str, Any]] | None:
        """The hot handler for ``method path`` (see :mod:`pyserving.api.rest.hot`): TF Serving's
        API under ``/v1/models``, else the router's route's, if it has one."""
        if path.startswith(_TFS_PREFIX) or path[:_TFS_PREFIX_LEN].lower() == _TFS_PREFIX:
            return (self._v1_hot, _NO_PARAMS) if method == "POST" else None
        return self._router.hot(method, path)

    async def _v1_hot(self, request: HotRequest) -> HotAnswer:
        path = _with_query(request.path, request.query)
        status, payload = await self._answer(request.method, path, request.body)
        return status, self._headers, payload

    async def _v1(self, method: str, path: str, scope: Scope, receive: Receive, send: Send) -> None:
        if method == "OPTIONS":
            await self._preflight(scope, send)
            return
        if method == "POST":
            max_body = self._max_body
            status, payload = await self._answer(
                method, path, lambda: read_body(scope, receive, max_body)
            )
        else:
            status, payload = await self._answer(method, path, b"")
        await send_response(send, status, payload, self._headers)

    async def _answer(
        self, method: str, path: str, body: bytes | Callable[[], Awaitable[bytes]]
    ) -> tuple[int, bytes]:
        """The status and body answering ``method path``; ``body``: the request body, or how to
        read it (once the route is known to be good)."""
        observer = self._observer
        started = observer.begin() if observer is not None else 0
        # What the observer is told if the request never gets an answer (the client went away).
        route: Route | None = None
        status, code = 499, Code.CANCELLED
        try:
            try:
                route = match_route(method, path)
                if observer is not None:
                    CURRENT_API.set(_RUNTIME_API.get(route.action, ""))
                if not isinstance(body, bytes):
                    body = await body()
                payload = await self._dispatch(route, body)
                status, code = 200, Code.OK
            except RouteError as exc:
                status, payload, code = http_status(exc.code), b"", exc.code
            except BodyTooLarge as exc:
                status, payload, code = 413, encode_error(exc.message), exc.code
            except ServingError as exc:
                status, payload, code = http_status(exc.code), encode_error(exc.message), exc.code
            except Exception as exc:
                logger.exception("Unexpected error serving %s %s", method, path)
                message = f"Internal error: {type(exc).__name__}: {exc}"
                status, payload, code = 500, encode_error(message), Code.INTERNAL
            return status, payload
        finally:
            if observer is not None:
                model, api = ("", "") if route is None else (route.name, _API[route.action])
                observer.end_rest(method, path, model, api, code, status, started)

    async def _dispatch(self, route: Route, body: bytes) -> bytes:
        service, timeout = self._service, self._timeout_ms
        if route.action is Action.PREDICT:
            return await handlers.predict(service, route, body, timeout)
        if route.action is Action.CLASSIFY:
            return await handlers.classify(service, route, body, timeout)
        if route.action is Action.REGRESS:
            return await handlers.regress(service, route, body, timeout)
        if route.action is Action.METADATA:
            return handlers.metadata(service, route)
        return handlers.status(service, route)

    async def _preflight(self, scope: Scope, send: Send) -> None:
        origin = next((v for k, v in scope["headers"] if k == b"origin"), b"")
        if _ORIGIN_OK.match(origin):
            await send_response(send, 200, b"", [*_CORS])
        else:
            await send_response(send, 400, b"", [])


def _with_query(path: str, query: bytes) -> str:
    """The path as TF Serving's grammar sees it: with its query string, if any."""
    return f"{path}?{query.decode('latin-1')}" if query else path


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
