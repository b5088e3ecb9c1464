"""Wrapping every handler registered on a gRPC server: the front end's middleware mechanism.

Servicers register the grpcio way (the generated ``add_XServicer_to_server(servicer, server)``),
which calls only ``add_generic_rpc_handlers`` or ``add_registered_method_handlers``.
:func:`wrapping_registration` gives them a target that passes each method handler through
``wrap(handler, "/package.Service/Method")`` before it reaches the real server, so observers,
access checks and in-flight caps (:mod:`.observed`, :mod:`.authorized`, :mod:`.in_flight`) apply
to every servicer on both gRPC stacks without the servicers knowing. Handlers found through a
generic handler are wrapped once per method and remembered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import grpc

if TYPE_CHECKING:  # generic only in the stubs
    Handler: TypeAlias = grpc.RpcMethodHandler[Any, Any]
    GenericHandler: TypeAlias = grpc.GenericRpcHandler[Any, Any]

Wrap: TypeAlias = "Callable[[Handler, str], Handler]"
"""``wrap(handler, full_method)``: the handler to register instead (or ``handler`` itself)."""


class _WrappingRegistration:
    def __init__(self, target: grpc.aio.Server, wrap: Wrap) -> None:
        self._target = target
        self._wrap = wrap

    def add_generic_rpc_handlers(self, generic_rpc_handlers: Sequence[GenericHandler]) -> None:
        wrapped = [_WrappingGeneric(h, self._wrap) for h in generic_rpc_handlers]
        self._target.add_generic_rpc_handlers(wrapped)

    def add_registered_method_handlers(
        self, service_name: str, method_handlers: Mapping[str, Handler]
    ) -> None:
        wrapped = {
            method: self._wrap(handler, f"/{service_name}/{method}")
            for method, handler in method_handlers.items()
        }
        self._target.add_registered_method_handlers(service_name, wrapped)  # type: ignore[attr-defined]


def wrapping_registration(target: grpc.aio.Server, wrap: Wrap) -> grpc.aio.Server:
    """``target`` with every handler registered through it passed through ``wrap`` (typed as
    the server: generated code only calls the two registration methods)."""
    return _WrappingRegistration(target, wrap)  # type: ignore[return-value]


class _WrappingGeneric(grpc.GenericRpcHandler):  # type: ignore[type-arg]
    def __init__(self, inner: GenericHandler, wrap: Wrap) -> None:
        self._inner = inner
        self._wrap = wrap
        self._wrapped: dict[str, Handler | None] = {}

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> Handler | None:
        full = handler_call_details.method  # "/package.Service/Method"
        if full in self._wrapped:
            return self._wrapped[full]
        handler = self._inner.service(handler_call_details)
        if handler is not None:
            handler = self._wrap(handler, full)
        self._wrapped[full] = handler
        return handler
