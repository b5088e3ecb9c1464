"""gRPC over HTTP/2, the parts above the frames: length-prefixed messages, ``grpc-timeout``,
``grpc-message`` escaping, metadata and message compression (the gRPC "PROTOCOL-HTTP2" spec).

Limits are enforced while bytes arrive: a message whose declared length exceeds the receive limit
is refused before its body is buffered, and a compressed message is inflated only up to the limit,
so nothing a client sends makes the server allocate more than ``max_receive`` per message.
"""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Iterable, Sequence
from typing import Final
from urllib.parse import quote, unquote

from pyserving.errors import Code, ServingError

PREFIX: Final = struct.Struct(">BI")  # compressed flag, message length
# grpc-timeout units (spec: TimeoutValue is at most 8 ASCII digits) in seconds.
_TIMEOUT_UNITS: Final = {
    ord("H"): 3600.0,
    ord("M"): 60.0,
    ord("S"): 1.0,
    ord("m"): 1e-3,
    ord("u"): 1e-6,
    ord("n"): 1e-9,
}
# Bytes sent as-is in grpc-message: printable ASCII except '%' (the spec's percent-encoding).
_MESSAGE_SAFE: Final = "".join(chr(c) for c in range(0x20, 0x7F) if c not in (0x25,))
SUPPORTED_ENCODINGS: Final = b"identity,gzip,deflate"

Metadata = tuple[tuple[str, str | bytes], ...]


def parse_timeout(value: bytes) -> float | None:
    """Seconds from a ``grpc-timeout`` value such as ``b"100m"``; None when malformed (the
    call then runs without a deadline, as grpc does)."""
    if not 2 <= len(value) <= 9 or not value[:-1].isdigit():
        return None
    unit = _TIMEOUT_UNITS.get(value[-1])
    return None if unit is None else int(value[:-1]) * unit


def encode_message_text(message: str) -> bytes:
    """``grpc-message``: UTF-8, percent-encoding everything but printable ASCII other than '%'."""
    return quote(message, safe=_MESSAGE_SAFE, encoding="utf-8").encode("ascii")


def decode_message_text(value: bytes) -> str:
    return unquote(value.decode("ascii", errors="replace"), errors="replace")


def frame(payload: bytes, *, compressed: bool = False) -> bytes:
    return PREFIX.pack(1 if compressed else 0, len(payload)) + payload


class Decompressor:
    """Inflates a message compressed with the call's ``grpc-encoding``, bounded by ``limit``."""

    def __init__(self, encoding: str) -> None:
        if encoding == "gzip":
            self._wbits = 16 + zlib.MAX_WBITS
        elif encoding == "deflate":
            self._wbits = zlib.MAX_WBITS
        else:
            raise ServingError(
                Code.UNIMPLEMENTED,
                f"Message compressed with grpc-encoding {encoding!r}, which this server does "
                f"not support (supported: {SUPPORTED_ENCODINGS.decode()})",
            )

    def inflate(self, data: bytes, limit: int) -> bytes:
        inflater = zlib.decompressobj(self._wbits)
        try:
            out = inflater.decompress(data, limit + 1)
        except zlib.error as exc:
            raise ServingError(Code.INTERNAL, f"Could not decompress the message: {exc}") from exc
        if len(out) > limit:
            raise too_large("Received", limit + 1, limit)
        return out


def too_large(direction: str, size: int, limit: int) -> ServingError:
    """grpc's own wording, so clients see the same message on both stacks."""
    return ServingError(
        Code.RESOURCE_EXHAUSTED,
        f"{direction} message larger than max ({size} vs. {limit})",
    )


class MessageReader:
    """Splits a request body into messages as DATA arrives (messages may span frames). Chunks
    are kept as received and joined once per message, so a large message is copied once."""

    __slots__ = ("_chunks", "_flag", "_limit", "_need", "_size", "messages")

    def __init__(self, limit: int) -> None:
        self._chunks: list[bytes] = []
        self._size = 0
        self._need = -1  # payload length of the message being read; -1 = prefix not read yet
        self._flag = 0
        self._limit = limit
        self.messages: list[tuple[bool, bytes]] = []
        """Complete (compressed flag, payload) pairs not yet taken."""

    def feed(self, data: bytes) -> None:
        """Raises RESOURCE_EXHAUSTED for a message over the limit, INTERNAL for a bad prefix."""
        self._chunks.append(data)
        self._size += len(data)
        while True:
            if self._need < 0:
                if self._size < 5:
                    return
                flag, length = PREFIX.unpack(self._take(5))
                if flag > 1:
                    raise ServingError(Code.INTERNAL, f"Invalid message compression flag {flag}")
                if length > self._limit:
                    raise too_large("Received", length, self._limit)
                self._flag, self._need = flag, length
            if self._size < self._need:
                return
            self.messages.append((self._flag == 1, self._take(self._need)))
            self._need = -1

    def _take(self, count: int) -> bytes:
        chunks = self._chunks
        if count == 0:
            return b""
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        head, rest = data[:count], data[count:]
        self._chunks = [rest] if rest else []
        self._size -= count
        return head

    @property
    def partial(self) -> bool:
        """True when the body ended inside a message."""
        return self._size > 0 or self._need >= 0


def decode_metadata(headers: Iterable[tuple[bytes, bytes]]) -> Metadata:
    """Custom metadata from request headers: pseudo-headers and HTTP/gRPC transport headers are
    not metadata; ``-bin`` values are base64 (padding optional) and become bytes."""
    items: list[tuple[str, str | bytes]] = []
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin-1").lower()
        if name.startswith(":") or name in _RESERVED:
            continue
        if name.endswith("-bin"):
            padded = raw_value + b"=" * (-len(raw_value) % 4)
            try:
                items.append((name, base64.b64decode(padded)))
            except ValueError:
                continue  # grpc drops undecodable binary metadata too
        else:
            items.append((name, raw_value.decode("latin-1")))
    return tuple(items)


def encode_metadata(
    metadata: Sequence[tuple[str, str | bytes]] | None,
) -> list[tuple[bytes, bytes]]:
    """Metadata to headers; a ``-bin`` key's value is sent as unpadded base64."""
    headers: list[tuple[bytes, bytes]] = []
    for key, value in metadata or ():
        name = key.lower()
        if name.endswith("-bin"):
            raw = value if isinstance(value, bytes) else value.encode("utf-8")
            headers.append((name.encode("ascii"), base64.b64encode(raw).rstrip(b"=")))
        else:
            text = value.decode("latin-1") if isinstance(value, bytes) else value
            headers.append((name.encode("ascii"), text.encode("latin-1")))
    return headers


_RESERVED: Final = frozenset(
    {
        "content-type",
        "te",
        "grpc-timeout",
        "grpc-encoding",
        "grpc-accept-encoding",
        "content-length",
        "host",
        "connection",
        "accept-encoding",
    }
)
