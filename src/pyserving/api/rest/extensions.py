"""The request and response of a simple routed endpoint.

Endpoints beside TF Serving's ``/v1`` API (probes, the Prometheus page, the admin API...) are
plain async functions from :class:`HttpRequest` to :class:`HttpResponse`, routed with
:func:`pyserving.api.rest.router.json_route`; hot endpoints are raw ASGI apps instead
(:func:`pyserving.api.rest.router.asgi_route`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    path: str
    """The percent-decoded path, without its query string."""
    query: str
    headers: list[tuple[bytes, bytes]]
    body: bytes
    params: Mapping[str, Any] = field(default_factory=dict)
    """The route's path parameters (``{name}`` in ``/models/{name}``), decoded."""


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    body: bytes = b""
    content_type: bytes = b"application/json"
    headers: tuple[tuple[bytes, bytes], ...] = field(default_factory=tuple)


RouteHandler = Callable[[HttpRequest], Awaitable[HttpResponse]]
