"""grpcio's asyncio server (``--grpc_server=grpcio``) behind the same small interface as the
zttp server: register handlers, ``listen_tcp``/``listen_unix``, ``start``, ``stop``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import grpc

from pyserving.api.grpc.transport.settings import ChannelOption


class GrpcioServer:
    def __init__(
        self,
        options: list[ChannelOption],
        max_concurrent_rpcs: int | None,
        credentials: grpc.ServerCredentials | None,
    ) -> None:
        self._options = options
        self._max_rpcs = max_concurrent_rpcs
        self._credentials = credentials
        self._aio: grpc.aio.Server | None = None

    @property
    def _server(self) -> grpc.aio.Server:
        """Created on first use: grpc.aio needs the running event loop."""
        if self._aio is None:
            self._aio = grpc.aio.server(
                options=self._options, maximum_concurrent_rpcs=self._max_rpcs
            )
        return self._aio

    def add_generic_rpc_handlers(
        self, generic_rpc_handlers: Sequence[grpc.GenericRpcHandler[Any, Any]]
    ) -> None:
        self._server.add_generic_rpc_handlers(generic_rpc_handlers)

    def add_registered_method_handlers(
        self, service_name: str, method_handlers: Mapping[str, grpc.RpcMethodHandler[Any, Any]]
    ) -> None:
        self._server.add_registered_method_handlers(service_name, method_handlers)  # type: ignore[attr-defined]

    def _bind(self, address: str) -> int:
        try:
            if self._credentials is None:
                return self._server.add_insecure_port(address)
            return self._server.add_secure_port(address, self._credentials)
        except RuntimeError as exc:  # grpc reports bind failures as RuntimeError
            raise OSError(f"Failed to bind gRPC server to {address}: {exc}") from exc

    async def listen_tcp(self, host: str, port: int) -> int:
        return self._bind(f"{host}:{port}")

    async def listen_unix(self, path: str) -> None:
        self._bind(f"unix:{path}")

    async def start(self) -> None:
        await self._server.start()

    async def stop(self, grace: float | None) -> None:
        await self._server.stop(grace)
