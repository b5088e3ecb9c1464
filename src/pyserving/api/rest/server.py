"""Runs the REST app on uvicorn (httptools + uvloop) inside the server's own event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

import uvicorn

from pyserving.api.rest.asgi import ASGIApp
from pyserving.security.tls import server_ssl_context

logger = logging.getLogger("pyserving.rest")


def bind_socket(port: int) -> socket.socket:
    """Listen on all interfaces: IPv6 dual-stack when available, else IPv4 (as TF Serving)."""
    try:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        address: tuple[str, int] = ("::", port)
    except OSError:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        address = ("0.0.0.0", port)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class RestServer:
    """Start/stop a uvicorn server for ``app`` without letting it own signals or the loop."""

    def __init__(
        self,
        app: ASGIApp,
        port: int,
        *,
        graceful_seconds: int = 30,
        ssl_config_file: str = "",
        protocol: type[asyncio.Protocol] | None = None,
    ) -> None:
        """``ssl_config_file``: serve HTTPS (see :mod:`pyserving.security.tls`); ``protocol``:
        the HTTP protocol class (default uvicorn's httptools one; see
        :func:`pyserving.api.rest.limits.guarded_protocol`)."""
        self._ssl = server_ssl_context(ssl_config_file)
        self._socket = bind_socket(port)
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            app,
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

    async def start(self) -> None:
        config = self._server.config
        if not config.loaded:
            config.load()
        if self._ssl is not None:
            config.ssl = self._ssl  # uvicorn passes it to create_server for our socket
        self._server.lifespan = config.lifespan_class(config)
        await self._server.startup(sockets=[self._socket])
        # main_loop keeps the Date header fresh; it returns once should_exit is set.
        self._ticker = asyncio.create_task(self._server.main_loop())

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish (up to the grace period), close."""
        self._server.should_exit = True
        if self._ticker is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        await self._server.shutdown(sockets=[self._socket])
