"""``send_response`` through a real uvicorn server: the head and the body of a response leave in
one transport write, keep-alive and ``connection: close`` behave as with two ASGI sends."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from pyserving.api.rest.asgi import Receive, Scope, Send, send_response
from pyserving.api.rest.server import RestServer

WRITES: list[list[bytes]] = []


class _CountingTransport:
    """The real transport, with every write (or writelines) recorded as one entry."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport

    def write(self, data: bytes) -> None:
        WRITES.append([bytes(data)])
        self._transport.write(data)

    def writelines(self, chunks: list[bytes]) -> None:
        WRITES.append([bytes(chunk) for chunk in chunks])
        self._transport.writelines(chunks)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _CountingProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_CountingTransport(transport))  # type: ignore[arg-type]


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    await send_response(send, 200, b'{"ok": true}', [(b"content-type", b"application/json")])


async def _exchange(port: int, requests: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(requests)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 30)  # until the server closes
    writer.close()
    return data


async def _serve_and_ask(requests: bytes) -> bytes:
    server = RestServer(_app, 0, protocol=_CountingProtocol)
    await server.start()
    try:
        return await _exchange(server.port, requests)
    finally:
        await server.stop()


GET = b"GET /x HTTP/1.1\r\nhost: t\r\n\r\n"
GET_CLOSE = b"GET /x HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n"


@pytest.fixture(autouse=True)
def _clear() -> None:
    WRITES.clear()


def test_head_and_body_leave_in_one_write_and_keep_alive_holds() -> None:
    data = asyncio.run(_serve_and_ask(GET + GET + GET_CLOSE))
    assert data.count(b"HTTP/1.1 200 OK\r\n") == 3
    assert data.count(b'\r\n\r\n{"ok": true}') == 3
    assert data.endswith(b'{"ok": true}')
    assert len(WRITES) == 3, WRITES  # one per response
    for chunks in WRITES:
        joined = b"".join(chunks)
        assert joined.startswith(b"HTTP/1.1 200 OK\r\n") and joined.endswith(b'{"ok": true}')
        assert b"content-length: 12\r\n" in joined
    assert b"connection: close\r\n" in b"".join(WRITES[-1])


def test_a_send_of_another_kind_still_gets_two_messages() -> None:
    messages: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        messages.append(message)

    asyncio.run(send_response(send, 404, b"no", []))
    assert [m["type"] for m in messages] == ["http.response.start", "http.response.body"]
    assert messages[0]["status"] == 404
    assert (b"content-length", b"2") in messages[0]["headers"]
    assert messages[1]["body"] == b"no"
