"""ASGI plumbing shared by the ``/v1`` fast path and the routed endpoints: body and response.

:func:`read_body` enforces the body limit (``--rest_api_max_body_bytes``) while receiving and
while inflating a gzip body, so nothing a client sends makes the server hold more than the limit.
Routed endpoints find the limit the front door serves with in the scope (:func:`body_limit`).
"""

from __future__ import annotations

import asyncio
import zlib
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from pyserving.errors import Code, ServingError

__all__ = [
    "BODY_LIMIT_KEY",
    "ASGIApp",
    "BodyTooLarge",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "body_limit",
    "read_body",
    "send_response",
]

BODY_LIMIT_KEY: Final = "pyserving.max_body_bytes"
"""The scope key under which the front door puts its body limit for routed endpoints."""
DEFAULT_BODY_LIMIT: Final = 64 * 1024 * 1024


class BodyTooLarge(ServingError):
    """Answered 413 (not the 429 of RESOURCE_EXHAUSTED) by every REST endpoint."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            Code.RESOURCE_EXHAUSTED,
            f"Request body is larger than the limit of {limit} bytes (--rest_api_max_body_bytes)",
        )


def body_limit(scope: Scope) -> int:
    """The body limit of the front door serving ``scope``."""
    limit: int = scope.get(BODY_LIMIT_KEY, DEFAULT_BODY_LIMIT)
    return limit


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole request body, gzip-decoded if so encoded.

    Raises :class:`BodyTooLarge` past ``limit`` bytes (received or inflated), ServingError
    CANCELLED if the client disconnects, INVALID_ARGUMENT for a corrupt gzip body.
    """
    encoding = b""
    for key, value in scope["headers"]:
        if key == b"content-length" and value.isdigit() and int(value) > limit:
            raise BodyTooLarge(limit)
        if key == b"content-encoding":
            encoding = value.lower()
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ServingError(Code.CANCELLED, "Client disconnected")
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    if b"gzip" in encoding:
        body = _gunzip(body, limit)
    return body


async def send_response(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    """Send a complete response; ``headers`` get a ``content-length``.

    Sent straight from uvicorn's httptools protocol, the head and the body leave in one socket
    write (see :class:`_HeldWrites`); through any other ``send`` as two ASGI messages.
    """
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [*headers, (b"content-length", str(len(body)).encode())],
    }
    end: Message = {"type": "http.response.body", "body": body}
    cycle = getattr(send, "__self__", None)
    if type(cycle) is not RequestResponseCycle:
        await send(start)
        await send(end)
        return
    transport = cycle.transport
    held = _HeldWrites(transport)
    cycle.transport = held  # type: ignore[assignment]
    try:
        await send(start)
        await send(end)
    finally:
        cycle.transport = transport
        held.release(cycle.disconnected)


class _HeldWrites:
    """Stands in for a uvicorn response cycle's transport while it writes one response: holds
    the writes (and a close) and passes them on together, so that the head and the body cost one
    ``writev`` instead of two socket writes (each write on a TCP socket runs the network stack,
    on loopback the receiver's side too: the biggest CPU cost per small response on the loop).
    Everything else goes to the real transport."""

    __slots__ = ("_chunks", "_close", "_transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._chunks: list[bytes] = []
        self._close = False

    def write(self, data: bytes) -> None:
        self._chunks.append(data)

    def close(self) -> None:
        self._close = True

    def __getattr__(self, name: str) -> object:
        return getattr(self._transport, name)

    def release(self, disconnected: bool) -> None:
        """Write what was held (unless the client has gone), then close if asked."""
        transport = self._transport
        if self._chunks and not disconnected and not transport.is_closing():
            transport.writelines(self._chunks)
        if self._close:
            transport.close()


def _gunzip(body: bytes, limit: int) -> bytes:
    """Decompress a gzip body, refusing to inflate past ``limit`` (a gzip bomb is a 413)."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise ServingError(Code.INVALID_ARGUMENT, f"Failed to decompress gzip body: {exc}") from exc
    if len(out) > limit or inflater.unconsumed_tail:
        raise BodyTooLarge(limit)
    return out
