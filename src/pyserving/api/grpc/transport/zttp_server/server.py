"""The zttp gRPC server: listeners (TCP, unix socket, TLS) on the running event loop, serving
the handlers registered the grpcio way, with grpc.aio's shutdown contract.

Settings taken from the gRPC channel arguments (``--grpc_channel_arguments``, after the
message-size defaults): ``grpc.max_receive_message_length`` and ``grpc.max_send_message_length``
(-1 = unlimited), ``grpc.http2.lookahead_bytes`` (the per-stream receive window),
``grpc.keepalive_time_ms`` / ``grpc.keepalive_timeout_ms`` (the server's PINGs; grpc's server
defaults: every 2 hours, 20 s to answer). Other arguments are grpc core's and have no effect here
(logged once).

Shutdown (:meth:`ZttpServer.stop`): listeners close, every connection gets the two-step graceful
GOAWAY (see ``connection``; streams after the final one are refused, so clients retry elsewhere or
fail UNAVAILABLE), in-flight calls get ``grace`` seconds, then the rest are cancelled
(UNAVAILABLE) and connections close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Mapping, Sequence
from typing import Any, Final

import grpc

from pyserving.api.grpc.transport.settings import INT32_MAX, ChannelOption, int_option
from pyserving.api.grpc.transport.zttp_server.call import CallLimits
from pyserving.api.grpc.transport.zttp_server.connection import (
    ConnectionSettings,
    Http2Connection,
    ServerState,
)
from pyserving.api.grpc.transport.zttp_server.handlers import HandlerRegistry

logger = logging.getLogger("pyserving.grpc")

# Receive windows advertised to clients: large enough that a 16 MiB request streams without
# waiting for window updates on a fast link; memory is bounded by the message-size limit.
STREAM_WINDOW: Final = 8 * 1024 * 1024
CONNECTION_WINDOW: Final = 32 * 1024 * 1024
_KNOWN_OPTIONS: Final = frozenset(
    {
        "grpc.max_receive_message_length",
        "grpc.max_send_message_length",
        "grpc.http2.lookahead_bytes",
        "grpc.keepalive_time_ms",
        "grpc.keepalive_timeout_ms",
    }
)


def _size_limit(options: list[ChannelOption], key: str) -> int:
    value = int_option(options, key, INT32_MAX)
    return INT32_MAX if value < 0 else value


class ZttpServer:
    """See the module docstring. Register handlers, ``listen_*``, ``start``, ``stop``."""

    def __init__(
        self,
        options: list[ChannelOption],
        max_concurrent_rpcs: int | None,
        ssl_context: ssl.SSLContext | None,
    ) -> None:
        ignored = sorted({key for key, _ in options} - _KNOWN_OPTIONS)
        if ignored:
            logger.info("gRPC channel arguments without effect on --grpc_server=zttp: %s", ignored)
        limits = CallLimits(
            max_receive=_size_limit(options, "grpc.max_receive_message_length"),
            max_send=_size_limit(options, "grpc.max_send_message_length"),
        )
        window = int_option(options, "grpc.http2.lookahead_bytes", STREAM_WINDOW)
        keepalive_ms = int_option(options, "grpc.keepalive_time_ms", 2 * 3600 * 1000)
        keepalive_timeout_ms = int_option(options, "grpc.keepalive_timeout_ms", 20_000)
        settings = ConnectionSettings(
            call_limits=limits,
            stream_window=max(65_535, min(window, INT32_MAX)),
            connection_window=CONNECTION_WINDOW,
            max_concurrent_rpcs=max_concurrent_rpcs,
            keepalive_seconds=keepalive_ms / 1000 if keepalive_ms > 0 else None,
            keepalive_timeout_seconds=keepalive_timeout_ms / 1000,
        )
        self._registry = HandlerRegistry()
        self._state = ServerState(self._registry, settings)
        self._ssl = ssl_context
        self._servers: list[asyncio.Server] = []

    # The registration surface of grpc.aio.Server.
    def add_generic_rpc_handlers(
        self, generic_rpc_handlers: Sequence[grpc.GenericRpcHandler[Any, Any]]
    ) -> None:
        self._registry.add_generic_rpc_handlers(generic_rpc_handlers)

    def add_registered_method_handlers(
        self, service_name: str, method_handlers: Mapping[str, grpc.RpcMethodHandler[Any, Any]]
    ) -> None:
        self._registry.add_registered_method_handlers(service_name, method_handlers)

    # Listening.
    def _protocol(self) -> Http2Connection:
        return Http2Connection(self._state, asyncio.get_running_loop())

    async def listen_tcp(self, host: str, port: int) -> int:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            self._protocol,
            host,
            port,
            ssl=self._ssl,
            reuse_address=True,
            backlog=1024,
            start_serving=False,
        )
        self._servers.append(server)
        bound: int = server.sockets[0].getsockname()[1]
        return bound

    async def listen_unix(self, path: str) -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_unix_server(
            self._protocol, path, ssl=self._ssl, backlog=1024, start_serving=False
        )
        self._servers.append(server)

    async def start(self) -> None:
        for server in self._servers:
            await server.start_serving()

    async def stop(self, grace: float | None) -> None:
        state = self._state
        state.draining = True
        for server in self._servers:
            server.close()
        for conn in list(state.connections):
            conn.goaway()
        if state.active_rpcs:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(state.idle.wait(), grace)
        for conn in list(state.connections):
            conn.cancel_all()
        # Give cancelled calls a loop turn to send their status before the sockets close.
        for _ in range(100):
            if not state.connections:
                break
            await asyncio.sleep(0.01)
        self._servers.clear()
