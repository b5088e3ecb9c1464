"""The interface between the lifecycle's file-system source and where model versions live.

The lifecycle asks a :class:`VersionStore` four things about a base path, whatever it is (a local
directory, ``s3://``, ``gs://``): which versions exist, what a version's listing is now (to see it
unchanged across two polls), whether that listing looks complete, and a local directory holding the
version (downloading it first when it is remote). It never learns what a bucket is.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Mapping
from typing import Protocol

from pyserving.errors import Code

Snapshot = Hashable
"""A version's listing at one look; two equal snapshots mean nothing changed in between."""


class VersionStore(Protocol):
    """Version directories under base paths. Every method is blocking and thread-safe."""

    def list_versions(self, base_path: str, servable: str) -> Mapping[int, str]:
        """Version -> version path (a directory or URI) directly under ``base_path``.

        Raises ``OSError``: ``FileNotFoundError`` when the base path (or its bucket) does not
        exist, ``PermissionError`` when access is denied, ``ConnectionError`` when the store
        cannot be reached; :class:`StorageError` subclasses carry a message saying what to do.
        """
        ...

    def snapshot(self, version_path: str) -> Snapshot | None:
        """The version's listing now, or None when it cannot be read (never equal to another)."""
        ...

    def is_complete(self, platform: str, version_path: str, snapshot: Snapshot) -> bool:
        """Whether the version, as ``snapshot`` shows it, looks finished (its model file present,
        or its ready marker; see :mod:`pyserving.storage.model_files`)."""
        ...

    def materialize(self, version_path: str, cancelled: threading.Event) -> str:
        """A local directory holding the version: ``version_path`` itself when local, else a
        complete copy in the cache. Raises :class:`pyserving.errors.ServingError`."""
        ...

    def release(self, version_path: str) -> None:
        """The version is no longer served: drop its local copy, if one was made."""
        ...


class StorageError(OSError):
    """A store could not be read. ``code`` is the canonical code a load failure reports;
    ``transient``: asking again later may work without anyone changing anything (the network,
    the store being down), so the caller retries with backoff; otherwise the answer is a
    configuration problem (no bucket, no credentials, access denied) someone must fix."""

    code: Code = Code.UNAVAILABLE
    transient: bool = True


class StorageNotFound(StorageError, FileNotFoundError):
    code = Code.NOT_FOUND
    transient = False


class StorageAccessDenied(StorageError, PermissionError):
    code = Code.PERMISSION_DENIED
    transient = False


class StorageNoCredentials(StorageError, PermissionError):
    # Not UNAUTHENTICATED: that would tell an API caller that *their* credentials were refused
    # (HTTP 401), while it is the server that has none for the store.
    code = Code.FAILED_PRECONDITION
    transient = False


class StorageUnreachable(StorageError, ConnectionError):
    code = Code.UNAVAILABLE
