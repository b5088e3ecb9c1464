"""Runs the REST app on uvicorn (httptools + uvloop) inside the server's own event loop.

Shutdown answers every connection the listener accepted (see :mod:`pyserving.net.listeners`):
new handshakes are refused first, then for a short drain window the server keeps accepting and
answering (each answer with ``Connection: close``, so keep-alive clients reconnect elsewhere) until
the accept queue is empty and every fresh connection has sent its request; only then does the
listener close and uvicorn drain in-flight requests for the grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from typing import Any, Final

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from pyserving.api.rest.asgi import ASGIApp
from pyserving.api.rest.hot import HotLane
from pyserving.api.rest.http2 import alpn_protocol
from pyserving.net.listeners import HANDSHAKE_DRAIN_SECONDS, refuse_new_handshakes
from pyserving.net.ports import BACKLOG, bind_listener
from pyserving.security.tls import server_ssl_context

logger = logging.getLogger("pyserving.rest")

#: After new handshakes are refused and HANDSHAKE_DRAIN_SECONDS passed: how long more to wait for
#: accepted connections that have not sent their first request yet.
FRESH_CONNECTION_WAIT_SECONDS: Final = 1.0

_CLOSE: Final = (b"connection", b"close")


def bind_socket(port: int) -> socket.socket:
    """Listen on all interfaces: IPv6 dual-stack when available, else IPv4 (as TF Serving)."""
    return bind_listener(port)


class RestServer:
    """Start/stop a uvicorn server for ``app`` without letting it own signals or the loop.

    ``listener`` is a bound, listening socket (see :func:`pyserving.net.ports.reserve_rest_port`)
    or a port number to bind now; ``ssl_config_file``: serve HTTPS (see
    :mod:`pyserving.security.tls`); ``protocol``: the HTTP protocol class (default uvicorn's
    httptools one; see :func:`pyserving.api.rest.limits.guarded_protocol`); ``http2``: also
    HTTP/2 for TLS clients choosing it by ALPN (see :mod:`pyserving.api.rest.http2`); ``lane``:
    the hot lane ``protocol`` serves (see :mod:`pyserving.api.rest.hot`), closed when stopping."""

    def __init__(
        self,
        app: ASGIApp,
        listener: socket.socket | int,
        *,
        graceful_seconds: int = 30,
        ssl_config_file: str = "",
        protocol: type[asyncio.Protocol] | None = None,
        http2: bool = False,
        lane: HotLane | None = None,
    ) -> None:
        self._ssl = server_ssl_context(ssl_config_file, http2=http2)
        if http2:
            if self._ssl is None:
                raise ValueError("HTTP/2 on the REST port needs TLS (an ssl_config_file)")
            protocol = alpn_protocol(protocol or HttpToolsProtocol)
        self._socket = listener if isinstance(listener, socket.socket) else bind_socket(listener)
        self.port: int = self._socket.getsockname()[1]
        self._app = app
        self._lane = lane
        self._draining = False
        config = uvicorn.Config(
            self._asgi,
            interface="asgi3",  # a bound method: uvicorn's guess would be ASGI 2
            http=protocol or "httptools",
            lifespan="off",
            access_log=False,
            log_config=None,
            server_header=False,
            proxy_headers=False,  # nothing reads client addresses; saves a wrapper per request
            timeout_graceful_shutdown=graceful_seconds,
            backlog=2048,
        )
        self._server = uvicorn.Server(config)
        self._ticker: asyncio.Task[None] | None = None

    async def _asgi(self, scope: Any, receive: Any, send: Any) -> None:
        if not self._draining:
            await self._app(scope, receive, send)
            return

        async def send_closing(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), _CLOSE]}
            await send(message)

        await self._app(scope, receive, send_closing)

    async def start(self) -> None:
        config = self._server.config
        if not config.loaded:
            config.load()
        if self._ssl is not None:
            config.ssl = self._ssl  # uvicorn passes it to create_server for our socket
        self._server.lifespan = config.lifespan_class(config)
        self._socket.listen(BACKLOG)  # a reserved socket is bound only (see net.ports)
        await self._server.startup(sockets=[self._socket])
        # main_loop keeps the Date header fresh; it returns once should_exit is set.
        self._ticker = asyncio.create_task(self._server.main_loop())

    async def stop(self) -> None:
        """Refuse new connections, answer the accepted ones, let in-flight requests finish (up
        to the grace period), close (see the module docstring)."""
        self._draining = True
        if self._lane is not None:
            self._lane.close()
        if refuse_new_handshakes(self._socket):
            await asyncio.sleep(HANDSHAKE_DRAIN_SECONDS)
            await self._wait_for_fresh_connections()
        self._server.should_exit = True
        if self._ticker is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        await self._server.shutdown(sockets=[self._socket])

    async def _wait_for_fresh_connections(self) -> None:
        """Until no accepted connection is still waiting for its first request (uvicorn closes
        those at once when it shuts down), bounded."""
        deadline = time.monotonic() + FRESH_CONNECTION_WAIT_SECONDS
        while time.monotonic() < deadline:
            if not any(
                getattr(c, "cycle", True) is None for c in self._server.server_state.connections
            ):
                return
            await asyncio.sleep(0.02)
