"""Reading a request body on the REST port, bounded by ``--rest_api_max_body_bytes``.

A ``Content-Length`` above the limit is refused before anything is read, a body growing past it
while streaming is cut off, and a compressed body (``Content-Encoding: gzip`` or ``deflate``) may
not inflate past it either (a zip bomb is a 413 like any oversized body).
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from pyserving.errors import Code, ServingError

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


class BodyTooLarge(ServingError):
    """Answered 413 by every REST route."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            Code.RESOURCE_EXHAUSTED,
            f"Request body is larger than the limit of {limit} bytes (--rest_api_max_body_bytes)",
        )


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
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
        body = inflate(body, limit, 16 + zlib.MAX_WBITS, "gzip")
    elif b"deflate" in encoding:
        body = inflate(body, limit, zlib.MAX_WBITS, "deflate")
    return body


def inflate(body: bytes, limit: int, wbits: int, name: str) -> bytes:
    """Decompress ``body``, refusing to inflate past ``limit``."""
    inflater = zlib.decompressobj(wbits=wbits)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise ServingError(
            Code.INVALID_ARGUMENT, f"Failed to decompress {name} body: {exc}"
        ) from exc
    if len(out) > limit or inflater.unconsumed_tail:
        raise BodyTooLarge(limit)
    return out
