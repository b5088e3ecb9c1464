"""The REST protocol's time limits over a real uvicorn server with short limits: a request may
take longer than any one limit as long as each step comes in time; a stalled one is cut off; an
idle kept-alive connection between requests is left to uvicorn's keep-alive timeout."""

from __future__ import annotations

import asyncio

from pyserving.api.rest.asgi import Receive, Scope, Send, read_body, send_response
from pyserving.api.rest.limits import guarded_protocol
from pyserving.api.rest.server import RestServer

HEADER_TIMEOUT_S = 0.5
BODY_TIMEOUT_S = 0.3
WAIT_S = 30.0  # upper bound on any wait here


async def _echo(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    body = await read_body(scope, receive, 1024)
    await send_response(send, 200, body, [])


def _post(body_length: int) -> bytes:
    return f"POST /x HTTP/1.1\r\nhost: t\r\ncontent-length: {body_length}\r\n\r\n".encode()


async def _with_server(check: object) -> None:
    protocol = guarded_protocol(HEADER_TIMEOUT_S, BODY_TIMEOUT_S, 64 * 1024)
    server = RestServer(_echo, 0, protocol=protocol)
    await server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        try:
            await asyncio.wait_for(check(reader, writer), WAIT_S)  # type: ignore[operator]
        finally:
            writer.close()
    finally:
        await server.stop()


async def _response(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    return head + await reader.readexactly(length)


def test_a_body_trickling_within_the_body_timeout_is_served() -> None:
    async def check(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = b"abcdefgh"
        writer.write(_post(len(body)))
        for byte in body:  # 8 x 0.1 s: longer than either limit, each pause shorter
            await asyncio.sleep(BODY_TIMEOUT_S / 3)
            writer.write(bytes([byte]))
        response = await _response(reader)
        assert response.startswith(b"HTTP/1.1 200 OK") and response.endswith(body)

    asyncio.run(_with_server(check))


def test_a_stalled_body_is_cut_off() -> None:
    async def check(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(_post(8) + b"abc")
        assert await reader.read() == b""  # closed without an answer

    asyncio.run(_with_server(check))


def test_stalled_headers_are_cut_off() -> None:
    async def check(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"POST /x HTTP/1.1\r\nhost: t\r\n")
        assert await reader.read() == b""

    asyncio.run(_with_server(check))


def test_an_idle_connection_between_requests_is_not_cut_off_by_the_header_limit() -> None:
    async def check(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(_post(2) + b"hi")
        assert (await _response(reader)).endswith(b"hi")
        await asyncio.sleep(HEADER_TIMEOUT_S * 3)  # under uvicorn's 5 s keep-alive timeout
        writer.write(_post(2) + b"yo")
        assert (await _response(reader)).endswith(b"yo")

    asyncio.run(_with_server(check))
