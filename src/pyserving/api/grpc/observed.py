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
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import grpc

from pyserving.api.grpc.registration import wrapping_registration
from pyserving.errors import Code
from pyserving.observability.requests import RequestObserver

if TYPE_CHECKING:  # generic only in the stubs
    Handler: TypeAlias = grpc.RpcMethodHandler[Any, Any]
Context = grpc.aio.ServicerContext[Any, Any]
Behavior = Callable[[Any, Context], Awaitable[Any]]


def observed_registration(
    target: grpc.aio.Server, observer: RequestObserver | None
) -> grpc.aio.Server:
    """``target`` itself without an observer; else a target observing what registers on it."""
    if observer is None:
        return target

    def wrap(handler: Handler, full_method: str) -> Handler:
        service_name, _, method = full_method.lstrip("/").rpartition("/")
        return _observe(handler, service_name, method, observer)

    return wrapping_registration(target, wrap)


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
