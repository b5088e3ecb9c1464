"""What one client can hold on the REST port: bounded time to send a request, bounded header size,
bounded requests in flight.

* :class:`GuardedHttpToolsProtocol` (uvicorn's httptools protocol, tightened): a request's line
  and headers must arrive within ``header_timeout`` of its first byte (a new connection counts from
  its opening), else the connection is closed; the body may pause at most ``body_timeout`` between
  chunks; the request line and headers together may not exceed ``max_header_bytes`` (431). A
  slowloris client therefore holds a socket for seconds, never a worker (the app is not called
  before the headers are complete) nor memory beyond the header limit (the body's is
  ``--rest_api_max_body_bytes``). Between requests, uvicorn's keep-alive timeout applies (through
  the same timer).
* :class:`InFlightLimit` (ASGI middleware): beyond ``limit`` requests being served at once, a
  request is answered 429 with ``Retry-After`` at once instead of queueing. Probes are never
  refused (an orchestrator must see the server alive while it sheds load). Per connection,
  HTTP/1.1 has one request in flight (pipelined requests wait their turn, reading paused).
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar, Final

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from pyserving.api.rest.asgi import ASGIApp, Receive, Scope, Send, send_response
from pyserving.api.rest.hot import HotAnswer, HotRequest
from pyserving.codec.json_encode import encode_error
from pyserving.security.scopes import OPEN_PATHS

_431: Final = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s"
)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """See the module docstring; configure with :func:`guarded_protocol`."""

    header_timeout: ClassVar[float] = 10.0
    body_timeout: ClassVar[float] = 30.0
    max_header_bytes: ClassVar[int] = 64 * 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One timer per connection enforces the current deadline: re-arming only moves the
        # deadline (a call_later and a cancel per parser event cost ~2 us each on the loop).
        self._guard: asyncio.TimerHandle | None = None
        self._guard_at = 0.0  # when the pending timer fires
        self._deadline: float | None = None  # None: nothing to enforce
        self._header_bytes = 0
        self._refused = False

    def _arm(self, seconds: float) -> None:
        """The connection must make its next step within ``seconds`` from now."""
        deadline = self.loop.time() + seconds
        self._deadline = deadline
        if self._guard is None or deadline < self._guard_at:
            self._cancel_guard()
            self._guard = self.loop.call_at(deadline, self._check)
            self._guard_at = deadline

    def _disarm(self) -> None:
        self._deadline = None  # a pending timer finds nothing to enforce

    def _cancel_guard(self) -> None:
        if self._guard is not None:
            self._guard.cancel()
            self._guard = None

    def _check(self) -> None:
        self._guard = None
        deadline = self._deadline
        if deadline is None:
            return
        if self.loop.time() < deadline:  # re-armed since this timer was set: wait for the rest
            self._guard = self.loop.call_at(deadline, self._check)
            self._guard_at = deadline
            return
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._cancel_guard()
        super().connection_lost(exc)

    # The parser callbacks up to the headers restate uvicorn 0.55's (pinned) with the guard's
    # counting folded in, and the ASGI scope built only once the headers are in: a request the
    # hot lane takes never needs one (see pyserving.api.rest.hot_protocol).

    def on_message_begin(self) -> None:
        self.url = b""
        self.expect_100_continue = False
        self.headers = []
        self._header_bytes = 0
        self._arm(self.header_timeout)

    def on_url(self, url: bytes) -> None:
        self._header_bytes += len(url)
        if self._header_bytes > self.max_header_bytes:
            self._refuse()
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value) + 4
        if self._header_bytes > self.max_header_bytes:
            self._refuse()
        name = name.lower()
        value = value.rstrip(b" \t")  # llhttp keeps trailing whitespace; RFC 9110 drops it
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._arm(self.body_timeout)
        self.scope = {  # type: ignore[typeddict-item]
            "type": "http",
            "asgi": {"version": self.asgi_version, "spec_version": "2.3"},
            "http_version": "1.1",
            "server": self.server,
            "client": self.client,
            "scheme": self.scheme,  # type: ignore[typeddict-item]
            "root_path": self.root_path,
            "headers": self.headers,
            "state": self.app_state.copy(),
        }
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self._arm(self.body_timeout)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        """uvicorn's, with its keep-alive timeout enforced by this connection's one timer rather
        than a ``call_later`` and a ``cancel`` per request (an idle connection is closed, as
        uvicorn's own timer does; the next request's first byte moves the deadline on)."""
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._unset_keepalive_if_required()
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        else:
            self._arm(self.timeout_keep_alive)

    def send_400_response(self, msg: str) -> None:
        if not self._refused:  # a 431 was sent already
            super().send_400_response(msg)

    def _refuse(self) -> None:
        """Answer 431 and stop the parser: the request line and headers are over the limit."""
        if self._refused:
            return
        self._refused = True
        message = (f"The request line and headers exceed {self.max_header_bytes} bytes").encode()
        self.transport.write(_431 % (len(message), message))
        self.transport.close()
        raise ValueError("request headers too large")  # stops the parser


def guarded_protocol(
    header_timeout: float, body_timeout: float, max_header_bytes: int
) -> type[GuardedHttpToolsProtocol]:
    """A protocol class with these limits (uvicorn instantiates the class per connection)."""
    return type(
        "GuardedHttpTools",
        (GuardedHttpToolsProtocol,),
        {
            "header_timeout": header_timeout,
            "body_timeout": body_timeout,
            "max_header_bytes": max_header_bytes,
        },
    )


class InFlightLimit:
    """ASGI middleware and the hot lane's gate (:class:`pyserving.api.rest.hot.Gate`): see the
    module docstring."""

    def __init__(self, app: ASGIApp, limit: int, retry_after_seconds: int = 1) -> None:
        self._app = app
        self._limit = limit
        self._retry_after = str(retry_after_seconds).encode()
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self._app(scope, receive, send)
            return
        if self.in_flight >= self._limit:
            status, headers, message = self._refusal()
            await send_response(send, status, message, headers)
            return
        self.in_flight += 1
        try:
            await self._app(scope, receive, send)
        finally:
            self.in_flight -= 1

    # The same limit on the hot lane (a Gate; hot requests are never probes).

    def admit(self, request: HotRequest) -> HotAnswer | None:
        if self.in_flight >= self._limit:
            return self._refusal()
        self.in_flight += 1
        return None

    def leave(self) -> None:
        self.in_flight -= 1

    def _refusal(self) -> HotAnswer:
        message = encode_error(
            f"The server is serving its limit of {self._limit} requests at once "
            "(--rest_api_max_in_flight); retry after a moment"
        )
        headers = [(b"content-type", b"application/json"), (b"retry-after", self._retry_after)]
        return 429, headers, message
