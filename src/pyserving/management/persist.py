"""Writing ``--model_config_file`` back, atomically, so a restart serves what the admin API set.

A reader (a restarting server, the config file poller, a human) sees either the old file or the
new one, never a mix: the text goes to a temporary file in the same directory, is flushed to disk
(``fsync``), and replaces the config with one ``os.replace`` (a rename, atomic on POSIX within one
file system); the directory is then synced so the rename itself survives a crash.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile

from pyserving.config.models import format_model_server_config
from pyserving.errors import Code, ServingError
from pyserving.protos import model_server_config_pb2

logger = logging.getLogger(__name__)

HEADER = (
    "# Model server config (protobuf text format). Written by pyserving's admin API, which\n"
    "# rewrites this whole file on every change: comments and formatting are not kept.\n"
)
LABELS_NOTE = (
    "# It has version labels: like TF Serving, a server starting from it needs\n"
    "# --allow_version_labels_for_unavailable_models (no version is loaded when labels are read).\n"
)


def write_config_atomically(path: str, config: model_server_config_pb2.ModelServerConfig) -> None:
    """Replace the file at ``path`` (following a symlink to its target) with ``config`` in TF
    Serving's text format, keeping the old file's permission bits.

    Raises INTERNAL naming the path when anything fails; the old file is then left untouched.
    """
    target = os.path.realpath(path)
    directory = os.path.dirname(target)
    labelled = any(e.version_labels for e in config.model_config_list.config)
    text = HEADER + (LABELS_NOTE if labelled else "") + format_model_server_config(config)
    try:
        fd, temp = tempfile.mkstemp(
            prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=directory
        )
    except OSError as exc:
        raise _write_error(path, exc) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(temp, os.stat(target).st_mode & 0o7777)
        os.replace(temp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise _write_error(path, exc) from exc
    _sync_directory(directory)
    logger.info("Wrote the model config to %s", path)


def _write_error(path: str, exc: OSError) -> ServingError:
    return ServingError(Code.INTERNAL, f"Could not write the model config file {path}: {exc}")


def _sync_directory(directory: str) -> None:
    """Make the rename durable; not every platform or file system allows opening a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
