"""The admin API over REST: change one model or one label without resending the whole config.

Routes (answers are JSON; errors ``{"error": "<message>"}`` with the HTTP status of their code,
as for ``/v1`` requests; see README.md for examples):

========  ======================================  ============================================
GET       /v1/admin/models                        ``{"models": [...], "config_file": "..."}``
GET       /v1/admin/models/<name>                 the model's entry
PUT       /v1/admin/models/<name>                 add (201) or replace (200) the model
DELETE    /v1/admin/models/<name>                 remove it; answers the removed entry
PUT       /v1/admin/models/<name>/labels/<label>  ``{"version": 3}``: point the label at 3
DELETE    /v1/admin/models/<name>/labels/<label>  remove the label
========  ======================================  ============================================

Changes run through :meth:`ConfigController.change` in a worker thread: a PUT adding a model
answers once it is AVAILABLE. ``?timeout_seconds=N`` bounds that wait, and the wait for another
change in progress (default :data:`DEFAULT_TIMEOUT_SECONDS`); past it the change is undone and
the answer is 504.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Final
from urllib.parse import parse_qs, unquote

from pyserving.api.rest.admin_json import (
    entry_from_json,
    entry_to_json,
    parse_object,
    parse_version,
)
from pyserving.api.rest.extensions import HttpRequest, HttpResponse, RouteHandler
from pyserving.codec.json_encode import encode_error, encode_json
from pyserving.errors import invalid_argument
from pyserving.management.controller import Change, ConfigController
from pyserving.management.edits import (
    Edited,
    delete_label,
    delete_model,
    find_model,
    put_model,
    set_label,
)

PREFIX: Final = "/v1/admin/"
DEFAULT_TIMEOUT_SECONDS: Final = 300.0

_Handler = Callable[[HttpRequest, list[str]], Awaitable[HttpResponse]]


class AdminRoutes:
    """The ``/v1/admin/`` prefix route; see the module docstring for the API."""

    def __init__(self, controller: ConfigController) -> None:
        self._controller = controller
        # (path shape, method) -> handler; a shape is the segment count after the prefix.
        self._table: dict[tuple[str, str], _Handler] = {
            ("models", "GET"): self._list,
            ("model", "GET"): self._get,
            ("model", "PUT"): self._put,
            ("model", "DELETE"): self._delete,
            ("label", "PUT"): self._put_label,
            ("label", "DELETE"): self._delete_label,
        }

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        parts = [unquote(p) for p in request.path[len(PREFIX) :].split("/")]
        shape = _shape(parts)
        if shape is None:
            return _error(404, f"No admin endpoint at {request.path}")
        handler = self._table.get((shape, request.method))
        if handler is None:
            allowed = ", ".join(m for (s, m) in self._table if s == shape)
            return _error(
                405,
                f"Method {request.method} is not allowed for {request.path}; use {allowed}",
                ((b"allow", allowed.encode()),),
            )
        return await handler(request, parts)

    async def _list(self, request: HttpRequest, parts: list[str]) -> HttpResponse:
        config = self._controller.current()
        models = [entry_to_json(e) for e in config.model_config_list.config]
        return _ok({"models": models, "config_file": self._controller.config_file})

    async def _get(self, request: HttpRequest, parts: list[str]) -> HttpResponse:
        return _ok(entry_to_json(find_model(self._controller.current(), parts[1])))

    async def _put(self, request: HttpRequest, parts: list[str]) -> HttpResponse:
        entry = entry_from_json(parts[1], parse_object(request.body))
        edited = await self._change(put_model(entry), request)
        return _ok(entry_to_json(edited.model), 201 if edited.created else 200)

    async def _delete(self, request: HttpRequest, parts: list[str]) -> HttpResponse:
        edited = await self._change(delete_model(parts[1]), request)
        return _ok(entry_to_json(edited.model))

    async def _put_label(self, request: HttpRequest, parts: list[str]) -> HttpResponse:
        body = parse_object(request.body)
        if set(body) != {"version"}:
            raise invalid_argument('The body must be {"version": <version number>}')
        edit = set_label(parts[1], parts[3], parse_version(body["version"]))
        return _ok(entry_to_json((await self._change(edit, request)).model))

    async def _delete_label(self, request: HttpRequest, parts: list[str]) -> HttpResponse:
        edited = await self._change(delete_label(parts[1], parts[3]), request)
        return _ok(entry_to_json(edited.model))

    async def _change(self, edit: Change[Edited], request: HttpRequest) -> Edited:
        timeout = _timeout(request.query)
        return await asyncio.to_thread(self._controller.change, edit, timeout=timeout)


def admin_routes(controller: ConfigController) -> list[tuple[str, RouteHandler]]:
    """The prefix routes to give ``RestApp(prefix_routes=...)``."""
    return [(PREFIX, AdminRoutes(controller))]


def _shape(parts: list[str]) -> str | None:
    """Which endpoint a path is: ``models``, ``model`` or ``label`` (None: no such endpoint)."""
    if parts[0] != "models" or any(not p for p in parts[1:]):
        return None
    if len(parts) == 1:
        return "models"
    if len(parts) == 2:
        return "model"
    if len(parts) == 4 and parts[2] == "labels":
        return "label"
    return None


def _timeout(query: str) -> float:
    values = parse_qs(query).get("timeout_seconds")
    if not values:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        timeout = float(values[-1])
    except ValueError:
        timeout = -1.0
    if not timeout >= 0:  # also rejects NaN
        raise invalid_argument("timeout_seconds must be a non-negative number")
    return timeout


def _ok(document: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(status, encode_json(document))


def _error(
    status: int, message: str, headers: tuple[tuple[bytes, bytes], ...] = ()
) -> HttpResponse:
    return HttpResponse(status, encode_error(message), headers=headers)
