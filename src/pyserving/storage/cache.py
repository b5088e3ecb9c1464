"""The local cache of remote versions: one directory per version URI, published by rename.

Layout under the cache root: ``<scheme>/<bucket>/<key>/`` mirrors the URI
(``s3://models/mnist/3`` -> ``<root>/s3/models/mnist/3/``), and downloads go to a fresh directory
under ``<root>/.partial/`` first. A download that finished is renamed into place in one atomic
``rename`` (same file system), so a directory at a version's place is always a complete copy. Each
copy holds ``.pyserving-listing.json``, the listing (names, sizes, ETags or generations) it was
downloaded from: a restart reuses the copy only when the store still lists exactly that.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from typing import Final
from urllib.parse import urlsplit

from pyserving.storage.listing import Listing

logger = logging.getLogger(__name__)

MANIFEST: Final = ".pyserving-listing.json"
_PARTIAL: Final = ".partial"
_STALE_PARTIAL_SECONDS: Final = 3600.0  # older partial downloads are a crashed process's


def default_cache_dir() -> str:
    """``<system temp dir>/pyserving-model-cache`` (``$TMPDIR`` honoured)."""
    return os.path.join(tempfile.gettempdir(), "pyserving-model-cache")


class VersionCache:
    """Complete local copies of remote versions. Thread-safe."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self._lock = threading.Lock()
        self._partial_root = os.path.join(self.root, _PARTIAL)
        os.makedirs(self._partial_root, exist_ok=True)
        self._drop_stale_partials()

    def path_for(self, uri: str) -> str:
        """The cache directory of the version at ``uri`` (which need not exist)."""
        parts = urlsplit(uri)
        components = [parts.scheme, parts.netloc, *parts.path.strip("/").split("/")]
        if any(c in ("", ".", "..") or c.startswith(_PARTIAL) for c in components):
            raise ValueError(f"Cannot cache {uri!r}: empty, '.' or '..' path components")
        return os.path.join(self.root, *components)

    def lookup(self, uri: str, listing: Listing) -> str | None:
        """The cached copy of ``uri`` when it was downloaded from exactly ``listing``."""
        path = self.path_for(uri)
        try:
            with open(os.path.join(path, MANIFEST), encoding="utf-8") as f:
                recorded = Listing.from_json(json.load(f))
        except (OSError, ValueError, TypeError, KeyError):
            return None
        return path if recorded == listing else None

    def new_partial(self) -> str:
        """A fresh, empty directory to download into (same file system as the copies)."""
        return tempfile.mkdtemp(dir=self._partial_root)

    def commit(self, partial: str, uri: str, listing: Listing) -> str:
        """Record ``listing`` in ``partial`` and rename it to ``uri``'s place (replacing an older
        copy); returns that place."""
        with open(os.path.join(partial, MANIFEST), "w", encoding="utf-8") as f:
            json.dump(listing.to_json(), f)
        final = self.path_for(uri)
        with self._lock:
            os.makedirs(os.path.dirname(final), exist_ok=True)
            self._remove_locked(final)
            os.rename(partial, final)
        return final

    def discard(self, partial: str) -> None:
        shutil.rmtree(partial, ignore_errors=True)

    def remove(self, uri: str) -> None:
        """Delete the cached copy of ``uri``, if any."""
        with self._lock:
            self._remove_locked(self.path_for(uri))

    def _remove_locked(self, path: str) -> None:
        if not os.path.lexists(path):
            return
        # Rename first, so the place is free at once and a reader never sees half a directory.
        trash = tempfile.mkdtemp(dir=self._partial_root)
        os.rename(path, os.path.join(trash, "old"))
        shutil.rmtree(trash, ignore_errors=True)

    def _drop_stale_partials(self) -> None:
        now = time.time()
        with contextlib.suppress(OSError), os.scandir(self._partial_root) as entries:
            for entry in entries:
                with contextlib.suppress(OSError):
                    if now - entry.stat(follow_symlinks=False).st_mtime > _STALE_PARTIAL_SECONDS:
                        shutil.rmtree(entry.path, ignore_errors=True)
