"""``read_body`` through a real uvicorn server: a body that has arrived whole is taken from the
cycle without ``receive()``; one still arriving, or awaited behind ``Expect: 100-continue``, goes
through ``receive()``; limits and gzip hold on both ways."""

from __future__ import annotations

import asyncio
import gzip

import pytest
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from pyserving.api.rest.asgi import BodyTooLarge, Receive, Scope, Send, read_body, send_response
from pyserving.api.rest.server import RestServer

LIMIT = 1000
RECEIVES: list[str] = []


async def _echo(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    try:
        body = await read_body(scope, receive, LIMIT)
    except BodyTooLarge:
        await send_response(send, 413, b"too large", [])
        return
    await send_response(send, 200, body, [])


@pytest.fixture(autouse=True)
def _count_receives(monkeypatch: pytest.MonkeyPatch) -> None:
    RECEIVES.clear()
    original = RequestResponseCycle.receive

    async def counting(self: RequestResponseCycle) -> object:
        message = await original(self)
        RECEIVES.append(message["type"])
        return message

    monkeypatch.setattr(RequestResponseCycle, "receive", counting)


def _post(body: bytes, *headers: str) -> bytes:
    head = "".join(f"{h}\r\n" for h in headers)
    return f"POST /x HTTP/1.1\r\nhost: t\r\ncontent-length: {len(body)}\r\n{head}\r\n".encode()


async def _response(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    return head + await reader.readexactly(length)


async def _exchange(*parts: bytes, pause: float = 0.0) -> bytes:
    server = RestServer(_echo, 0)
    await server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        for part in parts:
            writer.write(part)
            await writer.drain()
            await asyncio.sleep(pause)
        response = await asyncio.wait_for(_response(reader), 30)
        writer.close()
        return response
    finally:
        await server.stop()


def test_a_body_arrived_whole_is_taken_without_receive() -> None:
    body = b'{"instances": [1.0, 2.0]}'
    response = asyncio.run(_exchange(_post(body) + body))
    assert response.startswith(b"HTTP/1.1 200 OK") and response.endswith(b"\r\n\r\n" + body)
    assert RECEIVES == []


def test_a_gzip_body_arrived_whole_is_inflated() -> None:
    body = b"x" * 500
    packed = gzip.compress(body)
    response = asyncio.run(_exchange(_post(packed, "content-encoding: gzip") + packed))
    assert response.endswith(b"\r\n\r\n" + body)


def test_a_body_arrived_whole_past_the_limit_is_refused() -> None:
    body = b"y" * (LIMIT + 1)
    chunked = b"POST /x HTTP/1.1\r\nhost: t\r\ntransfer-encoding: chunked\r\n\r\n"
    chunked += b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)  # no content-length to check first
    response = asyncio.run(_exchange(chunked))
    assert response.startswith(b"HTTP/1.1 413")
    gzipped = gzip.compress(b"z" * (LIMIT + 1))  # small on the wire, too large inflated
    response = asyncio.run(_exchange(_post(gzipped, "content-encoding: gzip") + gzipped))
    assert response.startswith(b"HTTP/1.1 413")


def test_a_body_still_arriving_goes_through_receive() -> None:
    body = b"abcdef"
    response = asyncio.run(_exchange(_post(body) + body[:3], body[3:], pause=0.2))
    assert response.endswith(b"\r\n\r\n" + body)
    assert RECEIVES and RECEIVES[-1] == "http.request"


def test_expect_100_continue_goes_through_receive() -> None:
    body = b"hello"

    async def ask() -> bytes:
        server = RestServer(_echo, 0)
        await server.start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(_post(body, "expect: 100-continue"))
            interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            writer.write(body)
            response = await asyncio.wait_for(_response(reader), 30)
            writer.close()
            return interim + response
        finally:
            await server.stop()

    data = asyncio.run(ask())
    assert data.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK")
    assert data.endswith(b"\r\n\r\n" + body)
    assert RECEIVES == ["http.request"]
