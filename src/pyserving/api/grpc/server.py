"""The gRPC front end: TF Serving's services, ports and options on the chosen HTTP/2 stack.

``--grpc_server`` picks the stack (:mod:`~pyserving.api.grpc.transport`): ``zttp`` (pyserving's
own server, in the REST server's event loop) or ``grpcio`` (grpc.aio). This module is the one
place that knows which; servicers register the grpcio way on either.

Listens on ``0.0.0.0:--port`` (0 = no TCP) and ``unix:--grpc_socket_path`` (a stale socket file
left by a previous run is replaced), both with the same credentials (TLS when
``--ssl_config_file`` is set). Registers ``tensorflow.serving.PredictionService`` and
``tensorflow.serving.ModelService``, plus ``grpc.health.v1.Health`` when the healthcheck flag is
set (``""``, ``ModelService`` and ``PredictionService`` SERVING, NOT_SERVING once stopping).
See :mod:`~pyserving.api.grpc.transport.settings` for channel arguments, TLS and
``--grpc_max_threads``.

Lifecycle: construct (validates options, raises ServingError), ``await start()`` inside the
server's event loop (raises OSError when a port cannot be bound), ``await stop(grace)``: stops
accepting RPCs, lets in-flight ones finish for up to ``grace`` seconds, then cancels the rest.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from collections.abc import Callable, Sequence
from typing import Protocol

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import _async as reflection_aio
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc

from pyserving._protos._pool import POOL
from pyserving.api.grpc import transport
from pyserving.api.grpc.authorized import authorized_registration
from pyserving.api.grpc.in_flight import in_flight_limits, limited_registration
from pyserving.api.grpc.model_service import ConfigReloader, ModelServicer
from pyserving.api.grpc.observed import observed_registration
from pyserving.api.grpc.prediction_service import PredictionServicer
from pyserving.config.options import ServerOptions
from pyserving.net.listeners import (
    HANDSHAKE_DRAIN_SECONDS,
    listening_sockets_on,
    refuse_new_handshakes,
)
from pyserving.observability.requests import RequestObserver
from pyserving.protos import model_service_pb2_grpc, prediction_service_pb2_grpc
from pyserving.security.policy import AccessPolicy
from pyserving.service.core import ServingService

logger = logging.getLogger("pyserving.grpc")

HEALTH_SERVICE_NAMES = ("", "ModelService", "PredictionService")


class GrpcServer:
    """gRPC endpoints of one server process (see the module docstring for the contract)."""

    def __init__(
        self,
        service: ServingService,
        reloader: ConfigReloader,
        options: ServerOptions,
        extra_services: Sequence[Callable[[grpc.aio.Server], None]] = (),
        observer: RequestObserver | None = None,
        policy: AccessPolicy | None = None,
    ) -> None:
        """``extra_services`` register further servicers (e.g. the admin API) on the server;
        ``observer`` sees every RPC of every servicer but health checks; ``policy`` checks the
        token of every RPC but health checks (inside the observer, so refusals are observed)."""
        self._observer = observer
        self._policy = policy
        self._service = service
        self._extra_services = tuple(extra_services)
        self._reloader = reloader
        self._port = options.port
        self._socket_path = options.grpc_socket_path
        self._tensor_content = options.enable_serialization_as_tensor_content
        self.stack = options.grpc_server
        # The RPC cap is counted where servicers register (api/grpc/in_flight.py), which answers
        # with a retry hint and never counts health checks: the transport itself is not capped.
        self._rpc_server: transport.RpcServer | None = transport.create(
            options.grpc_server, options.grpc_channel_arguments, options.ssl_config_file, 0
        )
        self._limits = in_flight_limits(options)
        self._health = _health_servicer() if options.enable_grpc_healthcheck_service else None
        self._server: transport.RpcServer | None = None
        self.port: int | None = None
        """The bound TCP port once started; None without TCP (``--port=0``)."""

    async def start(self) -> None:
        rpc_server, self._rpc_server = self._rpc_server, None
        if rpc_server is None:
            raise RuntimeError("GrpcServer.start() may be called once")
        recorder = transport.ServiceRecorder(rpc_server)
        server = transport.registration_target(recorder)
        # Observed outermost (refusals are observed), then the in-flight caps, then tokens.
        limited = limited_registration(observed_registration(server, self._observer), self._limits)
        observed = authorized_registration(limited, self._policy)
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
            PredictionServicer(self._service, tensor_content=self._tensor_content), observed
        )
        model_service_pb2_grpc.add_ModelServiceServicer_to_server(
            ModelServicer(self._service, self._reloader), observed
        )
        for register in self._extra_services:
            register(observed)
        if self._health is not None:
            for name in HEALTH_SERVICE_NAMES:
                await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
            health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        _add_reflection(server, recorder.service_names)
        if self._port:
            self.port = await rpc_server.listen_tcp("0.0.0.0", self._port)
        if self._socket_path:
            _remove_stale_socket(self._socket_path)
            await rpc_server.listen_unix(self._socket_path)
        await rpc_server.start()
        self._server = rpc_server
        if self._port:
            logger.info("Running gRPC ModelServer at 0.0.0.0:%d ...", self.port)
        if self._socket_path:
            logger.info("Running gRPC ModelServer at UNIX socket %s ...", self._socket_path)

    async def begin_shutdown(self) -> None:
        """Health services go NOT_SERVING (and stay so) while RPCs are still served."""
        if self._health is not None:
            await self._health.enter_graceful_shutdown()

    async def stop(self, grace_seconds: float | None = None) -> None:
        """Drain: no new RPCs, in-flight ones get ``grace_seconds`` (None = wait for all)."""
        server, self._server = self._server, None
        if server is None:
            return
        if self._health is not None:
            await self._health.enter_graceful_shutdown()
        await _drain_accept_queue(self.port)
        await server.stop(grace_seconds)
        logger.info("gRPC server stopped")


async def _drain_accept_queue(port: int | None) -> None:
    """Refuse new handshakes on gRPC's listeners and give the accept queue a moment to empty
    (gRPC keeps accepting until ``stop``), so closing them resets no accepted connection; see
    :mod:`pyserving.net.listeners`. Connections accepted meanwhile get gRPC's GOAWAY at ``stop``:
    their RPCs not yet started are retried by gRPC clients on a new connection."""
    if not port:
        return
    refused = [refuse_new_handshakes(sock) for sock in listening_sockets_on(port)]
    if any(refused):
        await asyncio.sleep(HANDSHAKE_DRAIN_SECONDS)


class _HealthServicer(Protocol):
    """The part of grpc_health's asyncio servicer used here (its stubs describe only the sync
    one, whose methods block)."""

    async def set(
        self, service: str, status: health_pb2.HealthCheckResponse.ServingStatus
    ) -> None: ...

    async def enter_graceful_shutdown(self) -> None: ...


def _health_servicer() -> _HealthServicer:
    servicer: _HealthServicer = health.aio.HealthServicer()  # type: ignore[attr-defined]
    return servicer


def _add_reflection(server: grpc.aio.Server, service_names: list[str]) -> None:
    """Server reflection (grpcurl, Postman) over every registered service. Descriptors come from
    pyserving's own pool, which holds the messages of all pyserving's services."""
    names = [*service_names, reflection.SERVICE_NAME]
    servicer = reflection_aio.ReflectionServicer(names, pool=POOL)
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)


def _remove_stale_socket(path: str) -> None:
    """Unlink a socket file a previous process left behind; anything else is left alone (binding
    then fails with a clear error rather than deleting a user's file)."""
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass
