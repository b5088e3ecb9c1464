"""Local directories (and anything mounted): versions are used in place, nothing is copied."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from pyserving.storage.base import Snapshot
from pyserving.storage.local_paths import fingerprint, list_versions

RuntimeCompleteness = Callable[[str, str], bool]
"""(platform, version directory) -> whether the runtime considers the directory complete."""


class LocalStore:
    """A :class:`~pyserving.storage.base.VersionStore` over the local file system.

    Completeness is the runtime's own check on the directory (``is_complete``), since a local
    directory can be inspected the way the runtime will read it.
    """

    def __init__(self, is_complete: RuntimeCompleteness) -> None:
        self._is_complete = is_complete

    def list_versions(self, base_path: str, servable: str) -> Mapping[int, str]:
        return list_versions(base_path, servable)

    def snapshot(self, version_path: str) -> Snapshot | None:
        return fingerprint(version_path)

    def is_complete(self, platform: str, version_path: str, snapshot: Snapshot) -> bool:
        return self._is_complete(platform, version_path)

    def materialize(self, version_path: str, cancelled: threading.Event) -> str:
        return version_path

    def release(self, version_path: str) -> None:
        return None
