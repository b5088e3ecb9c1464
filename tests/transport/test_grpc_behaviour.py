"""What every gRPC stack must do, checked on both with real grpcio clients: metadata, status and
details in trailers, deadlines and cancellation reaching the handler, message-size limits, gzip,
keepalive pings, large messages, streaming, graceful shutdown."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from pyserving.config.options import GRPC_SERVERS
from pyserving.net.eager import ALONE_STREAK
from tests.transport.echo import SERVICE, EchoServer, served, unary
from tests.transport.h2client import PREFACE, frame

WAIT_S = 30.0


@pytest.fixture(params=GRPC_SERVERS)
def server(request: pytest.FixtureRequest) -> Iterator[EchoServer]:
    yield from served(request.param)


@pytest.fixture
def channel(server: EchoServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.target) as channel:
        yield channel


def test_unary_echo_with_metadata(channel: grpc.Channel, server: EchoServer) -> None:
    metadata = (("x-text", "hello"), ("x-data-bin", b"\x00\x01\xfe"))
    reply, call = unary(channel, "Echo").with_call(b"payload", metadata=metadata, timeout=WAIT_S)
    assert reply == b"payload"
    assert ("initial-x-text", "hello") in call.initial_metadata()
    assert ("echo-x-text", "hello") in call.trailing_metadata()
    assert ("echo-x-data-bin", b"\x00\x01\xfe") in list(call.trailing_metadata())


def test_abort_status_details_and_trailing_metadata(channel: grpc.Channel) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        unary(channel, "Abort")(b"", timeout=WAIT_S)
    error = caught.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "bad v\u00e4lue: 100% wrong"
    trailing: Any = error.trailing_metadata()  # grpc-stubs' _Metadatum is not a tuple type
    assert ("detail-bin", b"\x00\x01\xff") in list(trailing)


@pytest.mark.parametrize(
    ("method", "code", "details"),
    [
        ("SetCode", grpc.StatusCode.NOT_FOUND, "no such thing"),
        ("Missing", grpc.StatusCode.UNIMPLEMENTED, None),
        ("Fail", grpc.StatusCode.UNKNOWN, None),
    ],
)
def test_error_statuses(
    channel: grpc.Channel, method: str, code: grpc.StatusCode, details: str | None
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        unary(channel, method)(b"", timeout=WAIT_S)
    assert caught.value.code() == code
    if details is not None:
        assert caught.value.details() == details


def test_deadline_exceeded_cancels_the_handler(channel: grpc.Channel, server: EchoServer) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        unary(channel, "Sleep")(b"30", timeout=0.3)
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert server.events.cancelled_event.wait(WAIT_S)
    assert unary(channel, "Echo")(b"after", timeout=WAIT_S) == b"after"


def test_client_cancellation_cancels_the_handler(channel: grpc.Channel, server: EchoServer) -> None:
    future = unary(channel, "Sleep").future(b"30", timeout=WAIT_S)
    deadline = time.monotonic() + WAIT_S
    while server.events.started == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert future.cancel()  # type: ignore[no-untyped-call]
    assert server.events.cancelled_event.wait(WAIT_S)
    assert server.events.finished == 0


@pytest.mark.parametrize("stack", GRPC_SERVERS)
def test_message_size_limits(stack: str) -> None:
    args = "grpc.max_receive_message_length=1000,grpc.max_send_message_length=2000"
    with (
        EchoServer(stack, channel_arguments=args) as server,
        grpc.insecure_channel(server.target) as channel,
    ):
        assert unary(channel, "Echo")(b"x" * 1000, timeout=WAIT_S) == b"x" * 1000
        with pytest.raises(grpc.RpcError) as received:
            unary(channel, "Echo")(b"x" * 1001, timeout=WAIT_S)
        assert received.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert len(unary(channel, "Big")(b"2000", timeout=WAIT_S)) == 2000
        with pytest.raises(grpc.RpcError) as sent:
            unary(channel, "Big")(b"2001", timeout=WAIT_S)
        assert sent.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert unary(channel, "Echo")(b"still served", timeout=WAIT_S) == b"still served"


def test_gzip_compressed_requests(server: EchoServer) -> None:
    payload = b"compressible " * 10_000
    with grpc.insecure_channel(server.target, compression=grpc.Compression.Gzip) as channel:
        assert unary(channel, "Echo")(payload, timeout=WAIT_S) == payload


def test_keepalive_pings_keep_the_connection(server: EchoServer) -> None:
    options = [
        ("grpc.keepalive_time_ms", 200),
        ("grpc.keepalive_timeout_ms", 5000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
    ]
    with grpc.insecure_channel(server.target, options=options) as channel:
        assert unary(channel, "Echo")(b"1", timeout=WAIT_S) == b"1"
        time.sleep(1.5)  # several pings, with and without calls in flight
        assert unary(channel, "Echo")(b"2", timeout=WAIT_S) == b"2"
        # Both calls came over the first connection: the pings did not make the server close it.
        assert len(server.events.peers) == 1


@pytest.mark.parametrize("stack", GRPC_SERVERS)
def test_server_keepalive_pings(stack: str) -> None:
    """With ``grpc.keepalive_time_ms`` the server pings: a client that answers keeps its
    connection; a peer that never answers is disconnected after ``grpc.keepalive_timeout_ms``."""
    args = "grpc.keepalive_time_ms=200,grpc.keepalive_timeout_ms=500"
    with (
        EchoServer(stack, channel_arguments=args) as server,
        grpc.insecure_channel(server.target) as channel,
    ):
        assert unary(channel, "Echo")(b"1", timeout=WAIT_S) == b"1"
        time.sleep(1.5)
        assert unary(channel, "Echo")(b"2", timeout=WAIT_S) == b"2"
        assert len(server.events.peers) == 1
        if stack == "grpcio":
            return  # grpc core's keepalive starts only once a peer completes the handshake
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_S) as silent:
            silent.sendall(PREFACE + frame(4, 0, 0, b""))  # then never reads or answers
            time.sleep(2.0)
            received = b""
            while chunk := silent.recv(65536):
                received += chunk
        assert received  # the server's SETTINGS, PINGs and GOAWAY, then EOF


def test_large_messages_both_ways(server: EchoServer) -> None:
    payload = bytes(range(256)) * (64 * 1024)  # 16 MiB
    options = [("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]
    with grpc.insecure_channel(server.target, options=options) as channel:
        assert unary(channel, "Echo")(payload, timeout=WAIT_S) == payload


def test_server_and_bidi_streaming(channel: grpc.Channel) -> None:
    stream = channel.unary_stream(f"/{SERVICE}/Stream", None, None)
    assert list(stream(b"5", timeout=WAIT_S)) == [b"0", b"1", b"2", b"3", b"4"]
    chat = channel.stream_stream(f"/{SERVICE}/Chat", None, None)
    assert list(chat(iter([b"abc", b"de"]), timeout=WAIT_S)) == [b"cba", b"ed"]
    assert list(chat(iter([]), timeout=WAIT_S)) == []


def test_health_service_registered_by_generated_code(
    channel: grpc.Channel, server: EchoServer
) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=WAIT_S)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    watch = stub.Watch(health_pb2.HealthCheckRequest(service=""), timeout=WAIT_S)
    assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
    server.run(server.health.enter_graceful_shutdown())
    assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
    watch.cancel()


@pytest.mark.parametrize("stack", GRPC_SERVERS)
def test_graceful_shutdown_finishes_in_flight_and_refuses_new(stack: str) -> None:
    with EchoServer(stack) as server, grpc.insecure_channel(server.target) as channel:
        unary(channel, "Echo")(b"warm", timeout=WAIT_S)
        in_flight = unary(channel, "Sleep").future(b"1.0", timeout=WAIT_S)
        deadline = time.monotonic() + WAIT_S
        while server.events.started == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        stopping = server.stop_async(10.0)
        time.sleep(0.2)
        with pytest.raises(grpc.RpcError) as refused:
            unary(channel, "Echo")(b"late", timeout=5)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        assert in_flight.result(WAIT_S) == b"done"
        stopping.result(WAIT_S)


@pytest.mark.parametrize("stack", GRPC_SERVERS)
def test_many_rpcs_with_cancellations_on_one_channel_lose_none(stack: str) -> None:
    """More streams and client resets than zttp allows on one connection (4,096 and 256): the
    server moves clients to a new connection gracefully, so only the cancelled calls fail."""
    calls, concurrency = 6_000, 16
    failures: list[grpc.StatusCode] = []
    cancelled = 0
    lock = threading.Lock()
    with EchoServer(stack) as server, grpc.insecure_channel(server.target) as channel:
        echo, sleep = unary(channel, "Echo"), unary(channel, "Sleep")

        def worker(first: int) -> None:
            nonlocal cancelled
            for i in range(first, calls, concurrency):
                if i % 20 == 0:  # 5%: a call cancelled while it runs on the server
                    future = sleep.future(b"10", timeout=WAIT_S)
                    time.sleep(0.002)
                    future.cancel()  # type: ignore[no-untyped-call]
                    with lock:
                        cancelled += 1
                    continue
                try:
                    echo(b"%d" % i, timeout=WAIT_S)
                except grpc.RpcError as error:
                    with lock:
                        failures.append(error.code())

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert cancelled == calls // 20
    assert failures == []


@pytest.mark.parametrize("stack", GRPC_SERVERS)
def test_concurrent_rpc_cap(stack: str) -> None:
    """``--grpc_max_threads``: RPCs beyond the cap fail RESOURCE_EXHAUSTED, the rest run."""
    with (
        EchoServer(stack, max_concurrent_rpcs=2) as server,
        grpc.insecure_channel(server.target) as channel,
    ):
        running = [unary(channel, "Sleep").future(b"2", timeout=WAIT_S) for _ in range(2)]
        deadline = time.monotonic() + WAIT_S
        while server.events.started < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(grpc.RpcError) as caught:
            unary(channel, "Echo")(b"one too many", timeout=WAIT_S)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert [future.result(WAIT_S) for future in running] == [b"done", b"done"]
        assert unary(channel, "Echo")(b"room again", timeout=WAIT_S) == b"room again"


def test_zttp_starts_calls_eagerly_only_while_they_arrive_one_at_a_time() -> None:
    """After ALONE_STREAK calls in a row found the server idle, a call's handler runs in the
    callback that read it (no task); overlapping calls run as tasks. Deadlines and cancellation
    still reach handlers started eagerly that then wait."""
    with EchoServer("zttp") as server, grpc.insecure_channel(server.target) as channel:
        where = unary(channel, "Where")
        answers = [where(b"", timeout=WAIT_S) for _ in range(ALONE_STREAK + 2)]
        assert answers == [b"task"] * (ALONE_STREAK - 1) + [b"eager"] * 3
        with pytest.raises(grpc.RpcError) as caught:
            unary(channel, "Sleep")(b"30", timeout=0.3)
        assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert server.events.cancelled_event.wait(WAIT_S)
        running = unary(channel, "Sleep").future(b"0.5", timeout=WAIT_S)
        deadline = time.monotonic() + WAIT_S
        while server.events.started < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert where(b"", timeout=WAIT_S) == b"task"  # overlaps the sleep
        assert running.result(WAIT_S) == b"done"
