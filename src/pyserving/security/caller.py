"""Who is calling: the token name the front door authorized, for the audit log.

The REST middleware and the gRPC registration wrapper set :data:`CALLER` for the request's task;
``asyncio.to_thread`` copies context variables, so the config controller (which runs admin changes
in a worker thread) reads it without any adapter passing it down.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Final

CALLER: Final[ContextVar[str | None]] = ContextVar("pyserving_caller", default=None)

ANONYMOUS: Final = "anonymous"


def current_caller() -> str:
    """The authorized token's name, or ``anonymous`` when no tokens are configured."""
    return CALLER.get() or ANONYMOUS
