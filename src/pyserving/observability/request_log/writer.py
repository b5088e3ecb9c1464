"""Request-log files: TFRecord framing, size-based rotation, written by one background thread.

Requests never wait on the disk: :meth:`RecordWriter.submit` hands a record *builder* to a bounded
queue (proto encoding also happens on the writer thread) and, when the queue is full, drops the
record and counts it (``request_log_count{status_code="RESOURCE_EXHAUSTED"}``) rather than block.
Written records count as ``OK``, records that fail to build or write as ``INTERNAL`` (logged).

Files are ``<dir>/<prefix>-<UTC yyyymmddThhmmss>-<pid>-<seq>.tfrecord``; a file is closed and the
next one opened before a record would take it past ``max_file_bytes`` (a record bigger than that
gets a file of its own). Data is flushed whenever the queue runs empty, so files are readable up
to their last complete record while the server runs; :meth:`RecordWriter.close` drains the queue.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import BinaryIO, Final

from pyserving.observability.metrics import registry as m
from pyserving.tfrecord import encode_record

logger = logging.getLogger("pyserving.request_log")

DEFAULT_QUEUE_SIZE: Final = 256
_DROP_LOG_EVERY: Final = 1000

# (file prefix, model name, builder of the serialized PredictionLog); None stops the thread.
_Item = tuple[str, str, Callable[[], bytes]] | None


class _OpenFile:
    __slots__ = ("size", "stream")

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.size = 0


class RecordWriter:
    """See the module docstring. ``submit`` may be called from any thread."""

    def __init__(
        self, directory: str, *, max_file_bytes: int, queue_size: int = DEFAULT_QUEUE_SIZE
    ) -> None:
        self._directory = directory
        self._max_bytes = max(1, max_file_bytes)
        self._queue: queue.Queue[_Item] = queue.Queue(maxsize=max(1, queue_size))
        self._files: dict[str, _OpenFile] = {}
        self._sequence = 0
        self._dropped = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="request-log", daemon=True)
        self._thread.start()

    def submit(self, prefix: str, model: str, build: Callable[[], bytes]) -> bool:
        """Queue one record; False (and counted as dropped) when the queue is full or closed."""
        if not self._closed:
            try:
                self._queue.put_nowait((prefix, model, build))
                return True
            except queue.Full:
                pass
        m.REQUEST_LOG_COUNT.labels(model, "RESOURCE_EXHAUSTED").inc()
        self._dropped += 1
        if self._dropped % _DROP_LOG_EVERY == 1:
            logger.warning("Request log queue full: %d record(s) dropped so far", self._dropped)
        return False

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued, close the files and stop the thread (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            logger.error("Request log writer did not drain within %.0f s", timeout)
            return
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:  # ends on the None that close() queues
            item = self._queue.get()
            if item is None:
                break
            self._write(*item)
            if self._queue.empty():
                self._flush()
        for handle in self._files.values():
            handle.stream.close()
        self._files.clear()

    def _write(self, prefix: str, model: str, build: Callable[[], bytes]) -> None:
        try:
            record = encode_record(build())
            handle = self._file_for(prefix, len(record))
            handle.stream.write(record)
            handle.size += len(record)
        except Exception:
            logger.exception("Could not write a request log record for model %s", model)
            m.REQUEST_LOG_COUNT.labels(model, "INTERNAL").inc()
            return
        m.REQUEST_LOG_COUNT.labels(model, "OK").inc()

    def _file_for(self, prefix: str, size: int) -> _OpenFile:
        handle = self._files.get(prefix)
        if handle is not None and handle.size > 0 and handle.size + size > self._max_bytes:
            handle.stream.close()
            handle = None
        if handle is None:
            handle = self._files[prefix] = _OpenFile(self._open(prefix))
        return handle

    def _open(self, prefix: str) -> BinaryIO:
        self._sequence += 1
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        path = os.path.join(
            self._directory, f"{prefix}-{stamp}-{os.getpid()}-{self._sequence:05d}.tfrecord"
        )
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return open(path, "xb")  # closed on rotation or when the thread stops

    def _flush(self) -> None:
        for handle in self._files.values():
            try:
                handle.stream.flush()
            except OSError:
                logger.exception("Could not flush a request log file")
