"""Core errors -> gRPC statuses, in one place (TF Serving's ``grpc_status_util.cc``).

Every servicer method is wrapped with :func:`rpc`: a :class:`~pyserving.errors.ServingError` becomes
the status with the same number (TF and gRPC codes agree) and its message, cut to 1024 bytes plus
``...TRUNCATED`` as TF Serving does; any other exception is a bug, logged with its traceback and
answered INTERNAL, so one bad request can never take the server down. Every error ends in
``context.abort``, so observers attached where servicers register
(:mod:`~pyserving.api.grpc.observed`) read the outcome from ``context.code()``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final, NoReturn, TypeVar

import grpc

from pyserving.errors import Code, ServingError

logger = logging.getLogger("pyserving.grpc")

MESSAGE_LIMIT_BYTES: Final = 1024
TRUNCATED_SUFFIX: Final = "...TRUNCATED"

GRPC_STATUS: Final[dict[Code, grpc.StatusCode]] = {
    Code(status.value[0]): status for status in grpc.StatusCode
}

Context = grpc.aio.ServicerContext[Any, Any]

_S = TypeVar("_S")
_Req = TypeVar("_Req")
_Resp = TypeVar("_Resp")


def grpc_status(code: Code) -> grpc.StatusCode:
    return GRPC_STATUS.get(code, grpc.StatusCode.UNKNOWN)


def truncate(message: str) -> str:
    """TF Serving's limit: the first 1024 bytes of the message, then ``...TRUNCATED``."""
    raw = message.encode("utf-8")
    if len(raw) <= MESSAGE_LIMIT_BYTES:
        return message
    # A cut inside a multi-byte character drops that character rather than sending invalid UTF-8.
    return raw[:MESSAGE_LIMIT_BYTES].decode("utf-8", errors="ignore") + TRUNCATED_SUFFIX


async def abort(context: Context, error: ServingError) -> NoReturn:
    await context.abort(grpc_status(error.code), truncate(error.message))
    raise AssertionError("grpc.aio context.abort() returned")  # pragma: no cover


def rpc(
    method: Callable[[_S, _Req, Context], Awaitable[_Resp]],
) -> Callable[[_S, _Req, Context], Awaitable[_Resp]]:
    """Turn the exceptions of a servicer coroutine into gRPC statuses (see the module docstring)."""
    name = method.__name__

    @functools.wraps(method)
    async def wrapper(self: _S, request: _Req, context: Context) -> _Resp:
        try:
            return await method(self, request, context)
        except ServingError as error:
            await abort(context, error)
        except (asyncio.CancelledError, grpc.aio.AbortError):
            raise  # the client went away, or the handler aborted on purpose
        except Exception as exc:
            logger.exception("Unexpected error in gRPC %s", name)
            await abort(context, ServingError(Code.INTERNAL, f"{type(exc).__name__}: {exc}"))

    return wrapper


def timeout_ms(context: Context) -> int:
    """The client deadline as a model-run timeout (0 = none), like TF Serving's
    ``DeadlineToTimeoutMillis``; a deadline already reached still gets 1 ms, never "unbounded"."""
    remaining = context.time_remaining()
    if remaining is None:
        return 0
    return max(1, int(remaining * 1000))
