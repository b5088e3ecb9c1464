"""The REST front door's access check: middleware around the whole app, ``/v1`` included.

For each HTTP request it asks :func:`~pyserving.security.scopes.rest_scope` which scope the
path needs and lets :class:`~pyserving.security.policy.AccessPolicy` decide on the
``Authorization`` header; a refusal is answered here (401 with ``WWW-Authenticate: Bearer``, or
403) as ``{"error": "<message>"}`` and the app never sees the request. On success the token's
name is the request's :data:`~pyserving.security.caller.CALLER` (the audit log's "who").
Probes stay open (the scopes module lists them).
"""

from __future__ import annotations

from typing import Final

from pyserving.api.rest.asgi import ASGIApp, Receive, Scope, Send, send_response
from pyserving.api.rest.errors import http_status
from pyserving.codec.json_encode import encode_error
from pyserving.errors import Code, ServingError
from pyserving.security.caller import CALLER
from pyserving.security.policy import AccessPolicy
from pyserving.security.scopes import rest_scope

_JSON: Final = (b"content-type", b"application/json")
_CHALLENGE: Final = (b"www-authenticate", b'Bearer realm="pyserving"')


class AuthMiddleware:
    """ASGI middleware: see the module docstring."""

    def __init__(self, app: ASGIApp, policy: AccessPolicy, metrics_path: str | None) -> None:
        self._app = app
        self._policy = policy
        self._metrics_path = metrics_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        needed = rest_scope(scope["method"], scope["path"], self._metrics_path)
        caller = None
        if needed is not None:
            credential = None
            for key, value in scope["headers"]:
                if key == b"authorization":
                    credential = value.decode("latin-1")
                    break
            try:
                caller = self._policy.authorize(needed, credential, "rest")
            except ServingError as error:
                headers = [_JSON]
                if error.code is Code.UNAUTHENTICATED:
                    headers.append(_CHALLENGE)
                await send_response(
                    send, http_status(error.code), encode_error(error.message), headers
                )
                return
        token = CALLER.set(caller)
        try:
            await self._app(scope, receive, send)
        finally:
            CALLER.reset(token)
