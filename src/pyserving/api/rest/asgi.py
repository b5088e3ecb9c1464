"""ASGI plumbing shared by the ``/v1`` fast path and the routed endpoints: body and response.

:func:`read_body` enforces the body limit (``--rest_api_max_body_bytes``) while receiving and
while inflating a gzip body, so nothing a client sends makes the server hold more than the limit.
Routed endpoints find the limit the front door serves with in the scope (:func:`body_limit`).
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Iterable, Sequence
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import (
    HEADER_RE,
    HEADER_VALUE_RE,
    STATUS_LINE,
    RequestResponseCycle,
)

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
    "default_lines",
    "read_body",
    "send_response",
    "write_response",
]

BODY_LIMIT_KEY: Final = "pyserving.max_body_bytes"
"""The scope key under which the front door puts its body limit for routed endpoints."""
DEFAULT_BODY_LIMIT: Final = 64 * 1024 * 1024
_FRAMING: Final = (b"content-length", b"transfer-encoding")
_JOIN_BELOW: Final = 16 * 1024  # smaller bodies are copied into the head: one buffer to write


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
    cycle = getattr(receive, "__self__", None)
    if type(cycle) is RequestResponseCycle and _body_arrived(cycle):
        body = _take_body(cycle)
        if len(body) > limit:
            raise BodyTooLarge(limit)
        return _gunzip(body, limit) if b"gzip" in encoding else body
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


def _body_arrived(cycle: RequestResponseCycle) -> bool:
    """Whether uvicorn's cycle holds the whole request body and ``receive()`` would hand it over
    in one message at once (no ``100 Continue`` to send, the client still there)."""
    return not (
        cycle.more_body
        or cycle.disconnected
        or cycle.response_complete
        or cycle.waiting_for_100_continue
    )


def _take_body(cycle: RequestResponseCycle) -> bytes:
    """What uvicorn's ``receive()`` does for a body that has arrived whole, without the
    coroutine and the message: resume reading, clear the event, hand the body over."""
    cycle.flow.resume_reading()
    cycle.message_event.clear()
    body = bytes(cycle.body)
    cycle.body = bytearray()
    return body


async def send_response(
    send: Send, status: int, body: bytes, headers: Sequence[tuple[bytes, bytes]]
) -> None:
    """Send a complete response; ``headers`` get a ``content-length``.

    Sent straight from uvicorn's httptools protocol, the response is written by
    :func:`_write_whole` in one socket write; through any other ``send`` as two ASGI messages.
    """
    cycle = getattr(send, "__self__", None)
    if type(cycle) is RequestResponseCycle and _write_whole(cycle, status, body, headers):
        return
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [*headers, (b"content-length", str(len(body)).encode())],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body})


def _write_whole(
    cycle: RequestResponseCycle, status: int, body: bytes, headers: Sequence[tuple[bytes, bytes]]
) -> bool:
    """What uvicorn's ``RequestResponseCycle.send`` does for a ``http.response.start`` with a
    ``content-length`` and a final ``http.response.body``, with the head and the body in one
    socket write (each write on a TCP socket runs the network stack, on loopback the receiver's
    side too: the biggest CPU cost per small response on the loop) and without two ASGI messages
    and their checks. False (nothing done) for what it leaves to uvicorn: a response already
    started, a client gone, writes paused, uvicorn's access log, HEAD, a status uvicorn has no
    line for, and headers it would refuse or that set the framing."""
    if (
        cycle.response_started
        or cycle.disconnected
        or cycle.flow.write_paused
        or cycle.access_log
        or cycle.scope["method"] == "HEAD"
        or status not in STATUS_LINE
    ):
        return False
    defaults = default_lines(cycle.default_headers)
    if defaults is None:
        return False
    lowered: list[tuple[bytes, bytes]] = []
    asks_close = False
    for name, value in headers:
        if HEADER_RE.search(name) or HEADER_VALUE_RE.search(value):
            return False
        name = name.lower()
        if name in _FRAMING:
            return False
        if name == b"connection" and b"close" in (t.strip() for t in value.lower().split(b",")):
            asks_close = True
        lowered.append((name, value))
    if asks_close:
        cycle.keep_alive = False
    cycle.response_started = True
    cycle.waiting_for_100_continue = False
    cycle.chunked_encoding = False
    transport = cycle.transport
    # The app's own "connection: close" is among its headers; else add one if not kept alive.
    close = not cycle.keep_alive and not asks_close
    write_response(transport, status, defaults, lowered, body, close=close)
    cycle.response_complete = True
    cycle.message_event.set()
    if not cycle.keep_alive:
        transport.close()
    cycle.on_response()
    return True


def write_response(
    transport: asyncio.WriteTransport,
    status: int,
    defaults: bytes,
    headers: Iterable[tuple[bytes, bytes]],
    body: bytes,
    *,
    close: bool,
) -> None:
    """A whole HTTP/1.1 response in one socket write (each write on a TCP socket runs the network
    stack, on loopback the receiver's side too): the status line, ``defaults`` (uvicorn's default
    header lines, :func:`default_lines`), ``headers`` as given (lower-case names, valid values,
    no framing: the caller's to ensure), ``content-length``, and ``connection: close`` if
    ``close``. A small body is copied into the head; a large one follows it in a ``writev``."""
    head = [STATUS_LINE[status], defaults]
    for name, value in headers:
        head += (name, b": ", value, b"\r\n")
    head += (b"content-length: ", str(len(body)).encode(), b"\r\n")
    if close:
        head.append(b"connection: close\r\n")
    head.append(b"\r\n")
    if len(body) < _JOIN_BELOW:
        head.append(body)
        transport.write(b"".join(head))
    else:
        transport.writelines([b"".join(head), body])


# uvicorn's default headers (the Date, refreshed every second: a new list) as head lines.
_defaults_seen: list[object] = [None, b""]


def default_lines(defaults: list[tuple[bytes, bytes]]) -> bytes | None:
    """``defaults`` as head lines, or None if uvicorn's own check would refuse one."""
    if defaults is _defaults_seen[0]:
        lines: bytes = _defaults_seen[1]  # type: ignore[assignment]
        return lines
    parts: list[bytes] = []
    for name, value in defaults:
        name = name.lower()
        if HEADER_RE.search(name) or HEADER_VALUE_RE.search(value) or name in _FRAMING:
            return None
        if name == b"connection":
            return None
        parts += (name, b": ", value, b"\r\n")
    lines = b"".join(parts)
    _defaults_seen[:] = [defaults, lines]
    return lines


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
