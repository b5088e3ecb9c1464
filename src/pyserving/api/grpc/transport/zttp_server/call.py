"""One RPC on the zttp server: decode the request message(s), run the servicer's behaviour as
an asyncio task, encode the response(s) and the status.

The contract with :class:`~.connection.Http2Connection`: the connection creates a :class:`Call`
per request stream, feeds it DATA (:meth:`Call.feed`) and the end of the request
(:meth:`Call.end_request`), and calls :meth:`Call.cancel` when the client resets the stream or
the server gives up on it. The call sends everything through the connection and tells it when it
is over (``call_done``). Exactly one status is sent per call, by the task, in ``_finish``.

A call with a unary request starts its handler eagerly (see ``eager``) once the request has
arrived: a handler that never suspends is served inside the connection's ``data_received``, and
its response leaves with that callback's write.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, cast

import grpc
from grpc.aio import AbortError

from pyserving.api.grpc.transport.zttp_server import wire
from pyserving.api.grpc.transport.zttp_server.context import ServicerContext
from pyserving.errors import Code, ServingError
from pyserving.net.eager import start_eagerly

if TYPE_CHECKING:
    from pyserving.api.grpc.transport.zttp_server.connection import Http2Connection
    from pyserving.api.grpc.transport.zttp_server.handlers import MethodHandler

logger = logging.getLogger("pyserving.grpc")

_CONTENT_TYPE: Final = (b"content-type", b"application/grpc")
_ACCEPT_ENCODING: Final = (b"grpc-accept-encoding", wire.SUPPORTED_ENCODINGS)
_RESPONSE_HEADERS: Final = [_CONTENT_TYPE, _ACCEPT_ENCODING]
_OK_TRAILERS: Final = [(b"grpc-status", b"0")]
# Messages a streaming-request handler may leave unread before the call fails.
MAX_QUEUED_MESSAGES: Final = 64
EOF: Final[object] = grpc.aio.EOF  # type: ignore[attr-defined]  # the end of a request stream


# A servicer method as grpc stores it: (request or request iterator, context) -> anything.
Behavior = Callable[[Any, Any], Any]


@dataclass(frozen=True, slots=True)
class CallLimits:
    max_receive: int
    max_send: int


class Ending(enum.Enum):
    """Why a call's task was cancelled, which decides the status sent."""

    CLIENT_RESET = "client reset"  # nothing is sent: the stream is gone
    DEADLINE = "deadline"
    SHUTDOWN = "shutdown"


def status_trailers(
    code: grpc.StatusCode, details: str | None, metadata: wire.Metadata = ()
) -> list[tuple[bytes, bytes]]:
    trailers = [(b"grpc-status", str(code.value[0]).encode("ascii"))]
    if details:
        trailers.append((b"grpc-message", wire.encode_message_text(details)))
    if metadata:
        trailers.extend(wire.encode_metadata(metadata))
    return trailers


class Call:
    """One request stream (see the module docstring)."""

    def __init__(
        self,
        conn: Http2Connection,
        stream_id: int,
        handler: MethodHandler,
        headers: Any,
        limits: CallLimits,
        timeout: float | None,
        encoding: str | None,
    ) -> None:
        self.stream_id = stream_id
        self._conn = conn
        self._handler = handler
        self._limits = limits
        self._reader = wire.MessageReader(limits.max_receive)
        self._encoding = encoding
        self._request_done = False
        self._headers_sent = False
        self._finished = False
        self.ending: Ending | None = None
        self._queue: asyncio.Queue[tuple[bool, bytes] | None] | None = None
        self.task: asyncio.Task[None] | None = None
        self.started = False  # the handler started (counted in the server's active RPCs)
        self._timer: asyncio.TimerHandle | None = None
        deadline = None
        if timeout is not None:
            deadline = time.monotonic() + timeout
            self._timer = conn.loop.call_later(timeout, self.cancel, Ending.DEADLINE)
        self.context = ServicerContext(self, headers, conn.peer, deadline)
        if handler.request_streaming:
            self._queue = asyncio.Queue()
            self._start(eager=False)  # not eager: the connection has not registered the call yet

    # Driven by the connection.
    def feed(self, data: bytes) -> None:
        try:
            self._reader.feed(data)
        except ServingError as error:
            self.fail(error)
            return
        queue = self._queue
        if queue is not None:
            messages, self._reader.messages = self._reader.messages, []
            for message in messages:
                queue.put_nowait(message)
            if queue.qsize() > MAX_QUEUED_MESSAGES:
                self.fail(
                    ServingError(
                        Code.RESOURCE_EXHAUSTED,
                        f"More than {MAX_QUEUED_MESSAGES} request messages arrived unread",
                    )
                )
        elif len(self._reader.messages) > 1:
            self.fail(
                ServingError(Code.UNIMPLEMENTED, "Too many request messages for a unary call")
            )

    def end_request(self) -> None:
        self._request_done = True
        if self._finished:
            return
        if self._reader.partial:
            self.fail(ServingError(Code.INTERNAL, "The request ended inside a message"))
        elif self._queue is not None:
            self._queue.put_nowait(None)
        elif not self.started:
            if not self._reader.messages:
                self.fail(ServingError(Code.INTERNAL, "The request has no message"))
            else:
                self._start(eager=True)

    def cancel(self, ending: Ending) -> None:
        """Stop the call: the task is cancelled, and the status follows from ``ending``."""
        if self._finished or self.ending is not None:
            return
        self.ending = ending
        if self.task is not None:
            self.task.cancel()
        else:
            self._finish_cancelled()

    def fail(self, error: ServingError) -> None:
        """End the call with ``error`` before or while its handler runs."""
        if self._finished:
            return
        if self.task is not None:
            self.task.cancel()
        self._send_status(_grpc_status(error.code), error.message)
        self._close(cancelled=False)

    # The handler's side (CallSink for the context).
    def send_initial_metadata(self, metadata: wire.Metadata) -> None:
        if self._headers_sent:
            raise RuntimeError("Initial metadata was already sent")
        self._send_headers(metadata)

    async def write_message(self, message: object) -> None:
        payload = self._serialize(message)
        if not self._headers_sent:
            self._send_headers(())
        stream = self._conn.stream(self.stream_id)
        if stream is not None:
            stream.send_data(wire.frame(payload))
            self._conn.schedule_flush()
        await self._conn.writable()

    async def read_message(self) -> object:
        if self._queue is None:
            raise RuntimeError("read() is only for calls with a request stream")
        item = await self._queue.get()
        if item is None:
            self._queue.put_nowait(None)  # later reads see the end too
            return EOF
        return self._decode(item)

    # The task.
    def _start(self, *, eager: bool) -> None:
        self.started = True
        one_at_a_time = self._conn.started(self)
        loop = self._conn.loop
        if not (eager and one_at_a_time):
            self.task = loop.create_task(self._run())
            return
        try:
            self.task = start_eagerly(loop, self._run())
        except Exception:  # _run answers every error; this is a bug, kept to this call
            logger.exception("Unexpected error in gRPC call for stream %d", self.stream_id)
            self._close(cancelled=False)

    async def _run(self) -> None:
        handler, context = self._handler, self.context
        try:
            request: object
            if self._queue is not None:
                request = self._request_stream()
            else:
                request = self._decode(self._reader.messages[0])
            if handler.response_streaming:
                await self._run_streaming(request)
                return
            behavior = cast(Behavior, handler.unary_unary or handler.stream_unary)
            result = behavior(request, context)
            if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                result = await result
            if self._finished:
                return
            code = context.status_code
            if code is None or code == grpc.StatusCode.OK:
                payload = self._serialize(result)
                self._send_unary(payload)
            else:
                self._send_status(code, context.status_details)
        except AbortError:
            code = context.status_code or grpc.StatusCode.UNKNOWN
            self._send_status(code, context.status_details)
        except asyncio.CancelledError:
            self._finish_cancelled()
            return
        except ServingError as error:
            self._send_status(_grpc_status(error.code), error.message)
        except Exception as exc:
            logger.exception("Unexpected error in gRPC handler for stream %d", self.stream_id)
            self._send_status(grpc.StatusCode.UNKNOWN, f"Unexpected {type(exc).__name__}: {exc}")
        self._close(cancelled=False)

    async def _run_streaming(self, request: object) -> None:
        handler, context = self._handler, self.context
        behavior = cast(Behavior, handler.unary_stream or handler.stream_stream)
        result = behavior(request, context)
        if hasattr(result, "__aiter__"):
            async for message in result:
                await self.write_message(message)
        elif asyncio.iscoroutine(result):
            await result
        else:  # a sync generator
            for message in result:
                await self.write_message(message)
        code = context.status_code or grpc.StatusCode.OK
        self._send_status(code, context.status_details)
        self._close(cancelled=False)

    async def _request_stream(self) -> AsyncIterator[object]:
        while True:
            message = await self.read_message()
            if message is EOF:
                return
            yield message

    def _finish_cancelled(self) -> None:
        if self._finished:
            return
        if self.ending is Ending.DEADLINE:
            self._send_status(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded")
        elif self.ending is Ending.SHUTDOWN:
            self._send_status(grpc.StatusCode.UNAVAILABLE, "The server is shutting down")
        self._close(cancelled=True)

    def _close(self, *, cancelled: bool) -> None:
        if self._finished:
            return
        self._finished = True
        if self._timer is not None:
            self._timer.cancel()
        if not self._request_done and self.ending is not Ending.CLIENT_RESET:
            # The status is sent; the client need not send the rest of its request.
            self._conn.reset(self.stream_id)
        self.context.finish(cancelled=cancelled)
        self._conn.call_done(self)

    # Encoding.
    def _decode(self, item: tuple[bool, bytes]) -> object:
        compressed, payload = item
        if compressed:
            if self._encoding is None or self._encoding == "identity":
                raise ServingError(
                    Code.INTERNAL, "A compressed message arrived without a grpc-encoding header"
                )
            payload = wire.Decompressor(self._encoding).inflate(payload, self._limits.max_receive)
        deserialize = self._handler.request_deserializer
        if deserialize is None:
            return payload
        try:
            return deserialize(payload)
        except Exception as exc:
            raise ServingError(
                Code.INTERNAL, f"Failed to deserialize the request message: {exc}"
            ) from exc

    def _serialize(self, message: object) -> bytes:
        serialize = self._handler.response_serializer
        payload: bytes = serialize(message) if serialize is not None else message  # type: ignore[assignment]
        if len(payload) > self._limits.max_send:
            raise wire.too_large("Sent", len(payload), self._limits.max_send)
        return payload

    # Sending.
    def _send_headers(self, metadata: wire.Metadata) -> None:
        stream = self._conn.stream(self.stream_id)
        self._headers_sent = True
        if stream is None:
            return
        headers = _RESPONSE_HEADERS
        if metadata:
            headers = [*_RESPONSE_HEADERS, *wire.encode_metadata(metadata)]
        stream.send_response(200, headers)
        self._conn.schedule_flush()

    def _send_unary(self, payload: bytes) -> None:
        """Headers, the message and OK trailers at once: the common, fast case."""
        if not self._headers_sent:
            self._send_headers(())
        stream = self._conn.stream(self.stream_id)
        if stream is None:
            return
        stream.send_data(wire.frame(payload))
        trailing = self.context.trailing
        stream.end_message(
            status_trailers(grpc.StatusCode.OK, None, trailing) if trailing else _OK_TRAILERS
        )
        self._conn.schedule_flush()

    def _send_status(self, code: grpc.StatusCode, details: str | None) -> None:
        stream = self._conn.stream(self.stream_id)
        if stream is None:
            return
        trailers = status_trailers(code, details, self.context.trailing)
        if self._headers_sent:
            stream.end_message(trailers)
        else:  # trailers-only response
            self._headers_sent = True
            stream.send_response(200, [*_RESPONSE_HEADERS, *trailers], end_stream=True)
        self._conn.schedule_flush()


def _grpc_status(code: Code) -> grpc.StatusCode:
    return _STATUS.get(code, grpc.StatusCode.UNKNOWN)


_STATUS: Final = {Code(status.value[0]): status for status in grpc.StatusCode}
