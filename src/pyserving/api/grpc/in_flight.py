"""Caps on the RPCs being served at once, attached where servicers register (like
:mod:`~pyserving.api.grpc.authorized`), so every servicer on both gRPC stacks is covered.

Beyond ``--grpc_max_in_flight`` RPCs in the whole server (default: ``--grpc_max_threads``, TF
Serving's flag, whose thread quota caps RPCs at once the same way), or
``--grpc_max_in_flight_per_connection`` on one client connection (one HTTP/2 connection
multiplexes many RPCs: one client could otherwise take every slot), a new RPC is answered at once
with RESOURCE_EXHAUSTED and a retry hint in its trailers, instead of queueing:
``grpc-retry-pushback-ms`` (honoured by gRPC clients with a retry policy) and ``retry-after`` in
seconds (as the REST port's 429). The REST port's ``--rest_api_max_in_flight`` means the same.
The transports are not capped themselves (``maximum_concurrent_rpcs`` would refuse without a
hint, and count health checks). Health checks and reflection register on the server
directly and are never refused (an orchestrator must see the server alive while it sheds load).

A connection is told apart by its peer address (``context.peer()``): on a UNIX socket every
client has the same peer, so the per-connection cap applies to them together.
Counting happens on the server's event loop (both stacks run handlers there): no lock is needed.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, TypeAlias, cast

import grpc

from pyserving.api.grpc.registration import wrapping_registration
from pyserving.config.options import ServerOptions

if TYPE_CHECKING:  # generic only in the stubs
    Handler: TypeAlias = grpc.RpcMethodHandler[Any, Any]
Context = grpc.aio.ServicerContext[Any, Any]
Behavior = Callable[[Any, Context], Awaitable[Any]]

PUSHBACK_KEY: Final = "grpc-retry-pushback-ms"
RETRY_AFTER_KEY: Final = "retry-after"


class InFlightLimits:
    """The counters and the refusal (see the module docstring)."""

    def __init__(self, total: int, per_connection: int, retry_after_seconds: int = 1) -> None:
        self.total = total
        self.per_connection = per_connection
        self.in_flight = 0
        self.by_peer: dict[str, int] = {}
        self.trailers = (
            (PUSHBACK_KEY, str(retry_after_seconds * 1000)),
            (RETRY_AFTER_KEY, str(retry_after_seconds)),
        )

    def refusal(self, peer: str) -> str | None:
        """Why an RPC from ``peer`` may not start now; None: it may (call :meth:`enter`)."""
        if self.in_flight >= self.total:
            return (
                f"The server is serving its limit of {self.total} RPCs at once "
                "(--grpc_max_in_flight, default --grpc_max_threads); retry after a moment"
            )
        if self.by_peer.get(peer, 0) >= self.per_connection:
            return (
                f"This connection has its limit of {self.per_connection} RPCs in flight "
                "(--grpc_max_in_flight_per_connection); wait for answers, or retry after a moment"
            )
        return None

    def enter(self, peer: str) -> None:
        self.in_flight += 1
        self.by_peer[peer] = self.by_peer.get(peer, 0) + 1

    def leave(self, peer: str) -> None:
        self.in_flight -= 1
        left = self.by_peer[peer] - 1
        if left:
            self.by_peer[peer] = left
        else:
            del self.by_peer[peer]  # the map holds only connections with RPCs in flight


def in_flight_limits(options: ServerOptions) -> InFlightLimits:
    """The caps the flags ask for (a cap <= 0: none)."""
    total = options.grpc_max_in_flight or options.grpc_max_threads
    return InFlightLimits(
        total if total > 0 else sys.maxsize, options.grpc_max_in_flight_per_connection
    )


def limited_registration(target: grpc.aio.Server, limits: InFlightLimits) -> grpc.aio.Server:
    """``target`` with every handler registered through it counted in ``limits``."""
    return wrapping_registration(target, lambda handler, _full: _limit(handler, limits))


def _limit(handler: Handler, limits: InFlightLimits) -> Handler:
    behavior = cast(Behavior | None, handler.unary_unary)
    if behavior is None:
        return handler
    inner: Behavior = behavior

    async def limited(request: Any, context: Context) -> Any:
        peer = context.peer()
        refusal = limits.refusal(peer)
        if refusal is not None:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, refusal, limits.trailers)
        limits.enter(peer)
        try:
            return await inner(request, context)
        finally:
            limits.leave(peer)

    return grpc.unary_unary_rpc_method_handler(
        limited,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )
