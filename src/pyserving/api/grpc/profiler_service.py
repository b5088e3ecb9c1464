"""``tensorflow.ProfilerService`` on the gRPC port (``--enable_profiler``, on by default as in TF
Serving): ``tf.profiler.experimental.client.trace(grpc_address, logdir, duration_ms)`` and
TensorBoard's "capture profile" record a trace of the TensorFlow runtime while it serves.

``Profile`` traces for ``duration_ms`` in a worker thread and writes the XSpace under
``repository_root/session_id/`` (or returns it, with ``emit_xspace``), as TF's own service does.
Only TensorFlow is traced: in a server that has not imported TensorFlow (no TensorFlow model
loaded) it answers FAILED_PRECONDITION and imports nothing. ``Terminate`` ends a running trace
early; ``Monitor`` is UNIMPLEMENTED.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable

import grpc

from pyserving.api.grpc.errors import Context, rpc
from pyserving.errors import Code, ServingError, failed_precondition, invalid_argument
from pyserving.protos import profiler_service_pb2, profiler_service_pb2_grpc

MAX_DURATION_MS = 10 * 60 * 1000
"""Longest trace one request may ask for (traces grow with their duration)."""


class ProfilerServicer(profiler_service_pb2_grpc.ProfilerServiceServicer):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, threading.Event] = {}

    @rpc
    async def Profile(
        self, request: profiler_service_pb2.ProfileRequest, context: Context
    ) -> profiler_service_pb2.ProfileResponse:
        if "tensorflow" not in sys.modules:
            raise failed_precondition(
                "No TensorFlow model has been loaded in this server, and the profiler traces "
                "TensorFlow only: serve a model with platform tensorflow to profile it"
            )
        duration_ms = request.duration_ms or request.opts.duration_ms
        if not 0 < duration_ms <= MAX_DURATION_MS:
            raise invalid_argument(
                f"duration_ms must be between 1 and {MAX_DURATION_MS}; was {duration_ms}"
            )
        if not request.emit_xspace and not request.repository_root:
            raise invalid_argument("repository_root is empty: set it, or set emit_xspace")
        from pyserving.runtimes.tensorflow import profiler

        stop = threading.Event()
        with self._lock:
            self._running[request.session_id] = stop
        try:
            xspace = await asyncio.to_thread(profiler.record, duration_ms, stop)
        finally:
            with self._lock:
                self._running.pop(request.session_id, None)
        response = profiler_service_pb2.ProfileResponse(empty_trace=not xspace)
        if request.emit_xspace:
            response.xspace = xspace
        elif xspace:
            await asyncio.to_thread(
                profiler.save,
                request.repository_root,
                request.session_id,
                request.host_name,
                xspace,
            )
        return response

    @rpc
    async def Terminate(
        self, request: profiler_service_pb2.TerminateRequest, context: Context
    ) -> profiler_service_pb2.TerminateResponse:
        with self._lock:
            stop = self._running.get(request.session_id)
        if stop is not None:
            stop.set()
        return profiler_service_pb2.TerminateResponse()

    @rpc
    async def Monitor(
        self, request: profiler_service_pb2.MonitorRequest, context: Context
    ) -> profiler_service_pb2.MonitorResponse:
        raise ServingError(
            Code.UNIMPLEMENTED, "Monitor is not supported by pyserving; use Profile (a trace)"
        )


def profiler_service() -> Callable[[grpc.aio.Server], None]:
    """Registers the profiler servicer (for ``GrpcServer(extra_services=...)``)."""

    def register(server: grpc.aio.Server) -> None:
        profiler_service_pb2_grpc.add_ProfilerServiceServicer_to_server(ProfilerServicer(), server)

    return register
