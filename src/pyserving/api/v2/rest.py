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
code (400 for bad input, 404 for an unknown model, 413 for a body over the limit). Each endpoint
is a raw ASGI app (no request objects on the hot path); infer requests are reported to the
request observer (metrics, access log) like ``/v1`` ones, with API ``ModelInfer``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

import orjson
from starlette.routing import BaseRoute, Route

from pyserving import __version__
from pyserving.api.rest.admin_json import entry_from_json
from pyserving.api.rest.body import BodyTooLarge, read_body
from pyserving.api.rest.errors import http_status
from pyserving.api.v2 import binary, inference
from pyserving.codec import v2_json
from pyserving.codec.json_encode import encode_error
from pyserving.errors import Code, ServingError, invalid_argument
from pyserving.management.edits import Entry
from pyserving.management.repository import IndexEntry, ModelRepository
from pyserving.observability.requests import RequestObserver
from pyserving.service.core import ServingService

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]
Handler = Callable[[Scope, bytes], Awaitable[tuple[int, bytes, Headers]]]

logger = logging.getLogger("pyserving.v2")

SERVER_NAME: Final = "pyserving"
EXTENSIONS: Final = ("binary_tensor_data", "model_repository")
INFER_API: Final = "ModelInfer"
_JSON: Final[Headers] = [(b"content-type", b"application/json")]
_REPOSITORY_TIMEOUT_S: Final = 300.0


class V2Rest:
    """The V2 REST routes over one core service (see the module docstring)."""

    def __init__(
        self,
        service: ServingService,
        repository: ModelRepository,
        *,
        timeout_ms: int = 30_000,
        max_body_bytes: int = 64 * 1024 * 1024,
        observer: RequestObserver | None = None,
    ) -> None:
        self._service = service
        self._repository = repository
        self._timeout_ms = max(timeout_ms, 0)
        self._max_body = max_body_bytes
        self._observer = observer
        self._server_metadata = orjson.dumps(
            {"name": SERVER_NAME, "version": __version__, "extensions": list(EXTENSIONS)}
        )

    def routes(self) -> list[BaseRoute]:
        model = "/v2/models/{model}"
        version = model + "/versions/{version}"
        routes: list[BaseRoute] = [Route("/v2", _Endpoint(self._server, False), methods=["GET"])]
        for base in (model, version):
            routes.append(Route(base, _Endpoint(self._metadata, False), methods=["GET"]))
            routes.append(Route(base + "/ready", _Endpoint(self._ready, False), methods=["GET"]))
            routes.append(Route(base + "/infer", _Infer(self), methods=["POST"]))
        repository = [
            ("/v2/repository/index", self._index),
            ("/v2/repository/models/{model}/load", self._load),
            ("/v2/repository/models/{model}/unload", self._unload),
        ]
        for path, handler in repository:
            routes.append(Route(path, _Endpoint(handler, True, self._max_body), methods=["POST"]))
        return routes

    # -- handlers: (scope, body) -> (status, body, headers) ------------------------------------

    async def _server(self, scope: Scope, body: bytes) -> tuple[int, bytes, Headers]:
        return 200, self._server_metadata, _JSON

    async def _metadata(self, scope: Scope, body: bytes) -> tuple[int, bytes, Headers]:
        name, version = _model(scope)
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
        return 200, orjson.dumps(document), _JSON

    async def _ready(self, scope: Scope, body: bytes) -> tuple[int, bytes, Headers]:
        name, version = _model(scope)
        ready = inference.model_ready(self._service, name, version)
        document = {"name": name, "ready": ready}
        return (200 if ready else 400), orjson.dumps(document), _JSON

    async def _index(self, scope: Scope, body: bytes) -> tuple[int, bytes, Headers]:
        document = _optional_object(body)
        ready = document.get("ready", False)
        if not isinstance(ready, bool):
            raise invalid_argument("'ready' must be true or false")
        rows = self._repository.index(ready_only=ready)
        return 200, orjson.dumps([_row(r) for r in rows]), _JSON

    async def _load(self, scope: Scope, body: bytes) -> tuple[int, bytes, Headers]:
        name = scope["path_params"]["model"]
        params = v2_json.parameters(_optional_object(body).get("parameters"), "the load request")
        entry = _config_entry(name, params.get("config"))
        await asyncio.to_thread(self._repository.load, name, entry, timeout=_REPOSITORY_TIMEOUT_S)
        return 200, b"", _JSON

    async def _unload(self, scope: Scope, body: bytes) -> tuple[int, bytes, Headers]:
        name = scope["path_params"]["model"]
        await asyncio.to_thread(self._repository.unload, name, timeout=_REPOSITORY_TIMEOUT_S)
        return 200, b"", _JSON

    # -- infer ----------------------------------------------------------------------------------

    async def infer(self, scope: Scope, receive: Receive, send: Send) -> None:
        observer = self._observer
        started = observer.begin(INFER_API) if observer is not None else 0
        name, version = _model(scope)
        status, code = 499, Code.CANCELLED  # what is reported if the client goes away
        try:
            try:
                body = await read_body(scope, receive, self._max_body)
                header_length = None
                for key, value in scope["headers"]:
                    if key == binary.HEADER_LENGTH:
                        header_length = value
                request = binary.parse_body(body, header_length)
                result = await inference.infer(
                    self._service, name, version, request, self._timeout_ms
                )
                payload, headers = binary.encode_response(request, result)
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
            await _send(send, status, payload, headers)
        finally:
            if observer is not None:
                observer.end_rest(
                    scope["method"], scope["path"], name, INFER_API, code, status, started
                )


class _Infer:
    """The infer endpoint as a raw ASGI app."""

    def __init__(self, owner: V2Rest) -> None:
        self._owner = owner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._owner.infer(scope, receive, send)


class _Endpoint:
    """A raw ASGI app around a handler: reads the body (``with_body``), maps errors."""

    def __init__(self, handler: Handler, with_body: bool, max_body: int = 0) -> None:
        self._handler = handler
        self._with_body = with_body
        self._max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            body = await read_body(scope, receive, self._max_body) if self._with_body else b""
            status, payload, headers = await self._handler(scope, body)
        except BodyTooLarge as exc:
            status, payload, headers = 413, encode_error(exc.message), _JSON
        except ServingError as exc:
            status, payload, headers = http_status(exc.code), encode_error(exc.message), _JSON
        except Exception as exc:
            logger.exception("Unexpected error serving %s %s", scope["method"], scope["path"])
            status, payload, headers = 500, encode_error(f"Internal error: {exc}"), _JSON
        await _send(send, status, payload, headers)


async def _send(send: Send, status: int, body: bytes, headers: Headers) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _model(scope: Scope) -> tuple[str, str]:
    params = scope["path_params"]
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
