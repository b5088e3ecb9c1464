"""The ``ServicerContext`` a handler gets on this server: the ``grpc.aio.ServicerContext``
methods servicers use (abort, status, metadata, deadline, cancellation, peer, streaming writes),
with grpc.aio's semantics, so servicer code runs unchanged on either stack.

``abort`` raises ``grpc.aio.AbortError`` exactly as grpc.aio does, so ``except
grpc.aio.AbortError`` in servicer code keeps working. Methods about credentials that only grpc's
own TLS stack knows (``auth_context``, ``peer_identities``) answer as grpc does for a plaintext
peer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NoReturn, Protocol

import grpc
from grpc.aio import AbortError

from pyserving.api.grpc.transport.zttp_server.wire import Metadata, decode_metadata

MetadataArg = grpc.aio.Metadata | Sequence[tuple[str, str | bytes]]


class CallSink(Protocol):
    """What the context needs from the running call."""

    def send_initial_metadata(self, metadata: Metadata) -> None: ...

    async def write_message(self, message: object) -> None: ...

    async def read_message(self) -> object: ...


class ServicerContext(grpc.aio.ServicerContext[Any, Any]):
    """One call's context (see the module docstring)."""

    def __init__(
        self,
        sink: CallSink,
        headers: Iterable[tuple[bytes, bytes]],
        peer: str,
        deadline: float | None,
    ) -> None:
        self._sink = sink
        self._headers = headers
        self._metadata: Metadata | None = None
        self._peer = peer
        self._deadline = deadline
        self.status_code: grpc.StatusCode | None = None
        self.status_details: str | None = None
        self.trailing: Metadata = ()
        self._cancelled = False
        self._done = False
        self._callbacks: list[Callable[[Any], None]] = []

    # Status.
    async def abort(
        self,
        code: grpc.StatusCode,
        details: str = "",
        trailing_metadata: MetadataArg = (),
    ) -> NoReturn:
        if code == grpc.StatusCode.OK:
            raise ValueError("abort() needs a non-OK status code")
        self.status_code, self.status_details = code, details
        if trailing_metadata:
            self.trailing = _tuples(trailing_metadata)
        raise AbortError()

    async def abort_with_status(self, status: Any) -> NoReturn:
        await self.abort(status.code, status.details, status.trailing_metadata)

    def set_code(self, code: grpc.StatusCode) -> None:
        self.status_code = code

    def set_details(self, details: str) -> None:
        self.status_details = details

    def code(self) -> grpc.StatusCode | None:  # type: ignore[override]
        return self.status_code

    def details(self) -> str | None:  # type: ignore[override]
        return self.status_details

    def set_trailing_metadata(self, trailing_metadata: MetadataArg) -> None:
        self.trailing = _tuples(trailing_metadata)

    def trailing_metadata(self) -> Metadata:  # type: ignore[override]
        return self.trailing

    # Metadata, peer and credentials.
    def invocation_metadata(self) -> Metadata:  # type: ignore[override]
        """Decoded on first use: most handlers never ask."""
        if self._metadata is None:
            self._metadata = decode_metadata(self._headers)
        return self._metadata

    async def send_initial_metadata(self, initial_metadata: MetadataArg) -> None:
        self._sink.send_initial_metadata(_tuples(initial_metadata))

    def peer(self) -> str:
        return self._peer

    def peer_identities(self) -> None:
        return None

    def peer_identity_key(self) -> None:
        return None

    def auth_context(self) -> dict[str, Any]:
        return {}

    # Compression: responses are sent uncompressed (valid for every client).
    def set_compression(self, compression: grpc.Compression) -> None:
        pass

    def disable_next_message_compression(self) -> None:
        pass

    # Streaming.
    async def read(self) -> Any:
        return await self._sink.read_message()

    async def write(self, message: Any) -> None:
        await self._sink.write_message(message)

    # Deadline and cancellation.
    def time_remaining(self) -> float | None:  # type: ignore[override]  # grpc.aio: None too
        if self._deadline is None:
            return None
        return max(0.0, self._deadline - time.monotonic())

    def cancelled(self) -> bool:
        return self._cancelled

    def done(self) -> bool:
        return self._done

    def add_done_callback(self, callback: Callable[[Any], None]) -> None:
        if self._done:
            callback(self)
        else:
            self._callbacks.append(callback)

    def finish(self, *, cancelled: bool) -> None:
        """Called once by the call when it ends (callbacks run then, as on grpc.aio)."""
        self._cancelled = cancelled
        self._done = True
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)


def _tuples(metadata: MetadataArg) -> Metadata:
    return tuple((str(key), value) for key, value in metadata)
