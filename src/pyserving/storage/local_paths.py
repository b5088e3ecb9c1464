"""Reading a model's base path: version directory names and version directory fingerprints.

Pure file-system helpers for :mod:`pyserving.storage.local`; nothing here keeps state.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Final

logger = logging.getLogger(__name__)

_DIGITS: Final = re.compile(r"[0-9]+")
_INT64_MAX: Final = 2**63 - 1

Fingerprint = tuple[tuple[str, int, int], ...]
"""Sorted (relative path, size, mtime_ns) of everything under a version directory."""


def parse_version(name: str) -> int | None:
    """The version a child directory name stands for (``00000123`` -> 123), or None.

    Only ASCII digits that fit an int64 count, as in TF Serving; ``-1``, ``v2``, ``1.0`` do not.
    """
    if not _DIGITS.fullmatch(name):
        return None
    version = int(name)
    return version if version <= _INT64_MAX else None


def list_versions(base_path: str, servable: str) -> dict[int, str]:
    """Version -> directory path for the version directories directly under ``base_path``.

    Raises ``OSError`` (``FileNotFoundError`` for a missing base path). Two names for one number
    (``7`` and ``007``) log a warning; the name sorting first wins, so the choice is stable.
    """
    found: dict[int, str] = {}
    with os.scandir(base_path) as entries:
        children = sorted((e.name, e.path, _is_dir(e)) for e in entries)
    for name, path, is_dir in children:
        version = parse_version(name)
        if version is None or not is_dir:
            continue
        if version in found:
            logger.warning(
                "Duplicate version directories detected for servable %s: %s and %s; using %s",
                servable,
                found[version],
                path,
                found[version],
            )
            continue
        found[version] = path
    return found


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # follows symlinks: a symlinked version dir is a version
    except OSError:
        return False


def fingerprint(path: str) -> Fingerprint | None:
    """A recursive snapshot of ``path`` (files and directories), or None if it cannot be read.

    Two equal fingerprints taken some time apart mean nothing was written in between, as far as
    sizes and modification times can tell. Symlinked files are followed (their target's size and
    mtime count); symlinked subdirectories are recorded but not descended into, to avoid cycles.
    A file vanishing mid-walk returns None, which never equals a fingerprint.
    """
    rows: list[tuple[str, int, int]] = []
    errors: list[OSError] = []
    try:
        for root, dirs, files in os.walk(path, onerror=errors.append):
            for name in (*dirs, *files):
                full = os.path.join(root, name)
                try:
                    st = os.stat(full)
                except FileNotFoundError:
                    st = os.lstat(full)  # a dangling symlink: record the link itself
                rows.append((os.path.relpath(full, path), st.st_size, st.st_mtime_ns))
    except OSError:
        return None
    if errors:
        return None
    rows.sort()
    return tuple(rows)
