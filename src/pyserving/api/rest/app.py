"""The REST adapter: a bare ASGI application (no framework on the hot path).

Dispatch follows TF Serving's http_server.cc: a path (with its query string) matching
``(?i)/v1/.*`` goes to the API handler, anything else is a 404 with an HTML body. Every ``/v1``
response is JSON, errors as ``{"error": "<message>"}`` with the HTTP status of the error's code.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from typing import Any, Final

from pyserving.api.rest import handlers
from pyserving.api.rest.errors import http_status
from pyserving.api.rest.extensions import HttpRequest, HttpResponse, RouteHandler
from pyserving.api.rest.routes import Action, Route, RouteError, match_route
from pyserving.codec.json_encode import encode_error
from pyserving.errors import Code, ServingError
from pyserving.observability.requests import CURRENT_API, RequestObserver
from pyserving.service.core import ServingService

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

logger = logging.getLogger("pyserving.rest")

_V1: Final = re.compile(r"(?i)/v1/")
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


class BodyTooLarge(ServingError):
    def __init__(self, limit: int) -> None:
        super().__init__(
            Code.RESOURCE_EXHAUSTED,
            f"Request body is larger than the limit of {limit} bytes (--rest_api_max_body_bytes)",
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
    """ASGI app serving TF Serving's REST API over one :class:`ServingService`."""

    def __init__(
        self,
        service: ServingService,
        *,
        timeout_ms: int = 30_000,
        enable_cors: bool = False,
        max_body_bytes: int = 64 * 1024 * 1024,
        routes: Mapping[str, RouteHandler] | None = None,
        prefix_routes: Sequence[tuple[str, RouteHandler]] = (),
        observer: RequestObserver | None = None,
    ) -> None:
        """``observer`` (metrics, access log) sees every ``/v1`` request but CORS preflights."""
        self._service = service
        self._observer = observer
        self._routes = dict(routes or {})
        self._prefix_routes = tuple(prefix_routes)
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
        query: bytes = scope.get("query_string", b"")
        extension = self._extension(path)
        if extension is not None:
            await self._serve_extension(extension, path, query, scope, receive, send)
            return
        if query:
            path = f"{path}?{query.decode('latin-1')}"
        if _V1.match(path):
            await self._v1(scope["method"], path, scope, receive, send)
        else:
            await self._send(send, 404, _NOT_FOUND_HTML, [(b"content-type", b"text/html")])

    def _extension(self, path: str) -> RouteHandler | None:
        handler = self._routes.get(path)
        if handler is None:
            for prefix, candidate in self._prefix_routes:
                if path.startswith(prefix):
                    return candidate
        return handler

    async def _serve_extension(
        self,
        handler: RouteHandler,
        path: str,
        query: bytes,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        method: str = scope["method"]
        try:
            body = await self._read_body(scope, receive) if method in ("POST", "PUT") else b""
            request = HttpRequest(method, path, query.decode("latin-1"), scope["headers"], body)
            response = await handler(request)
        except BodyTooLarge as exc:
            response = HttpResponse(413, encode_error(exc.message))
        except ServingError as exc:
            response = HttpResponse(http_status(exc.code), encode_error(exc.message))
        except Exception as exc:
            logger.exception("Unexpected error serving %s %s", method, path)
            response = HttpResponse(500, encode_error(f"Internal error: {exc}"))
        headers = [(b"content-type", response.content_type), *response.headers]
        await self._send(send, response.status, response.body, headers)

    async def _v1(self, method: str, path: str, scope: Scope, receive: Receive, send: Send) -> None:
        if method == "OPTIONS":
            await self._preflight(scope, send)
            return
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
                body = await self._read_body(scope, receive) if method == "POST" else b""
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
            await self._send(send, status, payload, self._headers)
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

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        limit = self._max_body
        encoding = b""
        for key, value in scope["headers"]:
            if key == b"content-length" and value.isdigit() and int(value) > limit:
                raise BodyTooLarge(limit)
            if key == b"content-encoding":
                encoding = value.lower()
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ServingError(Code.CANCELLED, "Client disconnected")
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        if b"gzip" in encoding:
            body = _gunzip(body, limit)
        return body

    async def _preflight(self, scope: Scope, send: Send) -> None:
        origin = next((v for k, v in scope["headers"] if k == b"origin"), b"")
        if _ORIGIN_OK.match(origin):
            await self._send(send, 200, b"", [*_CORS])
        else:
            await self._send(send, 400, b"", [])

    @staticmethod
    async def _send(
        send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
    ) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _gunzip(body: bytes, limit: int) -> bytes:
    """Decompress a gzip body, refusing to inflate past ``limit`` (a gzip bomb is a 413)."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise ServingError(Code.INVALID_ARGUMENT, f"Failed to decompress gzip body: {exc}") from exc
    if len(out) > limit or inflater.unconsumed_tail:
        raise BodyTooLarge(limit)
    return out


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
