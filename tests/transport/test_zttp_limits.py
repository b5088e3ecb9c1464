"""zttp 0.0.35 ends a connection (GOAWAY ENHANCE_YOUR_CALM) after 4,096 streams or 256 client
resets. The zttp gRPC server must move clients off a connection gracefully before either: a
GOAWAY with NO_ERROR, and every stream it took still answered."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator

import grpc
import pytest
import zttp

from pyserving.api.grpc.transport.zttp_server import connection
from tests.transport.echo import SERVICE, EchoServer, served
from tests.transport.h2client import RawClient


@pytest.fixture
def server() -> Iterator[EchoServer]:
    yield from served("zttp")


def _trailers_ok(event: object) -> bool:
    return isinstance(event, zttp.EndOfMessage) and (b"grpc-status", b"0") in event.trailers


def test_zttp_itself_ends_a_connection_after_4096_streams() -> None:
    """The library fact the server works around (fails once zttp lifts the limit)."""
    client = zttp.Connection(zttp.CLIENT, zttp.HTTP2)
    server = zttp.Connection(zttp.SERVER, zttp.HTTP2)
    client.initiate_connection()
    server.initiate_connection()
    with pytest.raises(zttp.RemoteProtocolError, match="flood"):
        for _ in range(5000):
            stream = client.send_request(b"POST", b"/a/b", b"2", [(b"te", b"trailers")])
            stream.end_message()
            server.receive_data(client.data_to_send())
            while (event := server.next_event()) is not zttp.NEED_DATA:
                if isinstance(event, zttp.Request):
                    answer = server.stream(event.stream_id)
                    answer.send_response(200, [(b"content-type", b"application/grpc")])
                    answer.end_message([(b"grpc-status", b"0")])
            client.receive_data(server.data_to_send())
            while client.next_event() is not zttp.NEED_DATA:
                pass


def test_graceful_goaway_before_the_stream_limit(server: EchoServer) -> None:
    client = RawClient(server.port)
    answered = 0
    try:
        for i in range(5000):
            client.request("Echo", b"%d" % i)
            assert client.read_until(lambda e: isinstance(e, zttp.GoAway) or _trailers_ok(e))
            goaways = [e for e in client.events if isinstance(e, zttp.GoAway)]
            if goaways:
                break
            answered += 1
    finally:
        client.close()
    assert goaways, "no GOAWAY in 5,000 streams"
    assert goaways[0].error_code == zttp.H2ErrorCode.NO_ERROR
    assert 3000 < answered < 4096


def test_graceful_goaway_before_the_reset_limit(server: EchoServer) -> None:
    client = RawClient(server.port)
    try:
        for _ in range(300):
            stream = client.request("Sleep", b"30", end=True)
            stream.reset(zttp.H2ErrorCode.CANCEL)
            client.flush()
            if any(isinstance(e, zttp.GoAway) for e in client.events):
                break
            client.sock.settimeout(0.05)
            with contextlib.suppress(TimeoutError):
                client.read_until(lambda e: isinstance(e, zttp.GoAway))
            client.sock.settimeout(10)
        goaways = [e for e in client.events if isinstance(e, zttp.GoAway)]
        assert goaways, "no GOAWAY after 300 resets"
        assert goaways[0].error_code == zttp.H2ErrorCode.NO_ERROR
    finally:
        client.close()
    # The handlers of reset streams were cancelled, not left running.
    deadline = time.monotonic() + 10
    while server.events.cancelled < server.events.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.events.cancelled == server.events.started


def test_async_client_crossing_many_goaways_loses_no_rpc(monkeypatch: pytest.MonkeyPatch) -> None:
    """A grpc.aio channel keeps opening streams (c=64) while the server moves it to a new
    connection every 150 streams (240 moves). The client may have written streams past the GOAWAY
    before it read it; none of them may fail (two-step GOAWAY, then a half-close that reads the
    client's last bytes instead of resetting the socket under them)."""
    monkeypatch.setattr(connection, "STREAM_BUDGET", 150)
    calls, concurrency = 36_000, 64
    with EchoServer("zttp") as server:

        async def run() -> list[str]:
            failures: list[str] = []
            async with grpc.aio.insecure_channel(server.target) as channel:
                echo = channel.unary_unary(f"/{SERVICE}/Echo", None, None)

                async def worker(first: int) -> None:
                    for i in range(first, calls, concurrency):
                        try:
                            await echo(b"%d" % i, timeout=60)
                        except grpc.aio.AioRpcError as error:
                            failures.append(f"{error.code()}: {error.details()}")

                await asyncio.gather(*(worker(n) for n in range(concurrency)))
            return failures

        failures = asyncio.run(run())
    assert failures == []


def test_two_step_goaway_serves_streams_sent_before_the_ping_ack(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """RFC 9113 §6.8: the first GOAWAY names the largest stream id, with a PING; the final one,
    after the PING's acknowledgement, names the last stream taken. A stream the client opened
    after the first GOAWAY (it may not have read it yet) is answered, and the connection then
    ends with the client's own close, not a reset."""
    monkeypatch.setattr(connection, "STREAM_BUDGET", 5)
    with EchoServer("zttp") as server:
        client = RawClient(server.port)
        try:
            for i in range(4):
                client.request("Echo", b"%d" % i)
                assert client.read_until(_trailers_ok)
            client.request("Echo", b"fifth")  # reaches the budget: the server starts to drain
            late = client.request("Echo", b"late")  # written before any GOAWAY is read
            assert client.read_until(lambda e: _trailers_ok(e) and e.stream_id == late.stream_id)
            assert not client.read_until(lambda e: False)  # the server half-closed at the end
        finally:
            client.close()
    goaways = [
        (e.error_code, e.last_stream_id) for e in client.events if isinstance(e, zttp.GoAway)
    ]
    assert goaways == [(0, 2**31 - 1), (0, late.stream_id)]
    assert not any(isinstance(e, zttp.RstStream) for e in client.events)
