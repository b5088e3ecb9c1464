"""Bearer tokens, stored hashed, each with a name and scopes.

The tokens file (``--auth_tokens_file``) is JSON::

    {"tokens": [
        {"name": "ci-deployer", "sha256": "<hex digest of the token>", "scopes": ["admin", "read"]},
        {"name": "frontend", "sha256": "...", "scopes": ["infer"]}
    ]}

Only SHA-256 digests are stored: tokens are 256-bit random secrets (``pyserving token`` makes
them), so a plain digest cannot be reversed and needs no salt. Lookup compares the presented
token's digest with every entry in constant time (:func:`hmac.compare_digest`), so timing reveals
nothing about which entry, if any, nearly matched.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pyserving.security.scopes import Scope

TOKEN_PREFIX = "psv_"
_HEX_DIGITS = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class TokenEntry:
    name: str
    digest: bytes
    scopes: frozenset[Scope]


class TokensFileError(ValueError):
    """The tokens file cannot be used; the message names the file and what is wrong."""


def new_token() -> str:
    """A fresh random token (256 bits, URL-safe)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class TokenTable:
    """An immutable set of token entries."""

    def __init__(self, entries: Iterable[TokenEntry]) -> None:
        self._entries: tuple[TokenEntry, ...] = tuple(entries)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def names(self) -> list[str]:
        return [entry.name for entry in self._entries]

    def find(self, token: str) -> TokenEntry | None:
        """The entry of ``token``, compared against every entry in constant time."""
        presented = digest(token)
        found: TokenEntry | None = None
        for entry in self._entries:
            if hmac.compare_digest(presented, entry.digest):
                found = entry
        return found


def load_tokens(path: str | Path) -> TokenTable:
    """Read and validate a tokens file; raises :class:`TokensFileError` naming the problem."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TokensFileError(f"auth tokens file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TokensFileError(f"cannot read auth tokens file {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise TokensFileError(f"auth tokens file {path} is not valid JSON: {exc}") from None
    tokens = document.get("tokens") if isinstance(document, dict) else None
    if not isinstance(tokens, list):
        raise TokensFileError(
            f'auth tokens file {path} must be an object {{"tokens": [...]}}; '
            "create entries with `pyserving token --name NAME --scopes infer,read`"
        )
    entries = [_entry(path, index, item) for index, item in enumerate(tokens)]
    names = [e.name for e in entries]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise TokensFileError(f"auth tokens file {path}: duplicate names {duplicates}")
    return TokenTable(entries)


def _entry(path: str | Path, index: int, item: object) -> TokenEntry:
    where = f"auth tokens file {path}, entry {index}"
    if not isinstance(item, dict):
        raise TokensFileError(f'{where}: expected {{"name", "sha256", "scopes"}}, got {item!r}')
    name, hexdigest, scopes = item.get("name"), item.get("sha256"), item.get("scopes")
    if not isinstance(name, str) or not name:
        raise TokensFileError(f"{where}: 'name' must be a non-empty string")
    if (
        not isinstance(hexdigest, str)
        or len(hexdigest) != 64
        or not set(hexdigest.lower()) <= _HEX_DIGITS
    ):
        raise TokensFileError(
            f"{where} ({name}): 'sha256' must be the 64-hex-digit SHA-256 of the token, "
            "not the token itself"
        )
    if not isinstance(scopes, list) or not scopes or not all(isinstance(s, str) for s in scopes):
        raise TokensFileError(
            f"{where} ({name}): 'scopes' must be a non-empty list of {[s.value for s in Scope]}"
        )
    try:
        parsed = frozenset(Scope.parse(s) for s in scopes)
    except ValueError as exc:
        raise TokensFileError(f"{where} ({name}): {exc}") from None
    return TokenEntry(name, bytes.fromhex(hexdigest), parsed)


def entry_json(name: str, token: str, scopes: Sequence[Scope]) -> dict[str, object]:
    """The tokens-file entry for ``token`` (what ``pyserving token`` prints or appends)."""
    return {"name": name, "sha256": digest(token).hex(), "scopes": [s.value for s in scopes]}
