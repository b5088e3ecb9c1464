"""The Open Inference Protocol (V2) on the REST port, as routes for the front door's router.

=====  ==============================================  =========================================
GET    /v2                                             server metadata (name, version, extensions)
GET    /v2/models/{m}[/versions/{v}]                   model metadata (default signature)
GET    /v2/models/{m}[/versions/{v}]/ready             200 when that version serves, else 400
POST   /v2/models/{m}[/versions/{v}]/infer             inference (JSON, or the binary extension)
POST   /v2/repository/index                            models and their versions' states
POST   /v2/repository/models/{m}/load                  serve m (``{"parameters": {"config":
                                                       "<admin API JSON>"}}`` for a new one)
POST   /v2/repository/models/{m}/unload                stop serving m
=====  ==============================================  =========================================

``/v2/health/live`` and ``/v2/health/ready`` are the probes' routes. A version ``{v}`` is a
number or a version label. Errors are ``{"error": "<message>"}`` with the HTTP status of their
code (400 for bad input, 404 for an unknown model, 413 for a body over the limit). Infer is a raw
ASGI route with a hot form (:meth:`V2Rest.infer_hot`, for requests the front door's hot lane reads
whole: see :mod:`pyserving.api.rest.hot`), reported to the request observer (metrics, access log)
like ``/v1`` requests, with API ``ModelInfer``; the others are JSON routes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

import orjson

from pyserving import __version__
from pyserving.api.rest.admin_json import entry_from_json
from pyserving.api.rest.asgi import (
    BodyTooLarge,
    Receive,
    Scope,
    Send,
    body_limit,
    read_body,
    send_response,
)
from pyserving.api.rest.errors import http_status
from pyserving.api.rest.extensions import HttpRequest, HttpResponse
from pyserving.api.rest.hot import HotAnswer, HotRequest
from pyserving.api.rest.router import BaseRoute, asgi_route, json_route
from pyserving.api.v2 import binary, inference
from pyserving.codec import v2_json
from pyserving.codec.json_encode import encode_error
from pyserving.errors import Code, ServingError, invalid_argument
from pyserving.management.edits import Entry
from pyserving.management.repository import IndexEntry, ModelRepository
from pyserving.observability.requests import RequestObserver
from pyserving.service.core import ServingService

logger = logging.getLogger("pyserving.v2")

SERVER_NAME: Final = "pyserving"
EXTENSIONS: Final = ("binary_tensor_data", "model_repository")
INFER_API: Final = "ModelInfer"
_JSON: Final = [(b"content-type", b"application/json")]
_REPOSITORY_TIMEOUT_S: Final = 300.0


class V2Rest:
    """The V2 REST routes over one core service (see the module docstring)."""

    def __init__(
        self,
        service: ServingService,
        repository: ModelRepository,
        *,
        timeout_ms: int = 30_000,
        observer: RequestObserver | None = None,
    ) -> None:
        self._service = service
        self._repository = repository
        self._timeout_ms = max(timeout_ms, 0)
        self._observer = observer
        self._binary = binary.BinaryParser()
        self._server_metadata = orjson.dumps(
            {"name": SERVER_NAME, "version": __version__, "extensions": list(EXTENSIONS)}
        )

    def routes(self) -> list[BaseRoute]:
        """The routes, infer first: the router tries routes in order, and each route tried
        before the matching one costs every request a few microseconds."""
        model = "/v2/models/{model}"
        version = model + "/versions/{version}"
        routes: list[BaseRoute] = [
            asgi_route(model + "/infer", self.infer, ["POST"], hot=self.infer_hot),
            asgi_route(version + "/infer", self.infer, ["POST"], hot=self.infer_hot),
            json_route("/v2", {"GET": self._server}),
        ]
        for base in (model, version):
            routes.append(json_route(base, {"GET": self._metadata}))
            routes.append(json_route(base + "/ready", {"GET": self._ready}))
        routes.append(json_route("/v2/repository/index", {"POST": self._index}))
        repository = "/v2/repository/models/{model}"
        routes.append(json_route(repository + "/load", {"POST": self._load}))
        routes.append(json_route(repository + "/unload", {"POST": self._unload}))
        return routes

    # -- JSON routes ----------------------------------------------------------------------------

    async def _server(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(200, self._server_metadata)

    async def _metadata(self, request: HttpRequest) -> HttpResponse:
        name, version = _model(request.params)
        meta = inference.model_metadata(
            self._service, self._repository.platform(name), name, version
        )
        document = {
            "name": meta.name,
            "versions": meta.versions,
            "platform": meta.platform,
            "inputs": [_tensor(t) for t in meta.inputs],
            "outputs": [_tensor(t) for t in meta.outputs],
        }
        return HttpResponse(200, orjson.dumps(document))

    async def _ready(self, request: HttpRequest) -> HttpResponse:
        name, version = _model(request.params)
        ready = inference.model_ready(self._service, name, version)
        return HttpResponse(200 if ready else 400, orjson.dumps({"name": name, "ready": ready}))

    async def _index(self, request: HttpRequest) -> HttpResponse:
        ready = _optional_object(request.body).get("ready", False)
        if not isinstance(ready, bool):
            raise invalid_argument("'ready' must be true or false")
        rows = self._repository.index(ready_only=ready)
        return HttpResponse(200, orjson.dumps([_row(r) for r in rows]))

    async def _load(self, request: HttpRequest) -> HttpResponse:
        name = request.params["model"]
        document = _optional_object(request.body)
        params = v2_json.parameters(document.get("parameters"), "the load request")
        entry = _config_entry(name, params.get("config"))
        await asyncio.to_thread(self._repository.load, name, entry, timeout=_REPOSITORY_TIMEOUT_S)
        return HttpResponse(200)

    async def _unload(self, request: HttpRequest) -> HttpResponse:
        name = request.params["model"]
        await asyncio.to_thread(self._repository.unload, name, timeout=_REPOSITORY_TIMEOUT_S)
        return HttpResponse(200)

    # -- infer: a raw ASGI endpoint -------------------------------------------------------------

    async def infer(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = HotRequest(
            scope["method"], scope["path"], b"", scope["headers"], b"", scope["path_params"]
        )
        limit = body_limit(scope)
        status, headers, payload = await self.infer_hot(
            request, lambda: read_body(scope, receive, limit)
        )
        await send_response(send, status, payload, headers)

    async def infer_hot(
        self, request: HotRequest, read: Callable[[], Awaitable[bytes]] | None = None
    ) -> HotAnswer:
        """The answer to an infer request; ``read``: how to read the body, when ``request``
        does not hold it yet (the ASGI path)."""
        observer = self._observer
        started = observer.begin(INFER_API) if observer is not None else 0
        name, version = _model(request.params)
        status, code = 499, Code.CANCELLED  # what is reported if the client goes away
        try:
            try:
                body = request.body if read is None else await read()
                header_length = None
                for key, value in request.headers:
                    if key == binary.HEADER_LENGTH:
                        header_length = value
                parsed = self._binary.parse_body(body, header_length)
                result = await inference.infer(
                    self._service, name, version, parsed, self._timeout_ms
                )
                payload, headers = binary.encode_response(parsed, result)
                status, code = 200, Code.OK
            except BodyTooLarge as exc:
                status, payload, headers, code = 413, encode_error(exc.message), _JSON, exc.code
            except ServingError as exc:
                status, payload, headers = http_status(exc.code), encode_error(exc.message), _JSON
                code = exc.code
            except Exception as exc:
                logger.exception("Unexpected error serving V2 infer for %s", name)
                message = f"Internal error: {type(exc).__name__}: {exc}"
                status, payload, headers, code = 500, encode_error(message), _JSON, Code.INTERNAL
            return status, headers, payload
        finally:
            if observer is not None:
                observer.end_rest(
                    request.method, request.path, name, INFER_API, code, status, started
                )


def _model(params: Any) -> tuple[str, str]:
    return params["model"], params.get("version", "")


def _tensor(tensor: inference.TensorMetadata) -> dict[str, Any]:
    return {"name": tensor.name, "datatype": tensor.datatype, "shape": tensor.shape}


def _row(row: IndexEntry) -> dict[str, str]:
    return {"name": row.name, "version": row.version, "state": row.state, "reason": row.reason}


def _optional_object(body: bytes) -> dict[str, Any]:
    """A JSON object body; an empty body is ``{}``."""
    if not body.strip():
        return {}
    return v2_json.load_document(body)


def _config_entry(name: str, config: object) -> Entry | None:
    if config is None:
        return None
    if not isinstance(config, str):
        raise invalid_argument("The 'config' parameter must be a string holding a JSON object")
    return entry_from_json(name, v2_json.load_document(config.encode()))
