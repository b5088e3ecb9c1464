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
from pyserving.api.rest.hot import HotAnswer, HotRequest
from pyserving.codec.json_encode import encode_error
from pyserving.errors import Code, ServingError
from pyserving.security.caller import CALLER
from pyserving.security.policy import AccessPolicy
from pyserving.security.scopes import rest_scope

_JSON: Final = (b"content-type", b"application/json")
_CHALLENGE: Final = (b"www-authenticate", b'Bearer realm="pyserving"')


class AuthMiddleware:
    """ASGI middleware and the hot lane's gate (:class:`pyserving.api.rest.hot.Gate`): see the
    module docstring."""

    def __init__(self, app: ASGIApp, policy: AccessPolicy, metrics_path: str | None) -> None:
        self._app = app
        self._policy = policy
        self._metrics_path = metrics_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        try:
            caller = self._caller(scope["method"], scope["path"], scope["headers"])
        except ServingError as error:
            status, headers, body = _refusal(error)
            await send_response(send, status, body, headers)
            return
        token = CALLER.set(caller)
        try:
            await self._app(scope, receive, send)
        finally:
            CALLER.reset(token)

    def _caller(self, method: str, path: str, headers: list[tuple[bytes, bytes]]) -> str | None:
        """Who the request's credential names (None: an open path, or no tokens configured);
        raises ServingError UNAUTHENTICATED or PERMISSION_DENIED."""
        needed = rest_scope(method, path, self._metrics_path)
        if needed is None:
            return None
        credential = None
        for key, value in headers:
            if key == b"authorization":
                credential = value.decode("latin-1")
                break
        return self._policy.authorize(needed, credential, "rest")

    # The same check on the hot lane (a Gate).

    def admit(self, request: HotRequest) -> HotAnswer | None:
        try:
            request.caller = self._caller(request.method, request.path, request.headers)
        except ServingError as error:
            return _refusal(error)
        return None

    def leave(self) -> None:
        pass


def _refusal(error: ServingError) -> HotAnswer:
    headers = [_JSON]
    if error.code is Code.UNAUTHENTICATED:
        headers.append(_CHALLENGE)
    return http_status(error.code), headers, encode_error(error.message)
