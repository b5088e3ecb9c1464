"""``s3://`` and ``gs://`` base paths through fsspec (s3fs, gcsfs).

Why fsspec rather than boto3 and google-cloud-storage: one implementation serves both stores with
the same semantics (listing, streaming ``get_file``, errors as Python's ``FileNotFoundError`` /
``PermissionError``), while the credentials still come from each vendor's own chain (s3fs runs on
botocore: environment, shared config and profiles, ``AWS_ENDPOINT_URL``, instance and pod roles;
gcsfs on google-auth: ``GOOGLE_APPLICATION_CREDENTIALS``, workload identity, the metadata
server, ``STORAGE_EMULATOR_HOST``). Adding another fsspec store (``az://``...) is a table entry.

gcsfs is used through ``gcsfs.core.GCSFileSystem``: the package's default class probes every
bucket's type over gRPC first (an experimental feature), which with an emulator or a blocked
gRPC port waits a minute per bucket.

Listings bypass fsspec's listing cache (``use_listings_cache=False``): every poll must see the
store as it is now. A base path whose store cannot be reached is retried with exponential backoff
(:data:`BACKOFF_MAX_SECONDS`); meanwhile the previous error is reported without a request, and the
versions already loaded keep serving (the source keeps its last aspired set). Plain answers (no
such bucket, access denied, no credentials) are asked again at every poll, as for a local
directory. A prefix with no object under it is an empty base path (no version yet), not a missing
one: object stores have no directories, so a prefix exists only once something is written there.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from pyserving.errors import Code, ServingError
from pyserving.storage.base import Snapshot, StorageError, StorageNotFound
from pyserving.storage.cache import VersionCache
from pyserving.storage.download import DownloadCancelled, ObjectChanged, download_version
from pyserving.storage.errors import storage_error
from pyserving.storage.listing import Entry, Listing
from pyserving.storage.local_paths import parse_version
from pyserving.storage.model_files import READY_MARKER, looks_complete
from pyserving.storage.observer import DownloadObserver

logger = logging.getLogger(__name__)

BACKOFF_MAX_SECONDS: Final = 60.0
_DOWNLOAD_ATTEMPTS: Final = 3  # a version rewritten during each of these is reported as changing
_MARKER_PROBES: Final = 3  # other versions asked for a marker before trusting model files
_TAG_KEYS: Final = ("generation", "ETag", "etag", "md5Hash", "mtime", "LastModified")


def make_filesystem(scheme: str) -> Any:
    """The fsspec file system for ``scheme`` ("s3", "gs"), configured the standard way."""
    if scheme == "s3":
        import s3fs

        return s3fs.S3FileSystem(use_listings_cache=False, skip_instance_cache=True)
    from gcsfs.core import GCSFileSystem

    token = None  # google-auth's default chain
    if os.environ.get("STORAGE_EMULATOR_HOST") and not os.environ.get(
        "GOOGLE_APPLICATION_CREDENTIALS"
    ):
        token = "anon"  # emulators take no credentials (as google-cloud-storage does)
    return GCSFileSystem(token=token, use_listings_cache=False, skip_instance_cache=True)


@dataclass
class _Backoff:
    failures: int
    retry_at: float
    error: StorageError


class FsspecStore:
    """A :class:`~pyserving.storage.base.VersionStore` for one URI scheme. Thread-safe."""

    def __init__(
        self,
        scheme: str,
        fs: Any,
        cache: VersionCache,
        observer: DownloadObserver | None = None,
        clock: Any = time.monotonic,
    ) -> None:
        self.scheme = scheme
        self._fs = fs
        self._cache = cache
        self._observer = observer
        self._clock = clock
        self._lock = threading.Lock()
        self._backoff: dict[str, _Backoff] = {}
        self._marker_bases: set[str] = set()
        self._listed: dict[str, dict[int, str]] = {}
        """Each base path's versions at its last listing (for the marker probes)."""

    # -- listing ----------------------------------------------------------------------------------

    def _key(self, uri: str) -> str:
        """``s3://bucket/a/b/`` -> ``bucket/a/b``: the file system's own path for ``uri``."""
        parts = urlsplit(uri)
        return str(self._fs._strip_protocol(f"{parts.netloc}{parts.path}".rstrip("/")))

    def list_versions(self, base_path: str, servable: str) -> Mapping[int, str]:
        with self._lock:
            backoff = self._backoff.get(base_path)
            if backoff is not None and self._clock() < backoff.retry_at:
                raise type(backoff.error)(str(backoff.error))  # (fresh: no growing traceback)
        try:
            entries = self._fs.ls(self._key(base_path), detail=True)
        except FileNotFoundError as exc:
            if self._bucket_exists(base_path, exc):
                entries = []  # an empty prefix: a base path with no version yet
            else:
                raise self._no_bucket(base_path) from exc
        except Exception as exc:
            raise self._failed_listing(base_path, exc) from exc
        with self._lock:
            if self._backoff.pop(base_path, None) is not None:
                logger.info("Listing %s works again", base_path)
        found: dict[int, str] = {}
        for entry in sorted(entries, key=lambda e: str(e["name"])):
            if entry.get("type") != "directory":
                continue
            name = str(entry["name"]).rstrip("/").rsplit("/", 1)[-1]
            version = parse_version(name)
            if version is None:
                continue
            uri = f"{base_path.rstrip('/')}/{name}"
            if version in found:
                logger.warning(
                    "Duplicate version directories detected for servable %s: %s and %s; using %s",
                    servable,
                    found[version],
                    uri,
                    found[version],
                )
                continue
            found[version] = uri
        with self._lock:
            self._listed[base_path.rstrip("/")] = found
        return found

    def _bucket_exists(self, base_path: str, exc: FileNotFoundError) -> bool:
        """Whether a base path that lists as missing is an empty prefix of an existing bucket
        (object stores have no directories: a prefix exists once an object is under it)."""
        causes: list[BaseException] = []
        cause: BaseException | None = exc
        while cause is not None and len(causes) < 8:
            causes.append(cause)
            cause = cause.__cause__ or cause.__context__
        if any(type(c).__name__ == "NoSuchBucket" for c in causes):  # botocore says so itself
            return False
        try:
            self._fs.info(self._key(f"{self.scheme}://{urlsplit(base_path).netloc}"))
        except FileNotFoundError:
            return False
        except Exception:  # the listing was allowed: whatever else fails here, the bucket is
            return True
        return True

    def _no_bucket(self, base_path: str) -> StorageNotFound:
        bucket = urlsplit(base_path).netloc
        endpoint = "AWS_ENDPOINT_URL" if self.scheme == "s3" else "STORAGE_EMULATOR_HOST"
        return StorageNotFound(
            f"{base_path}: bucket '{bucket}' does not exist (NoSuchBucket): check the bucket "
            f"name, the credentials' account or project, and {endpoint} (when set)"
        )

    def _failed_listing(self, base_path: str, exc: BaseException) -> StorageError:
        """``exc`` as a StorageError; when the store may be down (not a plain answer such as
        "no such bucket" or "access denied", which polls keep asking about), back off."""
        error = storage_error(exc, base_path, self.scheme)
        if not error.transient:
            return error
        with self._lock:
            previous = self._backoff.get(base_path)
            failures = 1 if previous is None else previous.failures + 1
            delay = min(BACKOFF_MAX_SECONDS, 2.0 ** (failures - 1))
            self._backoff[base_path] = _Backoff(failures, self._clock() + delay, error)
        logger.warning(
            "Listing %s failed (%d in a row); next attempt in %.0f s: %s",
            base_path,
            failures,
            delay,
            error,
        )
        return error

    def _listing(self, version_path: str) -> Listing:
        """The objects under ``version_path`` now (empty when there are none). Raises."""
        root = self._key(version_path)
        found = self._fs.find(root, detail=True)
        entries: list[Entry] = []
        for name, info in found.items():
            if info.get("type") == "directory" or str(name).endswith("/"):
                continue
            if not str(name).startswith(f"{root}/"):
                continue  # (a store matching plain prefixes: ".../1" must not take ".../10")
            relative = str(name)[len(root) + 1 :]
            if not relative:
                continue
            tag = next((str(info[k]) for k in _TAG_KEYS if info.get(k) is not None), "")
            entries.append(Entry(relative, int(info.get("size") or 0), tag))
        entries.sort(key=lambda e: e.path)
        return Listing(tuple(entries))

    def snapshot(self, version_path: str) -> Snapshot | None:
        try:
            return self._listing(version_path)
        except Exception as exc:
            logger.debug("Could not list %s: %s", version_path, exc)
            return None

    def is_complete(self, platform: str, version_path: str, snapshot: Snapshot) -> bool:
        if not isinstance(snapshot, Listing):
            return False
        top_level = {n for n in snapshot.names if "/" not in n}
        base, _, name = version_path.rstrip("/").rpartition("/")
        if READY_MARKER in top_level:
            self._note_markers(base)
        required = self._uses_markers(base, name)
        return looks_complete(platform, top_level, markers_required=required)

    def _uses_markers(self, base: str, version_name: str) -> bool:
        """Whether ``base`` publishes with markers: known already, or one of its other newest
        versions holds one (a few existence checks, made only while a version is pending)."""
        with self._lock:
            if base in self._marker_bases:
                return True
            others = self._listed.get(base, {})
        newest = sorted(others, reverse=True)
        for version in [v for v in newest if str(v) != version_name][:_MARKER_PROBES]:
            try:
                found = self._fs.exists(f"{self._key(others[version])}/{READY_MARKER}")
            except Exception:
                continue
            if found:
                self._note_markers(base)
                return True
        return False

    def _note_markers(self, base: str) -> None:
        with self._lock:
            if base in self._marker_bases:
                return
            self._marker_bases.add(base)
        logger.info("%s uses %s markers: a version there loads once it has one", base, READY_MARKER)

    # -- local copies -----------------------------------------------------------------------------

    def materialize(self, version_path: str, cancelled: threading.Event) -> str:
        try:
            return self._materialize(version_path, cancelled)
        except ServingError:
            if self._observer is not None:
                self._observer.failed(self.scheme)
            raise

    def _materialize(self, version_path: str, cancelled: threading.Event) -> str:
        for attempt in range(1, _DOWNLOAD_ATTEMPTS + 1):
            listing = self._current_listing(version_path)
            cached = self._cache.lookup(version_path, listing)
            if cached is not None:
                logger.info("Using the cached copy of %s at %s", version_path, cached)
                return cached
            partial = self._cache.new_partial()
            started = self._clock()
            try:
                download_version(
                    self._fs, self._key(version_path), listing, partial, cancelled, version_path
                )
                after = self._current_listing(version_path)
            except DownloadCancelled:
                self._cache.discard(partial)
                raise ServingError(
                    Code.CANCELLED,
                    f"Download of {version_path} stopped: the version is no longer wanted "
                    "(deleted, replaced by a newer version, or the server is stopping)",
                ) from None
            except ServingError:
                self._cache.discard(partial)
                raise
            except ObjectChanged as exc:
                self._cache.discard(partial)
                logger.warning("%s changed during its download (%s); retrying", version_path, exc)
                continue
            except Exception as exc:
                self._cache.discard(partial)
                error = storage_error(exc, version_path, self.scheme)
                if isinstance(error, StorageNotFound):
                    self._raise_if_deleted(version_path)
                raise ServingError(
                    error.code, f"Downloading {version_path} failed: {error}"
                ) from exc
            if after != listing:
                self._cache.discard(partial)
                logger.warning(
                    "%s changed during its download (attempt %d); retrying", version_path, attempt
                )
                continue
            local = self._cache.commit(partial, version_path, listing)
            seconds = self._clock() - started
            logger.info(
                "Downloaded %s (%d files, %.1f MB) to %s in %.1f s",
                version_path,
                len(listing.entries),
                listing.total_bytes / 1e6,
                local,
                seconds,
            )
            if self._observer is not None:
                self._observer.downloaded(self.scheme, listing.total_bytes, seconds)
            return local
        raise ServingError(
            Code.UNAVAILABLE,
            f"{version_path} kept changing during {_DOWNLOAD_ATTEMPTS} downloads: publish a "
            f"version by uploading every object, then write {READY_MARKER} last",
        )

    def _current_listing(self, version_path: str) -> Listing:
        try:
            listing = self._listing(version_path)
        except Exception as exc:
            error = storage_error(exc, version_path, self.scheme)
            raise ServingError(error.code, f"Listing {version_path} failed: {error}") from exc
        if not listing.entries:
            raise _deleted(version_path)
        return listing

    def _raise_if_deleted(self, version_path: str) -> None:
        try:
            gone = not self._listing(version_path).entries
        except Exception:
            return
        if gone:
            raise _deleted(version_path)

    def release(self, version_path: str) -> None:
        try:
            self._cache.remove(version_path)
        except OSError as exc:
            logger.warning("Could not delete the cached copy of %s: %s", version_path, exc)


def _deleted(version_path: str) -> ServingError:
    return ServingError(
        Code.NOT_FOUND, f"{version_path} holds no objects any more: the version was deleted"
    )
