"""The console's Starlette routes (mounted on the REST front door's router).

========================  ===================================================================
``/``, ``/console/``      the console page
``/demo/digits``          the handwritten-digits page
``/console/static/<f>``   the pages' scripts and styles (see :mod:`.assets` for caching)
``/console/api/models``   models, versions, states (with errors), labels, platform, signatures
``/console/api/metrics``  per-model request/error rates, p50/p99 latency, batch size over time
========================  ===================================================================

Authorization hook: ``permissions(request)`` returns what the caller may do among
:data:`ACTIONS` (``view`` the JSON, ``predict`` through "try it", ``admin`` actions); the models
document carries that list so the pages hide what the caller may not do. It may raise
:class:`starlette.exceptions.HTTPException` with status 401: the pages then ask for a token and
send it as ``Authorization: Bearer <token>`` on every request (the public APIs included). The
default allows everything, as the APIs themselves do without authentication.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Final

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from pyserving.console.assets import Assets
from pyserving.console.metrics_window import MetricsWindow
from pyserving.console.models_view import ModelsView
from pyserving.management.controller import ConfigController
from pyserving.service.core import ServingService

ACTIONS: Final = ("view", "predict", "admin")
ConsolePermissions = Callable[[Request], Collection[str]]
PROTOCOLS: Final = ("tfserving", "v2")


def allow_all(request: Request) -> Collection[str]:
    return ACTIONS


def console_routes(
    service: ServingService,
    controller: ConfigController,
    metrics: MetricsWindow,
    *,
    permissions: ConsolePermissions = allow_all,
    protocols: Sequence[str] = ("tfserving",),
) -> list[BaseRoute]:
    """The console's routes. ``protocols``: the inference APIs this server serves on its REST
    port (``tfserving``, ``v2``), offered by the "try it" panel."""
    assets = Assets()
    models = ModelsView(service, controller)

    def console_page(request: Request) -> Response:
        return assets.page("index.html", request)

    def digits_page(request: Request) -> Response:
        return assets.page("digits.html", request)

    def static_file(request: Request) -> Response:
        return assets.file(request.path_params["name"], request)

    def models_json(request: Request) -> Response:
        allowed = _check(permissions, request)
        if isinstance(allowed, Response):
            return allowed
        document = models.document()
        document["permissions"] = sorted(allowed)
        document["protocols"] = list(protocols)
        return _json(document)

    def metrics_json(request: Request) -> Response:
        allowed = _check(permissions, request)
        if isinstance(allowed, Response):
            return allowed
        return _json(metrics.document())

    return [
        Route("/", console_page, methods=["GET"]),
        Route("/console/", console_page, methods=["GET"]),
        Route("/console", lambda r: RedirectResponse("/console/"), methods=["GET"]),
        Route("/demo/digits", digits_page, methods=["GET"]),
        Route("/console/static/{name}", static_file, methods=["GET"]),
        Route("/console/api/models", models_json, methods=["GET"]),
        Route("/console/api/metrics", metrics_json, methods=["GET"]),
    ]


def _check(permissions: ConsolePermissions, request: Request) -> Collection[str] | Response:
    """What the caller may do, or the error answer (JSON ``{"error"}`` like every API)."""
    try:
        allowed = permissions(request)
    except HTTPException as exc:
        return _json({"error": exc.detail}, exc.status_code, exc.headers)
    if "view" not in allowed:
        return _json({"error": "This token may not view the console; use another token"}, 403)
    return allowed


def _json(
    document: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(document),
        status_code=status,
        media_type="application/json",
        headers={"cache-control": "no-store", **(headers or {})},
    )
