"""HTTP/2 abuse against the zttp gRPC server: random and malformed frames (hypothesis), and the
known attacks (rapid reset, stream floods, oversized headers, window abuse, ping/settings floods).

After each case the server must still answer a gRPC call on a fresh connection promptly: it did
not crash, hang, or let the abusive connection starve others. Used by
tests/transport/test_http2_fuzz.py (a short run) and ``make fuzz-http2`` (a long one).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time

import zttp
from hypothesis import strategies as st

from tests.transport.echo import SERVICE, EchoServer
from tests.transport.h2client import PREFACE, RawClient, frame, grpc_frame

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE = 0, 1, 2, 3, 4, 5
PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 6, 7, 8, 9
END_STREAM, END_HEADERS = 0x1, 0x4
LIVENESS_TIMEOUT_S = 10.0


def hpack_int(value: int, prefix_bits: int, first: int = 0) -> bytes:
    """RFC 7541 5.1 integer with an N-bit prefix (``first`` holds the byte's other bits)."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = bytearray([first | limit])
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def literal(name: bytes, value: bytes) -> bytes:
    """A literal header field without indexing, new name, no Huffman (RFC 7541 6.2.2)."""
    return b"\x00" + hpack_int(len(name), 7) + name + hpack_int(len(value), 7) + value


def request_block(path: bytes = f"/{SERVICE}/Echo".encode(), extra: bytes = b"") -> bytes:
    return (
        literal(b":method", b"POST")
        + literal(b":scheme", b"http")
        + literal(b":path", path)
        + literal(b":authority", b"localhost")
        + literal(b"content-type", b"application/grpc")
        + literal(b"te", b"trailers")
        + extra
    )


# Hypothesis: sequences of frames, mostly plausible, some malformed.
_stream_ids = st.one_of(
    st.sampled_from([0, 1, 3, 5, 7, 2]), st.integers(min_value=0, max_value=2**31 - 1)
)
_frame_types = st.one_of(st.sampled_from(list(range(10))), st.integers(0, 255))


@st.composite
def raw_frames(draw: st.DrawFn) -> bytes:
    kind = draw(_frame_types)
    flags = draw(st.integers(0, 255))
    stream_id = draw(_stream_ids)
    if kind == HEADERS and draw(st.booleans()):
        payload = request_block()
    elif kind == DATA and draw(st.booleans()):
        payload = grpc_frame(draw(st.binary(max_size=64)))
    elif kind == WINDOW_UPDATE:
        payload = struct.pack(">I", draw(st.integers(0, 2**32 - 1)))
    elif kind == SETTINGS and draw(st.booleans()):
        pairs = draw(st.lists(st.tuples(st.integers(0, 10), st.integers(0, 2**32 - 1)), max_size=4))
        payload = b"".join(struct.pack(">HI", k, v) for k, v in pairs)
    else:
        payload = draw(st.binary(max_size=300))
    data = frame(kind, flags, stream_id, payload)
    if draw(st.integers(0, 9)) == 0:  # a length field that lies
        declared = draw(st.integers(0, 2**24 - 1))
        data = struct.pack(">I", declared)[1:] + data[3:]
    return data


frame_sequences = st.lists(raw_frames(), min_size=1, max_size=12)


def send_raw(port: int, data: bytes, *, with_preface: bool = True, linger: float = 0.05) -> None:
    """Send bytes on a new connection, read what comes back for a moment, close."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=2) as sock,
        contextlib.suppress(OSError),
    ):
        sock.sendall((PREFACE + frame(SETTINGS, 0, 0, b"") if with_preface else b"") + data)
        sock.settimeout(linger)
        deadline = time.monotonic() + linger
        while time.monotonic() < deadline and sock.recv(65536):
            pass


def assert_alive(server: EchoServer) -> None:
    """A gRPC call on a fresh connection is answered OK."""
    client = RawClient(server.port, timeout=LIVENESS_TIMEOUT_S)
    try:
        client.request("Echo", b"alive?")
        ok = client.read_until(
            lambda e: isinstance(e, zttp.EndOfMessage) and (b"grpc-status", b"0") in e.trailers
        )
        assert ok, "the server closed a well-behaved connection"
        assert any(isinstance(e, zttp.Data) and e.data.endswith(b"alive?") for e in client.events)
    finally:
        client.close()


# The known attacks.
def rapid_reset(port: int, streams: int = 5000) -> None:
    """HEADERS then RST_STREAM, as fast as possible (CVE-2023-44487)."""
    block = request_block()
    burst = b"".join(
        frame(HEADERS, END_HEADERS, sid, block) + frame(RST_STREAM, 0, sid, struct.pack(">I", 8))
        for sid in range(1, 2 * streams, 2)
    )
    send_raw(port, burst, linger=0.5)


def stream_flood(port: int, streams: int = 2000) -> None:
    """Open many streams and never finish them."""
    block = request_block()
    send_raw(
        port, b"".join(frame(HEADERS, END_HEADERS, sid, block) for sid in range(1, 2 * streams, 2))
    )


def oversized_headers(port: int) -> None:
    """A 1 MiB header value over HEADERS + CONTINUATION frames."""
    block = request_block(extra=literal(b"x-big", b"v" * (1 << 20)))
    chunks = [block[i : i + 16_384] for i in range(0, len(block), 16_384)]
    data = frame(HEADERS, 0, 1, chunks[0])
    for index, chunk in enumerate(chunks[1:], start=1):
        data += frame(CONTINUATION, END_HEADERS if index == len(chunks) - 1 else 0, 1, chunk)
    send_raw(port, data, linger=0.5)


def window_abuse(port: int) -> None:
    """Overflowing WINDOW_UPDATEs, then DATA far past the advertised window."""
    overflow = struct.pack(">I", 2**31 - 1)
    data = frame(WINDOW_UPDATE, 0, 0, overflow) * 2
    send_raw(port, data)
    body = grpc_frame(b"z" * (64 * 1024 * 1024))[:5] + b"z" * (40 * 1024 * 1024)
    flood = frame(HEADERS, END_HEADERS, 1, request_block())
    flood += b"".join(frame(DATA, 0, 1, body[i : i + 16_384]) for i in range(0, len(body), 16_384))
    send_raw(port, flood, linger=0.5)


def control_flood(port: int) -> None:
    """Tens of thousands of PINGs and SETTINGS frames without reading the answers."""
    pings = frame(PING, 0, 0, b"12345678") * 20_000
    settings = frame(SETTINGS, 0, 0, struct.pack(">HI", 4, 65_535)) * 20_000
    send_raw(port, pings + settings, linger=0.2)


ATTACKS = (rapid_reset, stream_flood, oversized_headers, window_abuse, control_flood)


def attack_while_serving(server: EchoServer, attack: object) -> None:
    """Run ``attack`` on one connection while a well-behaved client keeps calling."""
    failures: list[BaseException] = []
    done = threading.Event()

    def caller() -> None:
        while not done.is_set():
            try:
                assert_alive(server)
            except BaseException as exc:  # collected and re-raised in the test thread
                failures.append(exc)
                return

    thread = threading.Thread(target=caller)
    thread.start()
    try:
        attack(server.port)  # type: ignore[operator]
    finally:
        done.set()
        thread.join(LIVENESS_TIMEOUT_S * 2)
    if failures:
        raise failures[0]
    assert_alive(server)
