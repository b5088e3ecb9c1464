"""HTTP/2 on the REST port over TLS (``--rest_api_http2``), chosen per connection by ALPN.

The TLS handshake offers ``h2`` and ``http/1.1``. A client that picks ``h2`` is served by
uvicorn's HTTP/2 protocol (zttp's HTTP/2 state machine, the library of the zttp gRPC stack, pinned
exactly); every other connection keeps the HTTP/1.1 protocol it would have had without the flag
(httptools with the header/body timeouts and header cap of :mod:`.limits`). The ASGI app is the
same for both, so the router, auth, in-flight cap, body limit and tensor element cap apply
unchanged.

What differs on an HTTP/2 connection: an idle connection is closed after uvicorn's keep-alive
timeout (5 s) instead of the header timeout; the header size is bounded by HPACK/zttp's own limits
rather than ``--rest_api_max_header_bytes``; a stalled body is bounded by flow control (the client
can send at most the window) rather than ``--rest_api_body_timeout_seconds``. Cleartext HTTP/2
(h2c) is not offered: browsers and most clients only speak HTTP/2 over TLS.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar, Final

from uvicorn.protocols.http.zttp_h2_impl import ZttpH2Protocol

ALPN_PROTOCOLS: Final = ["h2", "http/1.1"]


class _AlpnDispatch(asyncio.Protocol):
    """Hands each connection to the HTTP/2 or the HTTP/1.1 protocol once ALPN has chosen."""

    http1: ClassVar[type[asyncio.Protocol]]
    alpn_protocols: ClassVar[list[str]] = ALPN_PROTOCOLS

    def __init__(self, config: Any, server_state: Any, app_state: Any, _loop: Any = None) -> None:
        self._args = {"config": config, "server_state": server_state, "app_state": app_state}
        self._loop = _loop

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        ssl_object = transport.get_extra_info("ssl_object")
        alpn = ssl_object.selected_alpn_protocol() if ssl_object is not None else None
        protocol_class = ZttpH2Protocol if alpn == "h2" else self.http1
        protocol = protocol_class(**self._args, _loop=self._loop)  # type: ignore[call-arg]
        transport.set_protocol(protocol)
        protocol.connection_made(transport)


def alpn_protocol(http1: type[asyncio.Protocol]) -> type[asyncio.Protocol]:
    """A uvicorn protocol class serving HTTP/2 to clients choosing ``h2``, else ``http1``."""
    return type("AlpnHttp", (_AlpnDispatch,), {"http1": http1})
