"""One HTTP/2 connection of the zttp gRPC server: an ``asyncio.Protocol`` that feeds bytes to
zttp's HTTP/2 state machine, turns its events into :class:`~.call.Call` objects and writes what
zttp queues, coalescing every response produced in one loop iteration into one write.

Facts about zttp 0.0.35 this module relies on (checked by tests/transport/test_zttp_limits.py):

* It ends a connection with GOAWAY ENHANCE_YOUR_CALM after 4,096 streams or 256 client resets.
  This connection moves clients off well before either (:data:`STREAM_BUDGET`,
  :data:`RESET_BUDGET`) with the two-step graceful GOAWAY of RFC 9113 §6.8 (as grpc-go and
  nghttp2 do): a GOAWAY NO_ERROR with the largest stream id and a PING; when the PING's
  acknowledgement arrives (every stream the client opened before it read the first GOAWAY has
  arrived by then) or after :data:`GOAWAY_PING_TIMEOUT_S`, the final GOAWAY with the last stream
  taken. Streams arriving in between are served; a client that keeps opening streams gets the
  final GOAWAY early (:data:`STREAM_HARD_LIMIT`, :data:`RESET_HARD_LIMIT`). Once the open calls
  finish, the connection half-closes and reads (discarding) until the client closes or
  :data:`LINGER_S` passes: closing a socket with unread bytes makes the kernel send RST, and the
  client would lose the GOAWAY and the streams it was still writing instead of retrying them on a
  new connection.
* Its SETTINGS carry no INITIAL_WINDOW_SIZE (so 64 KiB windows) and it does not police the
  receive window; it returns credit as DATA is consumed. The preface is rewritten here to
  advertise larger windows (:func:`preface`), so a large request is not throttled by round
  trips. Memory stays bounded by the per-message receive limit, checked as bytes arrive.
* It answers PINGs and acknowledges SETTINGS itself, and passes a PING acknowledgement it did not
  ask for through as an event: the server's own keepalive PINGs (``grpc.keepalive_time_ms``) are
  written as raw frames between zttp's output and their acknowledgements read back that way. A
  peer that does not acknowledge within ``grpc.keepalive_timeout_ms`` is disconnected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from dataclasses import dataclass
from typing import Final, cast

import zttp

from pyserving.api.grpc.transport.zttp_server import wire
from pyserving.api.grpc.transport.zttp_server.call import Call, CallLimits, Ending
from pyserving.api.grpc.transport.zttp_server.handlers import HandlerRegistry
from pyserving.net.eager import Arrivals

logger = logging.getLogger("pyserving.grpc")

STREAM_BUDGET: Final = 4096 - 3 * 128
RESET_BUDGET: Final = 256 - 128 - 32
STREAM_HARD_LIMIT: Final = 128  # streams past STREAM_BUDGET before the final GOAWAY is forced
RESET_HARD_LIMIT: Final = 64  # resets past RESET_BUDGET before the final GOAWAY is forced
GOAWAY_PING_TIMEOUT_S: Final = 5.0
LINGER_S: Final = 1.0
_LAST_STREAM_ID: Final = 2**31 - 1
_GOAWAY_FRAME: Final = 0x7
_SETTINGS_FRAME: Final = 0x4
_WINDOW_UPDATE_FRAME: Final = 0x8
_INITIAL_WINDOW_SIZE: Final = 0x4
_DEFAULT_WINDOW: Final = 65_535
_FRAME_HEADER: Final = struct.Struct(">BHBBI")  # length is 24 bits: high byte + low 16 bits
_PING_FRAME: Final = 0x6
_KEEPALIVE_DATA: Final = b"pyserv-k"  # the 8 opaque bytes of the server's keepalive PINGs
_GOAWAY_PING_DATA: Final = b"pyserv-g"  # ... and of the PING after the first GOAWAY
_NO_ERROR: Final = 0
# zttp is fed large reads in pieces of one maximum-size frame (16 KiB payload + 9-byte header):
# measured on a 16 MiB request, parsing 256 KiB reads (uvloop's read size) whole costs ~10% more
# CPU than in such pieces. The pieces are bytes, not memoryview slices: fed slices of a
# memoryview, zttp lost requests under load (the many-RPCs test in tests/transport/).
FEED_SLICE: Final = 16_393


@dataclass(frozen=True, slots=True)
class ConnectionSettings:
    call_limits: CallLimits
    stream_window: int
    connection_window: int
    max_concurrent_rpcs: int | None
    keepalive_seconds: float | None = None
    keepalive_timeout_seconds: float = 20.0


class ServerState:
    """What every connection of one server shares."""

    def __init__(self, registry: HandlerRegistry, settings: ConnectionSettings) -> None:
        self.registry = registry
        self.settings = settings
        self.connections: set[Http2Connection] = set()
        self.active_rpcs = 0
        self.arrivals = Arrivals()  # whether calls arrive one at a time
        self.draining = False
        self.idle = asyncio.Event()
        self.idle.set()


def _frame(kind: int, flags: int, stream_id: int, payload: bytes) -> bytes:
    size = len(payload)
    return _FRAME_HEADER.pack(size >> 16, size & 0xFFFF, kind, flags, stream_id) + payload


def preface(zttp_preface: bytes, stream_window: int, connection_window: int) -> bytes:
    """zttp's server preface (one SETTINGS frame) with INITIAL_WINDOW_SIZE set to
    ``stream_window``, followed by a WINDOW_UPDATE raising the connection window."""
    kind = zttp_preface[3]
    size = int.from_bytes(zttp_preface[:3], "big")
    if kind != _SETTINGS_FRAME or len(zttp_preface) != 9 + size:
        return zttp_preface  # not the expected shape: keep zttp's own (64 KiB windows)
    payload = zttp_preface[9:]
    params = [
        (ident, value)
        for ident, value in struct.iter_unpack(">HI", payload)
        if ident != _INITIAL_WINDOW_SIZE
    ]
    params.append((_INITIAL_WINDOW_SIZE, stream_window))
    settings = b"".join(struct.pack(">HI", ident, value) for ident, value in params)
    out = _frame(_SETTINGS_FRAME, 0, 0, settings)
    if connection_window > _DEFAULT_WINDOW:
        increment = struct.pack(">I", connection_window - _DEFAULT_WINDOW)
        out += _frame(_WINDOW_UPDATE_FRAME, 0, 0, increment)
    return out


class Http2Connection(asyncio.Protocol):
    """One client connection (see the module docstring)."""

    def __init__(self, state: ServerState, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.peer = "unknown"
        self._state = state
        self._h2 = zttp.Connection(zttp.SERVER, zttp.HTTP2)
        self._transport: asyncio.Transport | None = None
        self._calls: dict[int, Call] = {}
        self._flush_scheduled = False
        self._streams_seen = 0
        self._resets_seen = 0
        self._last_stream = 0
        self._draining = False  # the first GOAWAY is sent: the client opens no more streams
        self._goaway_sent = False  # the final GOAWAY is sent: later streams are refused
        self._closing = False  # close once the open calls finish
        self._goaway_timer: asyncio.TimerHandle | None = None
        self._lingering: asyncio.Transport | None = None  # half-closed, reading until EOF
        self._write_paused: asyncio.Future[None] | None = None
        self._keepalive: asyncio.TimerHandle | None = None

    # asyncio.Protocol.
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's are not its subclasses
        self._transport = transport
        self.peer = _peer_name(transport)
        self._state.connections.add(self)
        settings = self._state.settings
        self._h2.initiate_connection()
        transport.write(
            preface(self._h2.data_to_send(), settings.stream_window, settings.connection_window)
        )
        if self._state.draining:
            self.goaway()
        self._schedule_keepalive()

    def data_received(self, data: bytes) -> None:
        if self._lingering is not None:
            return  # half-closed: read only so that closing does not reset the connection
        # Calls served while parsing (eagerly started handlers) leave with the flush below.
        self._flush_scheduled = True
        try:
            if len(data) <= FEED_SLICE:
                self._receive(data)
            else:  # see FEED_SLICE
                for start in range(0, len(data), FEED_SLICE):
                    if not self._receive(data[start : start + FEED_SLICE]):
                        return
        finally:
            self._flush()

    def _receive(self, data: bytes) -> bool:
        """Parse ``data`` and act on its events; False when the connection is being aborted."""
        h2 = self._h2
        try:
            h2.receive_data(data)
            while True:
                event = h2.next_event()
                kind = type(event)
                if kind is zttp.Data:
                    call = self._calls.get(event.stream_id)  # type: ignore[union-attr]
                    if call is not None:
                        call.feed(event.data)  # type: ignore[union-attr]
                elif kind is zttp.Request:
                    self._on_request(event)  # type: ignore[arg-type]
                elif kind is zttp.EndOfMessage:
                    call = self._calls.get(event.stream_id)  # type: ignore[union-attr]
                    if call is not None:
                        call.end_request()
                elif event is zttp.NEED_DATA:
                    break
                elif kind is zttp.RstStream:
                    self._on_reset(event)  # type: ignore[arg-type]
                elif kind is zttp.Ping:
                    if event.ack and event.data == _KEEPALIVE_DATA:  # type: ignore[union-attr]
                        self._schedule_keepalive()
                    elif event.ack and event.data == _GOAWAY_PING_DATA:  # type: ignore[union-attr]
                        self._final_goaway()
                elif kind is zttp.GoAway:
                    self._peer_closed()
                elif event is zttp.CONNECTION_CLOSED:
                    self._peer_closed()
                    break
        except zttp.ProtocolError as exc:
            logger.debug("HTTP/2 protocol error from %s: %s", self.peer, exc)
            self._abort_connection()
            return False
        return True

    def eof_received(self) -> bool | None:
        if self._lingering is None:
            self._peer_closed()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._state.connections.discard(self)
        for timer in (self._keepalive, self._goaway_timer):
            if timer is not None:
                timer.cancel()
        self._lingering = None
        for call in list(self._calls.values()):
            call.cancel(Ending.CLIENT_RESET)
        self._transport = None
        if self._write_paused is not None and not self._write_paused.done():
            self._write_paused.set_result(None)

    def pause_writing(self) -> None:
        if self._write_paused is None or self._write_paused.done():
            self._write_paused = self.loop.create_future()

    def resume_writing(self) -> None:
        if self._write_paused is not None and not self._write_paused.done():
            self._write_paused.set_result(None)

    # Used by calls.
    def stream(self, stream_id: int) -> zttp.Stream | None:
        if self._transport is None:
            return None
        try:
            return self._h2.stream(stream_id)
        except zttp.ProtocolError:
            return None

    def reset(self, stream_id: int) -> None:
        stream = self.stream(stream_id)
        if stream is not None:
            try:
                stream.reset(zttp.H2ErrorCode.NO_ERROR)
            except zttp.ProtocolError:
                return
            self.schedule_flush()

    def schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)

    async def writable(self) -> None:
        """Wait while the socket's write buffer is full (streaming responses)."""
        paused = self._write_paused
        if paused is not None and not paused.done():
            await paused

    def started(self, call: Call) -> bool:
        """``call``'s handler starts; returns whether calls arrive one at a time in the server
        (:class:`pyserving.net.eager.Arrivals`): then the call may start eagerly (see
        ``call``); while calls overlap, they start as tasks."""
        state = self._state
        state.active_rpcs += 1
        state.idle.clear()
        return state.arrivals.one_at_a_time(state.active_rpcs)

    def call_done(self, call: Call) -> None:
        # The call's status is written by the flush it scheduled, at the end of this loop
        # iteration with whatever else is ready by then. Writing it here instead when no other
        # call shares the connection saved ~2 µs of latency at c=1 but cost ~2 µs more server
        # CPU per RPC with 32 single-stream connections (h2load), so it is not done.
        self._calls.pop(call.stream_id, None)
        if call.started:
            state = self._state
            state.active_rpcs -= 1
            if state.active_rpcs == 0:
                state.idle.set()
        if self._closing and not self._calls:
            self.schedule_flush()
            self.loop.call_soon(self._close_when_flushed)

    # Shutdown.
    def goaway(self) -> None:
        """Graceful GOAWAY, first step: no new streams, please; the final GOAWAY follows the
        acknowledgement of the PING sent with it (see the module docstring)."""
        transport = self._transport
        if self._draining or transport is None:
            return
        self._draining = True
        self._flush()  # whole zttp frames first, then the GOAWAY and the PING
        goaway = struct.pack(">II", _LAST_STREAM_ID, _NO_ERROR)
        transport.write(
            _frame(_GOAWAY_FRAME, 0, 0, goaway) + _frame(_PING_FRAME, 0, 0, _GOAWAY_PING_DATA)
        )
        self._goaway_timer = self.loop.call_later(GOAWAY_PING_TIMEOUT_S, self._final_goaway)

    def _final_goaway(self) -> None:
        """Streams up to the last one taken are served, later ones refused; close when done."""
        if self._goaway_sent or self._transport is None:
            return
        self._draining = self._goaway_sent = self._closing = True
        if self._goaway_timer is not None:
            self._goaway_timer.cancel()
        with contextlib.suppress(zttp.ProtocolError):
            self._h2.close(zttp.H2ErrorCode.NO_ERROR, self._last_stream)
        self._flush()
        if not self._calls:
            self.loop.call_soon(self._close_when_flushed)

    def cancel_all(self) -> None:
        for call in list(self._calls.values()):
            call.cancel(Ending.SHUTDOWN)
        self._final_goaway()
        self.schedule_flush()
        self.loop.call_soon(self._close_when_flushed)

    # Keepalive.
    def _schedule_keepalive(self) -> None:
        """Next PING after the keepalive interval (called at start and on each acknowledgement)."""
        interval = self._state.settings.keepalive_seconds
        if interval is None or self._transport is None:
            return
        if self._keepalive is not None:
            self._keepalive.cancel()
        self._keepalive = self.loop.call_later(interval, self._send_keepalive)

    def _send_keepalive(self) -> None:
        transport = self._transport
        if transport is None:
            return
        self._flush()  # whole zttp frames first, then the PING
        transport.write(_frame(_PING_FRAME, 0, 0, _KEEPALIVE_DATA))
        timeout = self._state.settings.keepalive_timeout_seconds
        self._keepalive = self.loop.call_later(timeout, self._keepalive_expired)

    def _keepalive_expired(self) -> None:
        logger.info("gRPC client %s did not answer a keepalive PING: closing", self.peer)
        if self._transport is not None:
            self._transport.abort()

    # Events.
    def _on_request(self, request: zttp.Request) -> None:
        stream_id = request.stream_id
        if self._goaway_sent and stream_id > self._last_stream:
            self._refuse(stream_id)
            return
        self._last_stream = max(self._last_stream, stream_id)
        self._streams_seen += 1
        if self._streams_seen >= STREAM_BUDGET:
            self.goaway()
            if self._streams_seen >= STREAM_BUDGET + STREAM_HARD_LIMIT:
                self._final_goaway()
        settings = self._state.settings
        limit = settings.max_concurrent_rpcs
        path = request.path
        handler = self._state.registry.lookup(path)
        timeout = None
        encoding = None
        content_type = b""
        for name, value in request.headers:
            if name == b"grpc-timeout":
                timeout = wire.parse_timeout(value)
            elif name == b"content-type":
                content_type = value
            elif name == b"grpc-encoding":
                encoding = value.decode("latin-1")
        if request.method != b"POST" or not content_type.startswith(b"application/grpc"):
            self._reject_http(stream_id, 405 if request.method != b"POST" else 415)
        elif handler is None:
            self._trailers_only(stream_id, 12, f"Method not found: {path.decode(errors='replace')}")
        elif handler.request_streaming is False and request.end_stream:
            self._trailers_only(stream_id, 13, "The request has no message")
        elif limit is not None and self._state.active_rpcs >= limit:
            self._trailers_only(stream_id, 8, "Concurrent RPC limit exceeded!")
        else:
            call = self._calls[stream_id] = Call(
                self,
                stream_id,
                handler,
                request.headers,
                settings.call_limits,
                timeout,
                encoding,
            )
            if request.end_stream:  # no DATA or end-of-message event follows
                call.end_request()

    def _on_reset(self, event: zttp.RstStream) -> None:
        self._resets_seen += 1
        call = self._calls.get(event.stream_id)
        if call is not None:
            call.cancel(Ending.CLIENT_RESET)
        if self._resets_seen >= RESET_BUDGET:
            self.goaway()
            if self._resets_seen >= RESET_BUDGET + RESET_HARD_LIMIT:
                self._final_goaway()

    def _peer_closed(self) -> None:
        """The client said GOAWAY or closed its side: finish what runs, then close."""
        self._closing = True
        if not self._calls:
            self.loop.call_soon(self._close_when_flushed)

    # Writing.
    def _flush(self) -> None:
        self._flush_scheduled = False
        transport = self._transport
        if transport is None:
            return
        out = self._h2.data_to_send()
        if out:
            transport.write(out)

    def _close_when_flushed(self) -> None:
        """Send the final GOAWAY if not yet sent, then half-close and linger (see the module
        docstring); a transport that cannot half-close (TLS) closes."""
        transport = self._transport
        if self._calls or transport is None:
            return
        if transport.is_closing():  # the client closed its side
            self._transport = None
            transport.close()
            return
        self._final_goaway()
        self._flush()
        self._transport = None  # nothing is written from here on
        if self._keepalive is not None:
            self._keepalive.cancel()
        if not transport.can_write_eof():
            transport.close()
            return
        self._lingering = transport
        transport.write_eof()  # after the buffered bytes; data_received discards from now on
        self.loop.call_later(LINGER_S, transport.close)

    def _abort_connection(self) -> None:
        self._flush()  # zttp has queued its GOAWAY with the error
        if self._transport is not None:
            self._transport.close()

    def _refuse(self, stream_id: int) -> None:
        stream = self.stream(stream_id)
        if stream is not None:
            stream.reset(zttp.H2ErrorCode.REFUSED_STREAM)

    def _reject_http(self, stream_id: int, status: int) -> None:
        stream = self.stream(stream_id)
        if stream is not None:
            stream.send_response(status, [(b"content-type", b"text/plain")], end_stream=True)

    def _trailers_only(self, stream_id: int, code: int, message: str) -> None:
        stream = self.stream(stream_id)
        if stream is None:
            return
        headers = [
            (b"content-type", b"application/grpc"),
            (b"grpc-status", str(code).encode("ascii")),
            (b"grpc-message", wire.encode_message_text(message)),
        ]
        stream.send_response(200, headers, end_stream=True)
        # The client may still send the body; say it need not.
        with contextlib.suppress(zttp.ProtocolError):
            stream.reset(zttp.H2ErrorCode.NO_ERROR)


def _peer_name(transport: asyncio.BaseTransport) -> str:
    address = transport.get_extra_info("peername")
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = address[0], address[1]
        return f"ipv6:[{host}]:{port}" if ":" in host else f"ipv4:{host}:{port}"
    sockname = transport.get_extra_info("sockname")
    return f"unix:{sockname or address or ''}"
