"""Copying one version's objects to a local directory: files in parallel, streamed to disk.

Each object is streamed by the file system's ``get_file`` (fixed-size chunks written as they
arrive, so memory does not grow with the model), several objects at a time. A watcher on the
calling thread logs progress every :data:`PROGRESS_SECONDS` for downloads that take that long,
and stops every transfer at the next chunk once ``cancelled`` is set.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Any, Final

from fsspec.callbacks import Callback

from pyserving.storage.listing import Entry, Listing

logger = logging.getLogger(__name__)

PARALLEL_FILES: Final = 8
PROGRESS_SECONDS: Final = 5.0


class DownloadCancelled(Exception):
    """``cancelled`` was set during the download."""


class ObjectChanged(Exception):
    """An object's downloaded size differs from the listing: it was rewritten meanwhile."""


class _Progress(Callback):  # type: ignore[misc]  # fsspec is untyped
    """Counts bytes as chunks land; raises inside the transfer once it should stop."""

    def __init__(self, counter: _Counter, stop: _Stop) -> None:
        super().__init__()
        self._counter = counter
        self._stop = stop

    def relative_update(self, inc: int = 1) -> None:
        if self._stop.requested():
            raise DownloadCancelled()
        self._counter.add(inc)

    def call(self, *args: Any, **kwargs: Any) -> None:
        return None


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
        fs.get_file(f"{remote_root}/{entry.path}", target, callback=_Progress(counter, stop))
        size = os.path.getsize(target)
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
