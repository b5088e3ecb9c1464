"""Copying one version's objects to a local directory: files in parallel, streamed to disk.

Each object is read through the file system's ``open`` in :data:`BLOCK_BYTES` ranged requests (no
read-ahead cache) and written as it arrives, so memory stays near ``PARALLEL_FILES *
BLOCK_BYTES`` whatever the model's size (``make test-storage-large`` measures it). The stores' own
``get_file`` is not used: depending on their version, s3fs and gcsfs fetch a large object as
concurrent parts held in memory, up to hundreds of MB per file. A watcher on the calling thread
logs progress every :data:`PROGRESS_SECONDS` for downloads that take that long, and every
transfer stops at its next block once ``cancelled`` is set.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Any, Final

from pyserving.storage.listing import Entry, Listing

logger = logging.getLogger(__name__)

PARALLEL_FILES: Final = 8
BLOCK_BYTES: Final = 4 * 1024 * 1024
PROGRESS_SECONDS: Final = 5.0


class DownloadCancelled(Exception):
    """``cancelled`` was set during the download."""


class ObjectChanged(Exception):
    """An object's downloaded size differs from the listing: it was rewritten meanwhile."""


class _Counter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self, n: int) -> None:
        with self._lock:
            self.value += n


class _Stop:
    """Set by the caller (``cancelled``: the version is no longer wanted) or here (another
    object failed, so the version cannot be completed by this attempt)."""

    def __init__(self, cancelled: threading.Event) -> None:
        self.cancelled = cancelled
        self.failed = threading.Event()

    def requested(self) -> bool:
        return self.cancelled.is_set() or self.failed.is_set()


def local_path(root: str, entry: Entry) -> str:
    parts = entry.path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise ObjectChanged(f"refusing to download object with path {entry.path!r}")
    return os.path.join(root, *parts)


def download_version(
    fs: Any, remote_root: str, listing: Listing, dest: str, cancelled: threading.Event, uri: str
) -> None:
    """Copy every object of ``listing`` (relative to ``remote_root``, an fsspec path) into
    ``dest``. Raises :class:`DownloadCancelled`, :class:`ObjectChanged`, or the file system's
    error for the first object that failed (the others are abandoned)."""
    counter = _Counter()
    stop = _Stop(cancelled)
    total = listing.total_bytes
    started = time.monotonic()

    def fetch(entry: Entry) -> None:
        if stop.requested():
            raise DownloadCancelled()
        target = local_path(dest, entry)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        size = 0
        remote = f"{remote_root}/{entry.path}"
        with (
            fs.open(remote, "rb", block_size=BLOCK_BYTES, cache_type="none") as source,
            open(target, "wb") as out,
        ):
            while block := source.read(BLOCK_BYTES):
                if stop.requested():
                    raise DownloadCancelled()
                out.write(block)
                size += len(block)
                counter.add(len(block))
        if size != entry.size:
            raise ObjectChanged(f"{entry.path} is {size} bytes, the listing said {entry.size}")

    with ThreadPoolExecutor(PARALLEL_FILES, thread_name_prefix="pyserving-download") as pool:
        pending: set[Future[None]] = {pool.submit(fetch, e) for e in listing.entries}
        while pending:
            done, pending = wait(pending, timeout=PROGRESS_SECONDS, return_when=FIRST_EXCEPTION)
            error = next((f.exception() for f in done if f.exception() is not None), None)
            if error is not None or cancelled.is_set():
                stop.failed.set()  # running transfers end at their next chunk
                for f in pending:
                    f.cancel()
                raise error if error is not None else DownloadCancelled()
            if pending:
                _log_progress(uri, counter.value, total, time.monotonic() - started)


def _log_progress(uri: str, done: int, total: int, elapsed: float) -> None:
    percent = 100.0 * done / total if total else 100.0
    logger.info(
        "Downloading %s: %.1f of %.1f MB (%.0f%%, %.1f MB/s)",
        uri,
        done / 1e6,
        total / 1e6,
        percent,
        done / 1e6 / elapsed if elapsed > 0 else 0.0,
    )
