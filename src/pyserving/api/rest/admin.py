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
from typing import Any, Final
from urllib.parse import parse_qs

from pyserving.api.rest.admin_json import (
    entry_from_json,
    entry_to_json,
    parse_object,
    parse_version,
)
from pyserving.api.rest.extensions import HttpRequest, HttpResponse
from pyserving.api.rest.router import BaseRoute, json_mount, json_route
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
#: Longer waits are refused: a deadline past the platform's time range failed with a 500.
MAX_TIMEOUT_SECONDS: Final = 86400.0


class AdminRoutes:
    """The handlers of the admin API; see the module docstring."""

    def __init__(self, controller: ConfigController) -> None:
        self._controller = controller

    def routes(self) -> list[BaseRoute]:
        """The ``/v1/admin/`` mount: a path under it that is no endpoint is a JSON 404."""
        model = {"GET": self._get, "PUT": self._put, "DELETE": self._delete}
        label = {"PUT": self._put_label, "DELETE": self._delete_label}
        endpoints = [
            json_route("/models", {"GET": self._list}),
            json_route("/models/{name}", model),
            json_route("/models/{name}/labels/{label}", label),
        ]
        return [json_mount(PREFIX.rstrip("/"), endpoints, what="admin endpoint")]

    async def _list(self, request: HttpRequest) -> HttpResponse:
        config = self._controller.current()
        models = [entry_to_json(e) for e in config.model_config_list.config]
        return _ok({"models": models, "config_file": self._controller.config_file})

    async def _get(self, request: HttpRequest) -> HttpResponse:
        return _ok(entry_to_json(find_model(self._controller.current(), request.params["name"])))

    async def _put(self, request: HttpRequest) -> HttpResponse:
        entry = entry_from_json(request.params["name"], parse_object(request.body))
        edited = await self._change(put_model(entry), request)
        return _ok(entry_to_json(edited.model), 201 if edited.created else 200)

    async def _delete(self, request: HttpRequest) -> HttpResponse:
        edited = await self._change(delete_model(request.params["name"]), request)
        return _ok(entry_to_json(edited.model))

    async def _put_label(self, request: HttpRequest) -> HttpResponse:
        body = parse_object(request.body)
        if set(body) != {"version"}:
            raise invalid_argument('The body must be {"version": <version number>}')
        name, label = request.params["name"], request.params["label"]
        edit = set_label(name, label, parse_version(body["version"]))
        return _ok(entry_to_json((await self._change(edit, request)).model))

    async def _delete_label(self, request: HttpRequest) -> HttpResponse:
        edit = delete_label(request.params["name"], request.params["label"])
        return _ok(entry_to_json((await self._change(edit, request)).model))

    async def _change(self, edit: Change[Edited], request: HttpRequest) -> Edited:
        timeout = _timeout(request.query)
        return await asyncio.to_thread(self._controller.change, edit, timeout=timeout)


def admin_routes(controller: ConfigController) -> list[BaseRoute]:
    """The admin API's routes for the front door's router."""
    return AdminRoutes(controller).routes()


ADMIN_OFF: Final = (
    "The admin API is off: start the server with --auth_tokens_file (tokens with the admin "
    "scope may use it) or --enable_admin_api"
)


async def _admin_off(request: HttpRequest) -> HttpResponse:
    return HttpResponse(404, encode_error(ADMIN_OFF))


def admin_off_routes() -> list[BaseRoute]:
    """What ``/v1/admin/...`` answers when the admin API is off: 404 saying how to turn it on."""
    methods = dict.fromkeys(("GET", "PUT", "DELETE", "POST"), _admin_off)
    return [json_mount(PREFIX.rstrip("/"), [json_route("/{rest:path}", methods)], what="admin")]


def _timeout(query: str) -> float:
    values = parse_qs(query).get("timeout_seconds")
    if not values:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        timeout = float(values[-1])
    except ValueError:
        timeout = -1.0
    if not 0 <= timeout <= MAX_TIMEOUT_SECONDS:  # also rejects NaN
        raise invalid_argument(
            f"timeout_seconds must be a number from 0 to {MAX_TIMEOUT_SECONDS:.0f} (one day)"
        )
    return timeout


def _ok(document: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(status, encode_json(document))
