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

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import grpc

from pyserving.api.grpc.errors import abort
from pyserving.api.grpc.registration import wrapping_registration
from pyserving.errors import ServingError
from pyserving.security.caller import CALLER
from pyserving.security.policy import AccessPolicy
from pyserving.security.scopes import grpc_scope

if TYPE_CHECKING:  # generic only in the stubs
    Handler: TypeAlias = grpc.RpcMethodHandler[Any, Any]
Context = grpc.aio.ServicerContext[Any, Any]
Behavior = Callable[[Any, Context], Awaitable[Any]]


def authorized_registration(
    target: grpc.aio.Server, policy: AccessPolicy | None
) -> grpc.aio.Server:
    """``target`` itself when no tokens are configured; else a target checking tokens."""
    if policy is None or not policy.enabled:
        return target
    return wrapping_registration(target, lambda handler, full: _authorize(handler, full, policy))


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
