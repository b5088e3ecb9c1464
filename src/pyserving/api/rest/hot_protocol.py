"""The REST port's HTTP/1.1 protocol with the hot lane (see :mod:`pyserving.api.rest.hot`).

:class:`HotLaneProtocol` is the guarded httptools protocol (:mod:`pyserving.api.rest.limits`)
that, once a request's headers are in, decides whether the request is hot:

* ``POST``, HTTP/1.1, no upgrade, no ``Expect: 100-continue``;
* a ``content-length`` within the body limit, no ``transfer-encoding``, no
  ``content-encoding`` (a gzip body is inflated, bounded, on the ASGI path);
* a path without percent-escapes (the ASGI scope carries the decoded one) that the lane finds a
  handler for;
* nothing else of this connection in flight, writes not paused, uvicorn's access log off, the
  lane open (the server is not draining).

A hot request's body is collected under the same timers and limits as any other; when it is
complete its handler starts: eagerly, in the callback that read it, while requests arrive one at
a time, else as a Task (see :meth:`pyserving.api.rest.hot.HotLane.starting`; uvicorn's shutdown
waits for the Task like any request's). Its answer is written whole in one socket write, by
uvicorn's rules for the head (its ``date`` header, ``connection: close`` when the connection is
not kept).

uvicorn's connection logic keeps working around a hot request: it sees a request cycle
(:class:`_HotCycle`) that says whether the response is complete, so a pipelined request waits
its turn, a lost connection marks the request's client as gone, and a shutdown lets the request
finish and then closes the connection.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar, Final

from pyserving.api.rest.asgi import default_lines, write_response
from pyserving.api.rest.hot import HotHandler, HotLane, HotRequest
from pyserving.api.rest.limits import GuardedHttpToolsProtocol, guarded_protocol
from pyserving.codec.json_encode import encode_error
from pyserving.net.eager import start_eagerly
from pyserving.security.caller import CALLER

logger = logging.getLogger("pyserving.rest")

_JSON: Final = ((b"content-type", b"application/json"),)


class _NoEvent:
    """Stands for the cycle's ``message_event``: nobody waits on a hot request's body."""

    __slots__ = ()

    def set(self) -> None:
        pass


_NO_EVENT: Final = _NoEvent()


class _HotCycle:
    """What uvicorn's protocol reads of a request cycle, for a hot request (see the module
    docstring); ``body`` collects the request body while it arrives."""

    __slots__ = (
        "body",
        "disconnected",
        "handler",
        "keep_alive",
        "request",
        "response_complete",
    )
    message_event: ClassVar[_NoEvent] = _NO_EVENT

    def __init__(self, handler: HotHandler, request: HotRequest, keep_alive: bool) -> None:
        self.handler = handler
        self.request = request
        self.keep_alive = keep_alive
        self.body: list[bytes] = []
        self.disconnected = False
        self.response_complete = False


def hot_lane_protocol(
    lane: HotLane, header_timeout: float, body_timeout: float, max_header_bytes: int
) -> type[HotLaneProtocol]:
    """The guarded protocol class (:func:`pyserving.api.rest.limits.guarded_protocol`) with
    ``lane``."""
    guarded = guarded_protocol(header_timeout, body_timeout, max_header_bytes)
    return type("HotLaneHttpTools", (HotLaneProtocol, guarded), {"lane": lane})


class HotLaneProtocol(GuardedHttpToolsProtocol):
    """See the module docstring; configure with :func:`hot_lane_protocol`."""

    lane: ClassVar[HotLane | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._hot: _HotCycle | None = None  # the hot request being read

    def on_headers_complete(self) -> None:
        lane = self.lane
        if lane is not None and lane.open:
            hot = self._hot_request(lane)
            if hot is not None:
                self._arm(self.body_timeout)
                self._hot = hot
                self.cycle = hot  # type: ignore[assignment]
                return
        super().on_headers_complete()

    def _hot_request(self, lane: HotLane) -> _HotCycle | None:
        """The hot cycle for the request whose headers are in, or None: the ASGI path."""
        parser = self.parser
        if (
            parser.get_method() != b"POST"
            or parser.get_http_version() != "1.1"
            or parser.should_upgrade()
            or self.expect_100_continue
            or self.pipeline
            or not (self.cycle is None or self.cycle.response_complete)
            or self.flow.write_paused
            or self.access_log
        ):
            return None
        url: bytes = self.url
        path, _, query = url.partition(b"?")
        if not path.startswith(b"/") or b"%" in path or b"#" in url or not url.isascii():
            return None
        length = -1
        for name, value in self.headers:
            if name == b"content-length":
                if length >= 0 or not value.isdigit():
                    return None
                length = int(value)
            elif name == b"transfer-encoding" or name == b"content-encoding":
                return None
        if length < 0 or length > lane.max_body_bytes:
            return None
        text = path.decode("ascii")
        found = lane.find("POST", text)
        if found is None:
            return None
        handler, params = found
        request = HotRequest("POST", text, query, self.headers, b"", params)
        if not lane.admit(request):
            return None
        return _HotCycle(handler, request, parser.should_keep_alive())

    def connection_lost(self, exc: Exception | None) -> None:
        if self._hot is not None:  # gone while sending the body: never served
            self._hot = None
            if self.lane is not None:
                self.lane.leave()
        super().connection_lost(exc)

    def on_body(self, body: bytes) -> None:
        hot = self._hot
        if hot is None:
            super().on_body(body)
            return
        self._arm(self.body_timeout)
        hot.body.append(body)

    def on_message_complete(self) -> None:
        hot = self._hot
        if hot is None:
            super().on_message_complete()
            return
        self._disarm()
        self._hot = None
        chunks = hot.body
        hot.request.body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        hot.body = []
        lane = self.lane
        assert lane is not None
        if lane.starting():
            task = start_eagerly(self.loop, self._serve(hot, lane))
            if task is None:
                return
        else:
            task = self.loop.create_task(self._serve(hot, lane))
        self.tasks.add(task)  # uvicorn's shutdown waits for these
        task.add_done_callback(self.tasks.discard)

    async def _serve(self, hot: _HotCycle, lane: HotLane) -> None:
        request = hot.request
        caller = None if request.caller is None else CALLER.set(request.caller)
        try:
            status, headers, body = await hot.handler(request)
        except Exception as exc:  # a handler answers its own errors: this is a bug
            logger.exception("Unexpected error serving POST %s", hot.request.path)
            message = f"Internal error: {type(exc).__name__}: {exc}"
            status, headers, body = 500, _JSON, encode_error(message)
        finally:
            if caller is not None:
                CALLER.reset(caller)
            lane.leave()
            lane.finished()
        self._write(hot, status, headers, body, lane.open)

    def _write(
        self,
        hot: _HotCycle,
        status: int,
        headers: Sequence[tuple[bytes, bytes]],
        body: bytes,
        lane_open: bool,
    ) -> None:
        """The response in one write, as uvicorn would head it; then the next request, or close."""
        hot.response_complete = True
        transport = self.transport
        if hot.disconnected or transport.is_closing():
            return
        keep_alive = hot.keep_alive and lane_open
        defaults = default_lines(self.server_state.default_headers) or b""
        write_response(transport, status, defaults, headers, body, close=not keep_alive)
        if keep_alive:
            self.on_response_complete()
        else:
            self.server_state.total_requests += 1
            transport.close()
