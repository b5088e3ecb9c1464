"""The REST front door's router: every route beside TF Serving's ``/v1`` API.

One :class:`starlette.routing.Router` serves the probes, the Prometheus page, the admin API and
whatever later features add (the V2 protocol, a console, static files): path parameters
(``/models/{name}``), ``Mount`` for prefixes, 405 with an ``Allow`` header, and middleware.
:class:`~pyserving.api.rest.app.RestApp` hands it every request outside ``/v1/models`` (TF
Serving's grammar, dispatched by hand for speed); what no route matches falls back to TF Serving's
behaviour (``/v1/...``: the TF Serving handler's errors; anything else: its 404 HTML page).

How a feature contributes routes
--------------------------------
A feature module exposes a function returning ``list[starlette.routing.BaseRoute]`` (for example
:func:`pyserving.api.rest.admin.admin_routes`), and :func:`pyserving.server.rest_routes` lists it
once; routes are tried in that order, the first match wins. Three kinds of route:

* :func:`json_route`: ``async def handler(request: HttpRequest) -> HttpResponse`` per method; the
  body is read (with the front door's limit, gzip decoded) for POST/PUT/PATCH, path parameters are
  in ``request.params``, and a raised ServingError becomes ``{"error": message}`` with the HTTP
  status of its code. For everything that is not hot.
* :func:`asgi_route`: a raw ASGI app (hot endpoints: no request object is built). It reads the
  body with :func:`pyserving.api.rest.asgi.read_body` and
  :func:`~pyserving.api.rest.asgi.body_limit`, and finds path parameters in
  ``scope["path_params"]``.
* :func:`json_mount`: a prefix with its own routes and a JSON 404 for paths under it that none
  matches (``Mount`` also takes any ASGI app).

Every route answers a method it does not serve with 405 ``{"error": ...}`` and ``Allow`` listing
its methods in the order declared. Middleware (``starlette.middleware.Middleware``) can wrap one
route (``middleware=``), the router (:func:`build_router`), or the whole front door,
``/v1`` included (:func:`with_middleware`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Match, Mount, Route, Router

from pyserving.api.rest.asgi import (
    ASGIApp,
    BodyTooLarge,
    Receive,
    Scope,
    Send,
    body_limit,
    read_body,
    send_response,
)
from pyserving.api.rest.errors import http_status
from pyserving.api.rest.extensions import HttpRequest, HttpResponse, RouteHandler
from pyserving.api.rest.hot import HotHandler
from pyserving.codec.json_encode import encode_error
from pyserving.errors import Code, ServingError

__all__ = [
    "BaseRoute",
    "Handler",
    "JsonEndpoint",
    "MethodRoute",
    "Middleware",
    "RememberingRouter",
    "asgi_route",
    "build_router",
    "json_mount",
    "json_route",
    "with_middleware",
]

logger = logging.getLogger("pyserving.rest")

Handler = RouteHandler

_JSON: Final = (b"content-type", b"application/json")
_BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})


class MethodRoute(Route):
    """A ``Route`` to an ASGI app whose 405 answers like the rest of the API: a JSON error and
    ``Allow`` listing exactly the declared methods, in order (``None``: every method)."""

    def __init__(
        self,
        path: str,
        app: ASGIApp,
        methods: Sequence[str] | None,
        *,
        name: str | None = None,
        middleware: Sequence[Middleware] = (),
        hot: HotHandler | None = None,
    ) -> None:
        super().__init__(path, app, methods=methods, name=name)
        # As given, even a plain function (Starlette would wrap one as ``request -> response``),
        # and without the HEAD Starlette adds beside GET: a method is served only if declared.
        self.app = app
        for cls, args, kwargs in reversed(middleware):
            self.app = cls(self.app, *args, **kwargs)
        # The hot lane skips the route's middleware: a route with some is never hot.
        self.hot = None if middleware else hot
        self.methods = None if methods is None else {m.upper() for m in methods}
        self._allow = ", ".join(m.upper() for m in methods or ())

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.methods is None or scope["method"] in self.methods:
            await self.app(scope, receive, send)
            return
        message = f"Method {scope['method']} is not allowed for {scope['path']}; use {self._allow}"
        headers = [_JSON, (b"allow", self._allow.encode())]
        await send_response(send, 405, encode_error(message), headers)


class JsonEndpoint:
    """An ASGI app running one :data:`Handler` per method (``None``: one for every method)."""

    def __init__(self, handlers: Mapping[str, Handler] | Handler) -> None:
        self._by_method: Mapping[str, Handler] = handlers if isinstance(handlers, Mapping) else {}
        self._default = None if isinstance(handlers, Mapping) else handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        path: str = scope["path"]
        try:
            handler = self._by_method.get(method, self._default)
            if handler is None:  # only reachable outside a MethodRoute
                raise ServingError(Code.UNIMPLEMENTED, f"Method {method} is not served here")
            limit = body_limit(scope)
            body = await read_body(scope, receive, limit) if method in _BODY_METHODS else b""
            query = scope.get("query_string", b"").decode("latin-1")
            params = scope.get("path_params", {})
            request = HttpRequest(method, path, query, scope["headers"], body, params)
            response = await handler(request)
        except BodyTooLarge as exc:
            response = HttpResponse(413, encode_error(exc.message))
        except ServingError as exc:
            response = HttpResponse(http_status(exc.code), encode_error(exc.message))
        except Exception as exc:
            logger.exception("Unexpected error serving %s %s", method, path)
            response = HttpResponse(500, encode_error(f"Internal error: {exc}"))
        headers = [(b"content-type", response.content_type), *response.headers]
        await send_response(send, response.status, response.body, headers)


def json_route(
    path: str,
    handlers: Mapping[str, Handler] | Handler,
    *,
    name: str | None = None,
    middleware: Sequence[Middleware] = (),
    literal: bool = False,
) -> MethodRoute:
    """A route running ``handlers[method]`` (one handler: every method) on ``path``.

    ``literal``: ``path`` is matched exactly as written (a configured path: no ``{parameters}``).
    """
    methods = list(handlers) if isinstance(handlers, Mapping) else None
    route = MethodRoute(path, JsonEndpoint(handlers), methods, name=name, middleware=middleware)
    if literal:
        route.path_regex = re.compile(f"^{re.escape(path)}$")
        route.param_convertors = {}
    return route


def asgi_route(
    path: str,
    app: ASGIApp,
    methods: Sequence[str] | None,
    *,
    name: str | None = None,
    middleware: Sequence[Middleware] = (),
    hot: HotHandler | None = None,
) -> MethodRoute:
    """A route running the raw ASGI ``app`` for ``methods`` (``None``: every method). ``hot``:
    the same endpoint for requests read whole (see :mod:`pyserving.api.rest.hot`)."""
    return MethodRoute(path, app, methods, name=name, middleware=middleware, hot=hot)


class _JsonNotFound:
    def __init__(self, what: str) -> None:
        self._what = what

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = encode_error(f"No {self._what} at {scope['path']}")
        await send_response(send, 404, message, [_JSON])


def json_mount(
    path: str,
    routes: Sequence[BaseRoute],
    *,
    what: str,
    middleware: Sequence[Middleware] = (),
) -> Mount:
    """``routes`` under the prefix ``path``; a path under it that none matches is a 404
    ``{"error": "No <what> at <path>"}`` (the prefix itself, without a slash, is not under it)."""
    router = Router(
        list(routes), redirect_slashes=False, default=_JsonNotFound(what), middleware=middleware
    )
    return Mount(path, app=router)


def build_router(
    routes: Sequence[BaseRoute], default: ASGIApp, middleware: Sequence[Middleware] = ()
) -> RememberingRouter:
    """The front door's router: ``routes`` in order, ``default`` when none matches. Slashes are
    not redirected: ``/readyz/`` is not ``/readyz``, as in TF Serving."""
    return RememberingRouter(
        list(routes), redirect_slashes=False, default=default, middleware=middleware
    )


class RememberingRouter(Router):
    """A ``Router`` that remembers, per method and path, the plain ``Route`` that matched it in
    full, so that a hot endpoint's requests skip trying the routes before it (a regex match and a
    child scope each). The routes are fixed, and which route matches a path in full depends on
    the method and the (root) path only, so a remembered answer stays right. Mounts (whose child
    scope carries more than path parameters) and partial matches (405) take Starlette's way.
    ``REMEMBERED`` bounds the memory: past it, everything is forgotten and learnt again.
    :meth:`hot` finds a path's hot handler the same way, for the front door's hot lane."""

    REMEMBERED: Final = 4096

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The hot lane (see hot()) skips the router's middleware: with some, nothing is hot.
        self.hot_lane = not kwargs.get("middleware")
        # (method, path, root path) -> the route and its path parameters, or None: Starlette's
        # way (no route, a Mount, or only a partial match).
        self._matched: dict[tuple[str, str, str], tuple[Route, dict[str, Any]] | None] = {}

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path_params"):
            await super().app(scope, receive, send)
            return
        key = (scope["method"], scope["path"], scope.get("root_path", ""))
        try:
            remembered = self._matched[key]
        except KeyError:
            remembered = self._first_full_match(scope)
            if len(self._matched) >= self.REMEMBERED:
                self._matched.clear()
            self._matched[key] = remembered
        if remembered is None:
            await super().app(scope, receive, send)
            return
        route, params = remembered
        scope.setdefault("router", self)
        scope["route"] = route
        scope["endpoint"] = route.endpoint
        scope["path_params"] = dict(params)  # the endpoint's own copy
        await route.handle(scope, receive, send)

    def hot(self, method: str, path: str) -> tuple[HotHandler, Mapping[str, Any]] | None:
        """The hot handler of the route serving ``method path`` and its path parameters, if that
        route has one (see :mod:`pyserving.api.rest.hot`)."""
        if not self.hot_lane:
            return None
        scope = {"type": "http", "method": method, "path": path, "root_path": ""}
        matched = self._first_full_match(scope)
        if matched is None:
            return None
        route, params = matched
        hot: HotHandler | None = getattr(route, "hot", None)
        if hot is None or (route.methods is not None and method not in route.methods):
            return None
        return hot, params

    def _first_full_match(self, scope: Scope) -> tuple[Route, dict[str, Any]] | None:
        """The route Starlette would run with its path parameters, if a plain ``Route``."""
        for route in self.routes:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                if not isinstance(route, Route) or type(route) not in (Route, MethodRoute):
                    return None
                params: dict[str, Any] = child_scope["path_params"]
                return route, params
        return None


def with_middleware(app: ASGIApp, middleware: Sequence[Middleware]) -> ASGIApp:
    """``app`` wrapped in ``middleware``, the first one outermost (as Starlette orders it)."""
    for cls, args, kwargs in reversed(middleware):
        app = cls(app, *args, **kwargs)
    return app
