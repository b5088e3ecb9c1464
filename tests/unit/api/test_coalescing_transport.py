"""CoalescingTransport: a response's head and body leave in one write, in order, and closing sends
what is pending first (over a recording transport on a real event loop)."""

from __future__ import annotations

import asyncio
from typing import cast

from pyserving.api.rest.limits import CoalescingTransport


class RecordingTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.events: list[str] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)
        self.events.append("write")

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True
        self.events.append("close")

    def abort(self) -> None:
        self.closing = True
        self.events.append("abort")

    def write_eof(self) -> None:
        self.events.append("eof")

    def get_write_buffer_size(self) -> int:
        return 7

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


def _wrap(loop: asyncio.AbstractEventLoop) -> tuple[CoalescingTransport, RecordingTransport]:
    real = RecordingTransport()
    return CoalescingTransport(cast(asyncio.Transport, real), loop), real


def test_writes_of_one_step_leave_together_in_order() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        transport, real = _wrap(loop)
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.write(b"body")
        assert real.writes == []
        assert transport.get_write_buffer_size() == 7 + 23
        await asyncio.sleep(0)
        assert real.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
        transport.write(b"next")
        await asyncio.sleep(0)
        assert real.writes[1:] == [b"next"]
        assert transport.get_extra_info("peername") == "info:peername"

    asyncio.run(scenario())


def test_close_sends_pending_data_first_and_abort_drops_it() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        transport, real = _wrap(loop)
        transport.write(b"a")
        transport.write(b"b")
        transport.close()
        assert (real.writes, real.events) == ([b"ab"], ["write", "close"])
        await asyncio.sleep(0)  # the scheduled flush finds nothing left
        assert real.writes == [b"ab"]

        transport, real = _wrap(loop)
        transport.write(b"lost")
        transport.abort()
        await asyncio.sleep(0)
        assert (real.writes, real.events) == ([], ["abort"])

        transport, real = _wrap(loop)
        transport.write(b"x")
        transport.write_eof()
        assert real.events == ["write", "eof"]

    asyncio.run(scenario())
