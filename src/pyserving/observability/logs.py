"""Logging set-up: human-readable lines by default, JSON lines with ``--log_format=json``.

Per-request lines are never written here; access logging (``--access_log``) is the separate
``pyserving.access`` logger, whose records carry their values as ``extra={"fields": {...}}``: JSON
lines include them as top-level keys.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson

_TEXT_FORMAT = "%(asctime)s.%(msecs)03d %(levelname).1s %(name)s] %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg (+ a record's ``fields``, + exc)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def configure_logging(log_format: str = "text", level: int = logging.INFO) -> None:
    """Route pyserving's (and uvicorn's/grpc's Python) logs to stderr in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(_TEXT_FORMAT, datefmt="%Y-%m-%d %H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's own access/error loggers would duplicate ours or log every request.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers[:] = []
        uvicorn_logger.propagate = name != "uvicorn.access"
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
