"""Routes beside TF Serving's ``/v1`` API (metrics, health probes, the admin API...).

They are plain async functions from :class:`HttpRequest` to :class:`HttpResponse`, registered
with the :class:`~pyserving.api.rest.app.RestApp` by the composition root: exact paths first,
then path prefixes, both checked before the ``/v1`` handler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    path: str
    """The path without its query string."""
    query: str
    headers: list[tuple[bytes, bytes]]
    body: bytes


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    body: bytes = b""
    content_type: bytes = b"application/json"
    headers: tuple[tuple[bytes, bytes], ...] = field(default_factory=tuple)


RouteHandler = Callable[[HttpRequest], Awaitable[HttpResponse]]
