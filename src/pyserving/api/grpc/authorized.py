"""The gRPC access check, attached where servicers register (like
:mod:`~pyserving.api.grpc.observed`), so every service on every stack that accepts grpcio's
registration surface is covered without the servicers knowing.

Each unary-unary handler registered through :func:`authorized_registration` first asks
:func:`~pyserving.security.scopes.grpc_scope` which scope its method needs and lets
:class:`~pyserving.security.policy.AccessPolicy` decide on the ``authorization`` metadata;
a refusal aborts with UNAUTHENTICATED or PERMISSION_DENIED before the servicer runs. On success
the token's name is the call's :data:`~pyserving.security.caller.CALLER` (for the audit log).
Services registered directly on the server (the health service) are not checked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import grpc

from pyserving.api.grpc.errors import abort
from pyserving.errors import ServingError
from pyserving.security.caller import CALLER
from pyserving.security.policy import AccessPolicy
from pyserving.security.scopes import grpc_scope

if TYPE_CHECKING:  # generic only in the stubs
    Handler: TypeAlias = grpc.RpcMethodHandler[Any, Any]
    GenericHandler: TypeAlias = grpc.GenericRpcHandler[Any, Any]
Context = grpc.aio.ServicerContext[Any, Any]
Behavior = Callable[[Any, Context], Awaitable[Any]]


class AuthorizedRegistration:
    """A registration target whose handlers check the caller's token first."""

    def __init__(self, target: grpc.aio.Server, policy: AccessPolicy) -> None:
        self._target = target
        self._policy = policy

    def add_generic_rpc_handlers(self, generic_rpc_handlers: Sequence[GenericHandler]) -> None:
        checked = [_AuthorizedGeneric(h, self._policy) for h in generic_rpc_handlers]
        self._target.add_generic_rpc_handlers(checked)

    def add_registered_method_handlers(
        self, service_name: str, method_handlers: Mapping[str, Handler]
    ) -> None:
        checked = {
            method: _authorize(handler, f"/{service_name}/{method}", self._policy)
            for method, handler in method_handlers.items()
        }
        self._target.add_registered_method_handlers(service_name, checked)  # type: ignore[attr-defined]


def authorized_registration(
    target: grpc.aio.Server, policy: AccessPolicy | None
) -> grpc.aio.Server:
    """``target`` itself when no tokens are configured; else a target checking tokens (typed
    as the server: generated code only calls the two registration methods)."""
    if policy is None or not policy.enabled:
        return target
    return AuthorizedRegistration(target, policy)  # type: ignore[return-value]


class _AuthorizedGeneric(grpc.GenericRpcHandler):  # type: ignore[type-arg]
    def __init__(self, inner: GenericHandler, policy: AccessPolicy) -> None:
        self._inner = inner
        self._policy = policy
        self._wrapped: dict[str, Handler | None] = {}

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> Handler | None:
        full = handler_call_details.method
        if full in self._wrapped:
            return self._wrapped[full]
        handler = self._inner.service(handler_call_details)
        if handler is not None:
            handler = _authorize(handler, full, self._policy)
        self._wrapped[full] = handler
        return handler


def _authorize(handler: Handler, full_method: str, policy: AccessPolicy) -> Handler:
    behavior = cast(Behavior | None, handler.unary_unary)
    if behavior is None:
        return handler
    needed = grpc_scope(full_method)
    if needed is None:
        return handler
    inner: Behavior = behavior

    async def authorized(request: Any, context: Context) -> Any:
        credential = None
        for key, value in context.invocation_metadata() or ():
            if key == "authorization":
                credential = value if isinstance(value, str) else value.decode("latin-1")
                break
        try:
            caller = policy.authorize(needed, credential, "grpc")
        except ServingError as error:
            await abort(context, error)
        token = CALLER.set(caller)
        try:
            return await inner(request, context)
        finally:
            CALLER.reset(token)

    return grpc.unary_unary_rpc_method_handler(
        authorized,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )
