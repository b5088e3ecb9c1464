"""The one place that decides whether a request may run.

Adapters hand over the operation's scope (see :mod:`pyserving.security.scopes`) and the raw
credential (the ``Authorization`` header or the gRPC ``authorization`` metadata value); the policy
answers with the caller's token name or raises :class:`~pyserving.errors.ServingError`:
UNAUTHENTICATED (HTTP 401) when no valid token was sent, PERMISSION_DENIED (HTTP 403) when the
token lacks the scope. With no tokens file every request is allowed (TF Serving's behaviour).

Tokens are re-read when the file changes (checked at most once a second, on the request path: a
``stat``) or on :meth:`AccessPolicy.reload` (SIGHUP). A file that fails to parse keeps the
previous tokens and logs why. Failures are logged with the token's name, never the token.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from pyserving.errors import Code, ServingError
from pyserving.security.scopes import Scope
from pyserving.security.tokens import TokensFileError, TokenTable, load_tokens

logger = logging.getLogger("pyserving.security")

FailureObserver = Callable[[str, str], None]
"""Called with (reason, protocol) for each refused request: ``missing``, ``invalid``, ``scope``."""

_CHECK_INTERVAL_S = 1.0
_BEARER = "bearer "


class AccessPolicy:
    """Token checks for every protocol (see the module docstring)."""

    def __init__(
        self,
        tokens_file: str | None = None,
        *,
        on_failure: FailureObserver | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Raises :class:`TokensFileError` if ``tokens_file`` is given but unusable at start."""
        self._path = Path(tokens_file) if tokens_file else None
        self._on_failure = on_failure
        self._clock = clock
        self._lock = threading.Lock()
        self._table: TokenTable | None = None
        self._stamp: tuple[int, int] | None = None
        self._next_check = 0.0
        if self._path is not None:
            self._table, self._stamp = load_tokens(self._path), _stamp(self._path)

    @property
    def enabled(self) -> bool:
        return self._path is not None

    def token_count(self) -> int:
        return len(self._table) if self._table is not None else 0

    def authorize(self, scope: Scope | None, credential: str | None, protocol: str) -> str | None:
        """The caller's token name (None when open); raises as the module docstring says."""
        if self._path is None or scope is None:
            return None
        table = self._current()
        token = _bearer(credential)
        if token is None:
            self._fail("missing", protocol, None)
            raise ServingError(
                Code.UNAUTHENTICATED,
                f"This request needs a token with the '{scope.value}' scope: send "
                "'Authorization: Bearer <token>' (gRPC: metadata 'authorization: Bearer <token>')",
            )
        entry = table.find(token) if table is not None else None
        if entry is None:
            self._fail("invalid", protocol, None)
            raise ServingError(
                Code.UNAUTHENTICATED,
                "The bearer token is not valid (unknown, revoked, or mistyped); "
                "ask the server's operator for a token",
            )
        if scope not in entry.scopes:
            self._fail("scope", protocol, entry.name)
            held = ", ".join(sorted(s.value for s in entry.scopes))
            raise ServingError(
                Code.PERMISSION_DENIED,
                f"Token '{entry.name}' has the scopes [{held}]; this request needs '{scope.value}'",
            )
        return entry.name

    def scopes_of(self, credential: str | None) -> frozenset[Scope]:
        """The scopes ``credential`` holds (every scope when the policy is open; none for a
        missing or unknown token). Records no failure: for showing what a caller may do."""
        if self._path is None:
            return frozenset(Scope)
        table, token = self._current(), _bearer(credential)
        entry = table.find(token) if table is not None and token is not None else None
        return entry.scopes if entry is not None else frozenset()

    def reload(self) -> bool:
        """Re-read the tokens file now; False (previous tokens kept) if it cannot be used."""
        if self._path is None:
            return False
        with self._lock:
            return self._reload_locked()

    def _current(self) -> TokenTable | None:
        now = self._clock()
        if now >= self._next_check and self._path is not None:
            with self._lock:
                if now >= self._next_check:
                    self._next_check = now + _CHECK_INTERVAL_S
                    if _stamp(self._path) != self._stamp:
                        self._reload_locked()
        return self._table

    def _reload_locked(self) -> bool:
        assert self._path is not None
        try:
            table, stamp = load_tokens(self._path), _stamp(self._path)
        except TokensFileError as exc:
            logger.error("Keeping the previous tokens: %s", exc)
            return False
        self._table, self._stamp = table, stamp
        logger.info("Loaded %d auth tokens from %s", len(table), self._path)
        return True

    def _fail(self, reason: str, protocol: str, name: str | None) -> None:
        logger.warning(
            "Refused a %s request: %s token%s",
            protocol,
            reason,
            f" ({name})" if name else "",
        )
        if self._on_failure is not None:
            self._on_failure(reason, protocol)


def _bearer(credential: str | None) -> str | None:
    if not credential:
        return None
    if credential[: len(_BEARER)].lower() != _BEARER:
        return None
    token = credential[len(_BEARER) :].strip()
    return token or None


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size
