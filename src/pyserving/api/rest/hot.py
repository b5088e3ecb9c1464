"""The front door's hot lane: inference requests answered without the ASGI machinery.

A ``POST`` to an inference endpoint (TF Serving's ``/v1/models/...``, V2's ``.../infer``) is
most of what a serving port sees, and on one event loop thread its cost per request bounds the
throughput. When such a request is plain HTTP/1.1 with a ``content-length`` body (no
``100-continue``, no content encoding, no upgrade), the REST protocol
(:mod:`pyserving.api.rest.hot_protocol`) reads it whole and hands it to the endpoint's
:data:`HotHandler` directly: no ASGI scope, no request cycle, no ``receive``/``send`` messages,
no Task unless the handler has to wait. Every other request takes the ASGI path, unchanged.

What cuts across every request still applies to the hot lane, through the same objects:

* the endpoints themselves report to the request observer (metrics, access log), as on the ASGI
  path;
* the front door's middleware that must see every request implements :class:`Gate` (the
  in-flight limit, the access check); :class:`HotLane` runs the gates in the middleware's order
  once a request's headers are in (so a request counts as in flight while its body arrives, as on
  the ASGI path), and a request a gate refuses takes the ASGI path, where the same middleware
  refuses it;
* a front door shutting down closes the lane (:meth:`HotLane.close`): draining answers come from
  the ASGI path, each with ``Connection: close``.

Which endpoints are hot is the front door's decision (:meth:`pyserving.api.rest.app.RestApp.hot`
over TF Serving's grammar and the router's routes declared with a hot handler); a path whose
route has middleware of its own is never hot.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final, Protocol, runtime_checkable

from starlette.middleware import Middleware

from pyserving.api.rest.asgi import ASGIApp
from pyserving.net.eager import Arrivals

__all__ = [
    "Gate",
    "HotAnswer",
    "HotFinder",
    "HotHandler",
    "HotLane",
    "HotRequest",
    "with_gates",
]

HotAnswer = tuple[int, Sequence[tuple[bytes, bytes]], bytes]
"""A whole response: status, headers (never ``content-length``: the writer adds it), body."""


class HotRequest:
    """One request read whole: ``path`` as sent (no percent-escapes: those take the ASGI path),
    ``query`` the raw query string, ``headers`` lower-cased names as received, ``params`` the
    route's path parameters (empty for ``/v1``)."""

    __slots__ = ("body", "caller", "headers", "method", "params", "path", "query")

    def __init__(
        self,
        method: str,
        path: str,
        query: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        params: Mapping[str, Any],
    ) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.params = params
        self.caller: str | None = None  # who the access check admitted (see Gate)


HotHandler = Callable[[HotRequest], Awaitable[HotAnswer]]
"""An endpoint's hot form: the answer to a request read whole. It answers its own errors (as its
ASGI form does); an exception escaping it is a 500."""

HotFinder = Callable[[str, str], tuple[HotHandler, Mapping[str, Any]] | None]
"""``(method, path) ->`` the hot handler and path parameters serving it, or None (the ASGI path)."""


@runtime_checkable
class Gate(Protocol):
    """Front-door middleware's check for hot requests: the same decision its ASGI form takes."""

    def admit(self, request: HotRequest) -> HotAnswer | None:
        """None to let ``request`` through (then :meth:`leave` follows once it is answered), else
        the refusal to answer with."""

    def leave(self) -> None:
        """An admitted request was answered (or its client went away)."""


class HotLane:
    """The hot endpoints of one front door and the gates before them, and how its requests
    arrive (:meth:`starting`)."""

    REMEMBERED: Final = 4096

    def __init__(self, find: HotFinder, gates: Sequence[Gate] = (), *, max_body_bytes: int) -> None:
        """``max_body_bytes``: a larger declared body takes the ASGI path (its 413)."""
        self._find = find
        self._gates = tuple(gates)
        self.max_body_bytes = max_body_bytes
        self.open = True
        self.serving = 0  # hot requests started and not yet answered
        self._arrivals = Arrivals()
        # (method, path) -> what ``find`` answered: a client repeats the same few URLs.
        self._found: dict[tuple[str, str], tuple[HotHandler, Mapping[str, Any]] | None] = {}

    def close(self) -> None:
        """From now on every request takes the ASGI path (the server is draining)."""
        self.open = False

    def find(self, method: str, path: str) -> tuple[HotHandler, Mapping[str, Any]] | None:
        key = (method, path)
        try:
            return self._found[key]
        except KeyError:
            pass
        found = self._find(method, path)
        if len(self._found) >= self.REMEMBERED:
            self._found.clear()
        self._found[key] = found
        return found

    def admit(self, request: HotRequest) -> bool:
        """Whether every gate lets ``request`` through (then :meth:`leave` must follow once it is
        answered or its client went away; the handler runs as the ``request.caller`` the gates
        found). A refused request takes the ASGI path, where the same middleware refuses it the
        same way."""
        gates = self._gates
        for passed, gate in enumerate(gates):
            if gate.admit(request) is not None:
                for admitted in gates[:passed]:
                    admitted.leave()
                return False
        return True

    def leave(self) -> None:
        for gate in self._gates:
            gate.leave()

    def starting(self) -> bool:
        """A hot request's handler starts (``finished`` follows); returns whether requests arrive
        one at a time (:class:`pyserving.net.eager.Arrivals`). Then the handler may start
        eagerly, in the callback that read the request: one loop iteration less per request."""
        self.serving += 1
        return self._arrivals.one_at_a_time(self.serving)

    def finished(self) -> None:
        self.serving -= 1


def with_gates(app: ASGIApp, middleware: Sequence[Middleware]) -> tuple[ASGIApp, list[Gate]]:
    """``app`` wrapped in ``middleware`` (the first outermost, as
    :func:`pyserving.api.rest.router.with_middleware` orders it), and the same middleware
    instances as the hot lane's gates, in that order. Every one must be a :class:`Gate`: the hot
    lane must not skip what the front door's middleware decides."""
    gates: list[Gate] = []
    for cls, args, kwargs in reversed(middleware):
        app = cls(app, *args, **kwargs)
        if not isinstance(app, Gate):
            raise TypeError(f"{cls.__name__} wraps the whole front door but is not a hot-lane Gate")
        gates.append(app)
    gates.reverse()
    return app, gates
