"""The REST protocol's time limits over a real uvicorn server with short limits: a request may
take longer than any one limit as long as each step comes in time; a stalled one is cut off; an
idle kept-alive connection between requests is left to uvicorn's keep-alive timeout."""

from __future__ import annotations

import asyncio

from pyserving.api.rest.asgi import Receive, Scope, Send, read_body, send_response
from pyserving.api.rest.limits import GuardedHttpToolsProtocol, guarded_protocol
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


async def _with_server(check: object, keep_alive_s: float | None = None) -> None:
    protocol = guarded_protocol(HEADER_TIMEOUT_S, BODY_TIMEOUT_S, 64 * 1024)
    if keep_alive_s is not None:
        protocol = _with_keep_alive(protocol, keep_alive_s)
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


def _with_keep_alive(
    protocol: type[GuardedHttpToolsProtocol], seconds: float
) -> type[GuardedHttpToolsProtocol]:
    class ShortKeepAlive(protocol):  # type: ignore[valid-type,misc]
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            self.timeout_keep_alive = seconds

    return ShortKeepAlive


def test_an_idle_kept_alive_connection_is_closed_after_the_keep_alive_timeout() -> None:
    keep_alive_s = 0.2

    async def check(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for body in (b"hi", b"yo"):  # requests in quick succession keep the connection
            writer.write(_post(2) + body)
            assert (await _response(reader)).endswith(body)
        started = asyncio.get_running_loop().time()
        assert await reader.read() == b""  # then, idle, it is closed
        assert asyncio.get_running_loop().time() - started >= keep_alive_s * 0.9

    asyncio.run(_with_server(check, keep_alive_s))


def test_requests_spaced_under_the_keep_alive_timeout_keep_the_connection() -> None:
    keep_alive_s = 0.6

    async def check(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for body in (b"a1", b"a2", b"a3", b"a4"):  # 4 x 0.3 s: longer than one timeout
            writer.write(_post(2) + body)
            assert (await _response(reader)).endswith(body)
            await asyncio.sleep(keep_alive_s / 2)

    asyncio.run(_with_server(check, keep_alive_s))
