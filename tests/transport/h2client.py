"""A raw HTTP/2 client over a blocking socket (zttp's client state machine), for tests that
must control frames: stream counts, resets, malformed input."""

from __future__ import annotations

import socket
import struct
from typing import Any

import zttp

from tests.transport.echo import SERVICE

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
GRPC_HEADERS = [
    (b"content-type", b"application/grpc"),
    (b"te", b"trailers"),
    (b":authority", b"localhost"),
]


def grpc_frame(payload: bytes) -> bytes:
    return struct.pack(">BI", 0, len(payload)) + payload


def frame(kind: int, flags: int, stream_id: int, payload: bytes) -> bytes:
    size = len(payload)
    return struct.pack(">BHBBI", size >> 16, size & 0xFFFF, kind, flags, stream_id) + payload


class RawClient:
    def __init__(self, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.h2 = zttp.Connection(zttp.CLIENT, zttp.HTTP2)
        self.h2.initiate_connection()
        self.events: list[Any] = []
        self.closed = False
        self.flush()

    def flush(self) -> None:
        data = self.h2.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, method: str, body: bytes, *, end: bool = True) -> zttp.Stream:
        headers = [h for h in GRPC_HEADERS if h[0] != b":authority"]
        stream = self.h2.send_request(b"POST", f"/{SERVICE}/{method}".encode(), b"2", headers)
        stream.send_data(grpc_frame(body))
        if end:
            stream.end_message()
        self.flush()
        return stream

    def read_until(self, predicate: Any) -> bool:
        """Read events until ``predicate(event)`` holds; False when the connection closed."""
        while True:
            while True:
                event = self.h2.next_event()
                if event is zttp.NEED_DATA:
                    break
                if event is zttp.CONNECTION_CLOSED:
                    self.closed = True
                    return False
                self.events.append(event)
                if predicate(event):
                    return True
            self.flush()
            data = self.sock.recv(65536)
            if not data:
                self.closed = True
                return False
            self.h2.receive_data(data)

    def close(self) -> None:
        self.sock.close()
