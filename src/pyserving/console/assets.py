"""The console's files (``static/``, package data), held in memory and served with caching headers.

Pages (``*.html``) are served with ``Cache-Control: no-cache`` and an ETag, so a browser always
revalidates them (a 304 costs nothing). Pages reference the other files as
``/console/static/<name>?v=<digest>``, the digest of every file: those answers are immutable for a
year, and a server upgrade changes the digest, so a browser never mixes old and new scripts.
A Content-Security-Policy forbids every origin but this server's: the pages make no external
request, and an accidental one would fail loudly in the browser's console.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from importlib import resources
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

VERSION_PLACEHOLDER: Final = b"{{v}}"
CSP: Final = (
    "default-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
    "script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'self'"
)
_IMMUTABLE: Final = "public, max-age=31536000, immutable"
_TYPES: Final = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


class Assets:
    """Every file of ``pyserving.console/static``, read once at construction."""

    def __init__(self) -> None:
        root = resources.files("pyserving.console") / "static"
        raw = {
            entry.name: entry.read_bytes()
            for entry in root.iterdir()
            if entry.is_file() and not entry.name.startswith(".")
        }
        digest = hashlib.sha256()
        for name in sorted(raw):
            digest.update(name.encode() + b"\0" + raw[name])
        self.version = digest.hexdigest()[:16]
        self._files: dict[str, Asset] = {}
        for name, body in raw.items():
            if name.endswith(".html"):
                body = body.replace(VERSION_PLACEHOLDER, self.version.encode())
            suffix = name[name.rfind(".") :]
            media_type = _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "text/plain"
            etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
            self._files[name] = Asset(body, media_type, etag)

    def names(self) -> list[str]:
        return sorted(self._files)

    def page(self, name: str, request: Request) -> Response:
        return self._respond(self._files[name], request, "no-cache")

    def file(self, name: str, request: Request) -> Response:
        asset = self._files.get(name)
        if asset is None or name.endswith(".html"):
            return Response(
                f"No console file named {name!r}\n", status_code=404, media_type="text/plain"
            )
        versioned = request.query_params.get("v") == self.version
        return self._respond(asset, request, _IMMUTABLE if versioned else "no-cache")

    @staticmethod
    def _respond(asset: Asset, request: Request, cache_control: str) -> Response:
        headers = {
            "cache-control": cache_control,
            "etag": asset.etag,
            "content-security-policy": CSP,
            "x-content-type-options": "nosniff",
        }
        if asset.etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        charset = "; charset=utf-8" if asset.media_type.startswith("text/") else ""
        return Response(asset.body, headers=headers, media_type=asset.media_type + charset)
