"""The OpenAPI 3.1 document of the REST port, served at ``GET /openapi.json``.

:func:`openapi_document` describes every REST operation: TF Serving's ``/v1`` API, the Open
Inference Protocol (``/v2``, with the binary tensor extension and the repository extension), the
admin API, the probes, the Prometheus page and the console's pages. ``docs/openapi.json`` is a copy
(``make openapi`` rewrites it; a test checks the two are equal), and ``make fuzz`` runs
schemathesis against a live server with it: no answer may be a 5xx, and every answer's status,
content type and body must be declared here.

What a server actually serves depends on its flags: the admin API answers 404 unless it is on
(``--enable_admin_api`` or tokens), the console only with ``--enable_console``, the Prometheus
page at the path of ``--monitoring_config_file``. The document lists them all, with that 404.
With tokens configured every operation but the probes needs a bearer token; the scope each one
needs is in its description.
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from pyserving.api.rest.extensions import HttpRequest, HttpResponse
from pyserving.api.rest.openapi_schemas import SCHEMAS, Schema, ref
from pyserving.api.rest.router import BaseRoute, json_route

PATH: Final = "/openapi.json"
#: The document's version: changed when an operation or a schema changes.
API_VERSION: Final = "1.0.0"
_DESCRIPTION: Final = (
    "TF Serving's REST API (/v1), the Open Inference Protocol (/v2) with the binary tensor and "
    "model repository extensions, the admin API, probes, metrics and the console. Errors are "
    '{"error": "<message>"} with the HTTP status of their canonical code. With tokens '
    "configured (--auth_tokens_file), every operation but the probes and the console's pages "
    "needs `Authorization: Bearer <token>` holding the scope its description names."
)
METRICS_PATH: Final = "/monitoring/prometheus/metrics"

_JSON: Final = "application/json"
_BINARY: Final = "application/octet-stream"
_HEADER_LENGTH: Final = "Inference-Header-Content-Length"
# The statuses every JSON operation may answer with {"error": ...}.
_ERRORS: Final = {
    "400": "Bad request: the message says what was wrong",
    "401": "No or unknown bearer token (tokens configured)",
    "403": "The token lacks the operation's scope",
    "404": "No such model, version or label",
    "413": "Body larger than --rest_api_max_body_bytes",
    "429": "Over --rest_api_max_in_flight requests being served; see Retry-After",
    "500": "Internal error",
    "503": "The model or server is unavailable",
    "504": "Deadline (--rest_api_timeout_in_ms) exceeded",
}
_CONFLICT: Final = "Another change of the model config is in progress"


def _json_body(schema: Schema) -> dict[str, Any]:
    return {"content": {_JSON: {"schema": schema}}}


def _responses(ok: dict[str, Any], errors: tuple[str, ...] = tuple(_ERRORS)) -> dict[str, Any]:
    responses = dict(ok)
    for status in errors:
        description = _ERRORS.get(status, _CONFLICT)
        responses[status] = {"description": description, **_json_body(ref("Error"))}
    if "429" in responses:
        responses["429"]["headers"] = {
            "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}
        }
    return responses


def _ok(schema: Schema, description: str = "OK", status: str = "200") -> dict[str, Any]:
    return {status: {"description": description, **_json_body(schema)}}


def _operation(
    summary: str, scope: str | None, tags: str, responses: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    needs = "Open to every client." if scope is None else f"Scope: `{scope}`."
    operation: dict[str, Any] = {
        "summary": summary,
        "description": needs,
        "tags": [tags],
        "responses": responses,
        **extra,
    }
    if scope is not None:
        operation["security"] = [{"bearer": []}, {}]
    return operation


def _param(name: str, description: str, example: str, schema: Schema | None = None) -> Schema:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema or {"type": "string", "minLength": 1, "pattern": "^[^/:?#]+$"},
        "example": example,
    }


_MODEL = _param("model", "Model name", "default")
_VERSION = _param("version", "Version number", "1", {"type": "string", "pattern": "^[0-9]{1,18}$"})
_LABEL = _param("label", "Version label", "stable")


def _tfs_paths() -> dict[str, Any]:
    """TF Serving's /v1 API, for a model, a version or a label."""
    paths: dict[str, Any] = {}
    for suffix, params in (
        ("", [_MODEL]),
        ("/versions/{version}", [_MODEL, _VERSION]),
        ("/labels/{label}", [_MODEL, _LABEL]),
    ):
        base = "/v1/models/{model}" + suffix
        tag = "TF Serving"
        paths[base] = {
            "parameters": params,
            "get": _operation("Model status", "read", tag, _responses(_ok(ref("ModelStatus")))),
        }
        paths[base + "/metadata"] = {
            "parameters": params,
            "get": _operation(
                "Model metadata (signatures)", "read", tag, _responses(_ok(ref("ModelMetadata")))
            ),
        }
        for verb, request, response in (
            ("predict", "PredictRequest", "PredictResponse"),
            ("classify", "ExamplesRequest", "ClassifyResponse"),
            ("regress", "ExamplesRequest", "RegressResponse"),
        ):
            paths[f"{base}:{verb}"] = {
                "parameters": params,
                "post": _operation(
                    verb.capitalize(),
                    "infer",
                    tag,
                    _responses(_ok(ref(response))),
                    requestBody={"required": True, **_json_body(ref(request))},
                ),
            }
    return paths


_BINARY_REQUEST: Final = {
    "schema": {
        "type": "string",
        "format": "binary",
        "description": f"Binary tensor extension: a JSON header of {_HEADER_LENGTH} bytes "
        "(a V2InferRequest whose binary inputs have parameters.binary_data_size), then the raw "
        "tensors in input order.",
    }
}


def _v2_paths() -> dict[str, Any]:
    tag = "Open Inference Protocol (V2)"
    infer_ok = {
        "200": {
            "description": "The outputs; binary ones (binary_data) after a JSON header whose "
            f"length is in {_HEADER_LENGTH}",
            "headers": {_HEADER_LENGTH: {"schema": {"type": "integer"}}},
            "content": {
                _JSON: {"schema": ref("V2InferResponse")},
                _BINARY: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    }
    infer = _operation(
        "Inference (JSON or the binary tensor extension)",
        "infer",
        tag,
        _responses(infer_ok),
        parameters=[
            {
                "name": _HEADER_LENGTH,
                "in": "header",
                "required": False,
                "schema": {"type": "integer", "minimum": 0},
                "description": "Length of the JSON header of a binary request body",
            }
        ],
        requestBody={
            "required": True,
            "content": {_JSON: {"schema": ref("V2InferRequest")}, _BINARY: _BINARY_REQUEST},
        },
    )
    paths: dict[str, Any] = {
        "/v2": {
            "get": _operation("Server metadata", "read", tag, _ok(ref("V2ServerMetadata"))),
        },
    }
    for base, params in (
        ("/v2/models/{model}", [_MODEL]),
        ("/v2/models/{model}/versions/{version}", [_MODEL, _VERSION]),
    ):
        ready = {"200": {"description": "Ready", **_json_body(ref("V2ModelReady"))}}
        ready["400"] = {"description": "Not ready", **_json_body(ref("V2ModelReady"))}
        errors = ("401", "403", "404", "429", "500")
        paths[base] = {
            "parameters": params,
            "get": _operation(
                "Model metadata", "read", tag, _responses(_ok(ref("V2ModelMetadata")))
            ),
        }
        paths[base + "/ready"] = {
            "parameters": params,
            "get": _operation("Model readiness", "read", tag, _responses(ready, errors)),
        }
        paths[base + "/infer"] = {"parameters": params, "post": infer}
    repo = "Repository extension (V2)"
    paths["/v2/repository/index"] = {
        "post": _operation(
            "Models and their versions' states",
            "read",
            repo,
            _responses(_ok(ref("V2RepositoryIndex"))),
            requestBody={"required": False, **_json_body(ref("V2RepositoryIndexRequest"))},
        )
    }
    for action, summary in (("load", "Serve a model"), ("unload", "Stop serving a model")):
        paths[f"/v2/repository/models/{{model}}/{action}"] = {
            "parameters": [_MODEL],
            "post": _operation(
                summary,
                "admin",
                repo,
                _responses({"200": {"description": "Done"}}),
                requestBody={"required": False, **_json_body(ref("V2RepositoryLoadRequest"))},
            ),
        }
    return paths


def _admin_paths() -> dict[str, Any]:
    tag = "Admin API"
    model = ref("AdminModel")
    timeout = {
        "name": "timeout_seconds",
        "in": "query",
        "required": False,
        "schema": {"type": "number", "minimum": 0, "maximum": 86400},
        "description": "How long to wait for the change to take effect (default 300)",
    }
    change = _responses({**_ok(model), **_ok(model, "Added", "201")}, (*_ERRORS, "409"))
    return {
        "/v1/admin/models": {
            "get": _operation(
                "The configured models", "admin", tag, _responses(_ok(ref("AdminModelList")))
            )
        },
        "/v1/admin/models/{model}": {
            "parameters": [_MODEL],
            "get": _operation("A model's entry", "admin", tag, _responses(_ok(model))),
            "put": _operation(
                "Add or replace a model (its base path must lie under the allowlist)",
                "admin",
                tag,
                change,
                parameters=[timeout],
                requestBody={"required": True, **_json_body(model)},
            ),
            "delete": _operation(
                "Stop serving a model", "admin", tag, change, parameters=[timeout]
            ),
        },
        "/v1/admin/models/{model}/labels/{label}": {
            "parameters": [_MODEL, _LABEL],
            "put": _operation(
                "Point a label at a version",
                "admin",
                tag,
                change,
                parameters=[timeout],
                requestBody={"required": True, **_json_body(ref("AdminLabel"))},
            ),
            "delete": _operation("Remove a label", "admin", tag, change, parameters=[timeout]),
        },
    }


def _operations_paths() -> dict[str, Any]:
    tag = "Operations"
    live = _ok(ref("Alive"))
    ready = {**_ok(ref("Ready")), **_ok(ref("Ready"), "Not ready, or shutting down", "503")}
    paths: dict[str, Any] = {}
    for path, summary, answers in (
        ("/healthz", "Liveness", live),
        ("/v2/health/live", "Liveness (V2)", live),
        ("/readyz", "Readiness: every configured model has an AVAILABLE version", ready),
        ("/v2/health/ready", "Readiness (V2)", ready),
    ):
        paths[path] = {
            "get": _operation(summary, None, tag, answers),
            "head": _operation(summary, None, tag, {k: {"description": "-"} for k in answers}),
        }
    metrics = {
        "200": {
            "description": "Prometheus text exposition format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        **_responses({}, ("401", "403", "404", "429")),
    }
    paths[METRICS_PATH] = {
        "get": _operation(
            "Prometheus metrics (at the path of --monitoring_config_file)",
            "metrics",
            tag,
            metrics,
        )
    }
    paths[PATH] = {
        "get": _operation(
            "This document", "read", tag, _responses(_ok({"type": "object"}), ("401", "403"))
        )
    }
    return paths


def _console_paths() -> dict[str, Any]:
    tag = "Console (--enable_console)"
    html = {
        "200": {"description": "HTML page", "content": {"text/html": {"schema": _TEXT}}},
        "404": {"description": "The console is off", "content": {"text/html": {"schema": _TEXT}}},
    }
    api = _responses(_ok({"type": "object"}), ("401", "403", "404", "429"))
    return {
        "/": {"get": _operation("Console", None, tag, html)},
        "/console/": {"get": _operation("Console", None, tag, html)},
        "/demo/digits": {"get": _operation("Digits demo page", None, tag, html)},
        "/console/api/models": {"get": _operation("The console's model view", "read", tag, api)},
        "/console/api/metrics": {
            "get": _operation("The console's recent metrics", "read", tag, api)
        },
    }


_TEXT: Final = {"type": "string"}


def openapi_document() -> dict[str, Any]:
    """The whole document (deterministic: equal to ``docs/openapi.json``)."""
    paths = {
        **_tfs_paths(),
        **_v2_paths(),
        **_admin_paths(),
        **_operations_paths(),
        **_console_paths(),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "pyserving REST API",
            "version": API_VERSION,
            "description": _DESCRIPTION,
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token of --auth_tokens_file (when tokens are configured)",
                }
            },
        },
    }


def openapi_json() -> bytes:
    """The document as indented JSON, keys in order (what ``docs/openapi.json`` holds)."""
    return orjson.dumps(openapi_document(), option=orjson.OPT_INDENT_2) + b"\n"


def openapi_routes() -> list[BaseRoute]:
    """``GET /openapi.json`` for the front door's router."""
    body = openapi_json()

    async def document(request: HttpRequest) -> HttpResponse:
        return HttpResponse(200, body)

    return [json_route(PATH, {"GET": document})]
