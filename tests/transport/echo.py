"""An in-process gRPC server on either stack (``pyserving.api.grpc.transport``) with a bytes
echo service, for testing the transports themselves with real grpcio clients.

The server runs in its own thread on its own uvloop event loop, as in ``pyserving.server``; the
tests call it from the main thread with grpcio's blocking client.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, NoReturn, TypeVar

import grpc
import uvloop
from grpc_health.v1 import health, health_pb2_grpc

from pyserving.api.grpc import transport

SERVICE = "test.Echo"
_T = TypeVar("_T")


class Events:
    """What handlers saw, read by the tests (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started = 0
        self.cancelled = 0
        self.finished = 0
        self.cancelled_event = threading.Event()
        self.peers: set[str] = set()

    def add(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)
        if name == "cancelled":
            self.cancelled_event.set()


def _handlers(events: Events) -> dict[str, grpc.RpcMethodHandler[Any, Any]]:
    async def echo(request: bytes, context: Any) -> bytes:
        events.peers.add(context.peer())
        metadata = [(k, v) for k, v in context.invocation_metadata() if k.startswith("x-")]
        await context.send_initial_metadata([("initial-" + k, v) for k, v in metadata])
        context.set_trailing_metadata([("echo-" + k, v) for k, v in metadata])
        return request

    async def abort(request: bytes, context: Any) -> NoReturn:
        await context.abort(
            grpc.StatusCode.INVALID_ARGUMENT,
            "bad v\u00e4lue: 100% wrong",
            trailing_metadata=(("detail-bin", b"\x00\x01\xff"),),
        )
        raise AssertionError("abort() returned")

    async def sleep(request: bytes, context: Any) -> bytes:
        events.add("started")
        try:
            await asyncio.sleep(float(request.decode()))
        except asyncio.CancelledError:
            events.add("cancelled")
            raise
        events.add("finished")
        return b"done"

    async def big(request: bytes, context: Any) -> bytes:
        return b"x" * int(request.decode())

    async def set_code(request: bytes, context: Any) -> bytes:
        context.set_code(grpc.StatusCode.NOT_FOUND)
        context.set_details("no such thing")
        return b""

    async def fail(request: bytes, context: Any) -> bytes:
        raise RuntimeError("boom")

    async def where(request: bytes, context: Any) -> bytes:
        return b"task" if asyncio.current_task() is not None else b"eager"

    async def stream(request: bytes, context: Any) -> AsyncIterator[bytes]:
        for i in range(int(request.decode())):
            yield str(i).encode()

    async def chat(requests: AsyncIterator[bytes], context: Any) -> AsyncIterator[bytes]:
        async for request in requests:
            yield request[::-1]

    unary = grpc.unary_unary_rpc_method_handler
    return {
        "Echo": unary(echo),
        "Abort": unary(abort),
        "Sleep": unary(sleep),
        "Big": unary(big),
        "SetCode": unary(set_code),
        "Fail": unary(fail),
        "Where": unary(where),
        "Stream": grpc.unary_stream_rpc_method_handler(stream),
        "Chat": grpc.stream_stream_rpc_method_handler(chat),
    }


class EchoServer:
    """``with EchoServer("zttp") as server:`` serves on ``server.target`` until the block ends."""

    def __init__(
        self,
        stack: str,
        channel_arguments: str = "",
        ssl_config_file: str = "",
        max_concurrent_rpcs: int = 0,
    ) -> None:
        self.events = Events()
        self._stack = stack
        self._args = (channel_arguments, ssl_config_file, max_concurrent_rpcs)
        self._loop = uvloop.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: transport.RpcServer | None = None
        self.port = 0
        self.health: Any = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def run(self, coroutine: Coroutine[Any, Any, _T], timeout: float = 60.0) -> _T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def _start(self) -> None:
        server = transport.create(self._stack, *self._args)
        target = transport.registration_target(server)
        target.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, _handlers(self.events)),)
        )
        self.health = health.aio.HealthServicer()  # type: ignore[attr-defined]
        health_pb2_grpc.add_HealthServicer_to_server(self.health, target)
        self.port = await server.listen_tcp("127.0.0.1", 0)
        await server.start()
        self._server = server

    def stop(self, grace: float | None) -> None:
        assert self._server is not None
        self.run(self._server.stop(grace))

    def stop_async(self, grace: float | None) -> Any:
        assert self._server is not None
        return asyncio.run_coroutine_threadsafe(self._server.stop(grace), self._loop)

    def __enter__(self) -> EchoServer:
        self._thread.start()
        self.run(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self.stop(0)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def unary(channel: grpc.Channel, method: str) -> grpc.UnaryUnaryMultiCallable[bytes, bytes]:
    return channel.unary_unary(f"/{SERVICE}/{method}", None, None)


def served(stack: str) -> Iterator[EchoServer]:
    with EchoServer(stack) as server:
        yield server
