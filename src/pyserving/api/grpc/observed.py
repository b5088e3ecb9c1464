"""Every RPC reported to a :class:`~pyserving.observability.requests.RequestObserver` (metrics,
access log), attached where servicers register: the gRPC front end's middleware.

:func:`observed_registration` wraps a registration target (what the generated
``add_XServicer_to_server(servicer, server)`` is given): each unary-unary method handler
registered through it is wrapped so the observer sees the RPC begin and end with its outcome.
Servicers know nothing about it, and any stack accepting grpcio's registration surface
(``add_generic_rpc_handlers``, ``add_registered_method_handlers``) gets it. The outcome is the
status the RPC ended with: OK, the code it was aborted with (``context.code()``, as
:func:`~pyserving.api.grpc.errors.rpc` aborts for every error), or CANCELLED when the client went
away. Streaming handlers pass through unobserved (no TF Serving RPC streams).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import grpc

from pyserving.errors import Code
from pyserving.observability.requests import RequestObserver

if TYPE_CHECKING:  # generic only in the stubs
    Handler: TypeAlias = grpc.RpcMethodHandler[Any, Any]
    GenericHandler: TypeAlias = grpc.GenericRpcHandler[Any, Any]
Context = grpc.aio.ServicerContext[Any, Any]
Behavior = Callable[[Any, Context], Awaitable[Any]]


class ObservedRegistration:
    """A registration target that observes what registers on it; see the module docstring."""

    def __init__(self, target: grpc.aio.Server, observer: RequestObserver) -> None:
        self._target = target
        self._observer = observer

    def add_generic_rpc_handlers(self, generic_rpc_handlers: Sequence[GenericHandler]) -> None:
        observed = [_ObservedGeneric(h, self._observer) for h in generic_rpc_handlers]
        self._target.add_generic_rpc_handlers(observed)

    def add_registered_method_handlers(
        self, service_name: str, method_handlers: Mapping[str, Handler]
    ) -> None:
        observed = {
            method: _observe(handler, service_name, method, self._observer)
            for method, handler in method_handlers.items()
        }
        self._target.add_registered_method_handlers(service_name, observed)  # type: ignore[attr-defined]


def observed_registration(
    target: grpc.aio.Server, observer: RequestObserver | None
) -> grpc.aio.Server:
    """``target`` itself without an observer; else a target observing what registers on it
    (typed as the server: generated code only calls the two registration methods)."""
    if observer is None:
        return target
    return ObservedRegistration(target, observer)  # type: ignore[return-value]


class _ObservedGeneric(grpc.GenericRpcHandler):  # type: ignore[type-arg]
    def __init__(self, inner: GenericHandler, observer: RequestObserver) -> None:
        self._inner = inner
        self._observer = observer
        self._wrapped: dict[str, Handler | None] = {}

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> Handler | None:
        full = handler_call_details.method  # "/package.Service/Method"
        if full in self._wrapped:
            return self._wrapped[full]
        handler = self._inner.service(handler_call_details)
        if handler is not None:
            service_name, _, method = full.lstrip("/").rpartition("/")
            handler = _observe(handler, service_name, method, self._observer)
        self._wrapped[full] = handler
        return handler


def _observe(
    handler: Handler, service_name: str, method: str, observer: RequestObserver
) -> Handler:
    # grpc.aio handlers are coroutines; the stubs describe the synchronous server's.
    behavior = cast(Behavior | None, handler.unary_unary)
    if behavior is None:
        return handler
    service = service_name.rpartition(".")[2]  # "PredictionService", as the access log names it
    inner: Behavior = behavior

    async def observed(request: Any, context: Context) -> Any:
        started = observer.begin(method)
        code = Code.UNKNOWN
        try:
            response = await inner(request, context)
            code = Code.OK
            return response
        except grpc.aio.AbortError:
            code = _aborted_code(context)
            raise
        except asyncio.CancelledError:
            code = Code.CANCELLED
            raise
        finally:
            observer.end_grpc(service, method, request, code, started)

    return grpc.unary_unary_rpc_method_handler(
        observed,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


def _aborted_code(context: Context) -> Code:
    status = context.code()
    if isinstance(status, grpc.StatusCode):
        return Code(status.value[0])
    return Code.UNKNOWN
