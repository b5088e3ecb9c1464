"""The HTTP/2 stacks a gRPC front end can run on, behind one small interface (:class:`RpcServer`).

* ``zttp``: pyserving's own gRPC-over-HTTP/2 server on the zttp protocol library, running in the
  event loop the REST server uses (:mod:`.zttp_server`).
* ``grpcio``: grpcio's asyncio server (:mod:`.grpcio_server`).

Both accept servicers exactly as grpcio does: the generated ``add_XServicer_to_server(servicer,
server)`` calls ``add_generic_rpc_handlers`` / ``add_registered_method_handlers`` on whatever
:meth:`RpcServer.registration_target` returns. Settings shared by both (channel arguments, TLS,
the concurrency cap) are in :mod:`.settings`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, cast

import grpc

from pyserving.api.grpc.transport import settings


class RpcServer(Protocol):
    def add_generic_rpc_handlers(
        self, generic_rpc_handlers: Sequence[grpc.GenericRpcHandler[Any, Any]]
    ) -> None: ...

    def add_registered_method_handlers(
        self, service_name: str, method_handlers: Mapping[str, grpc.RpcMethodHandler[Any, Any]]
    ) -> None: ...

    async def listen_tcp(self, host: str, port: int) -> int:
        """Bind ``host:port`` (0 = any free port); the bound port. OSError when it cannot."""
        ...

    async def listen_unix(self, path: str) -> None: ...

    async def start(self) -> None: ...

    async def stop(self, grace: float | None) -> None:
        """No new RPCs; in-flight ones get ``grace`` seconds (None = no limit), then are
        cancelled."""
        ...


class ServiceRecorder:
    """Forwards registrations to a server and records the names of the services registered
    (what server reflection lists)."""

    def __init__(self, server: RpcServer) -> None:
        self._server = server
        self.service_names: list[str] = []

    def add_generic_rpc_handlers(
        self, generic_rpc_handlers: Sequence[grpc.GenericRpcHandler[Any, Any]]
    ) -> None:
        self._server.add_generic_rpc_handlers(generic_rpc_handlers)

    def add_registered_method_handlers(
        self, service_name: str, method_handlers: Mapping[str, grpc.RpcMethodHandler[Any, Any]]
    ) -> None:
        if service_name not in self.service_names:
            self.service_names.append(service_name)
        self._server.add_registered_method_handlers(service_name, method_handlers)


def registration_target(server: RpcServer | ServiceRecorder) -> grpc.aio.Server:
    """The object to hand to ``add_XServicer_to_server``. Generated code only calls the two
    registration methods every :class:`RpcServer` has, so the cast states the duck typing the
    generated functions rely on, not a conversion."""
    return cast(grpc.aio.Server, server)


def create(
    stack: str, channel_arguments: str, ssl_config_file: str, grpc_max_threads: int
) -> RpcServer:
    """The server for ``--grpc_server=stack``; ServingError for bad settings."""
    options = settings.channel_options(channel_arguments)
    max_rpcs = settings.max_concurrent_rpcs(grpc_max_threads)
    if stack == "zttp":
        from pyserving.api.grpc.transport.zttp_server.server import ZttpServer

        return ZttpServer(options, max_rpcs, settings.ssl_context(ssl_config_file))
    from pyserving.api.grpc.transport.grpcio_server import GrpcioServer

    return GrpcioServer(options, max_rpcs, settings.server_credentials(ssl_config_file))
