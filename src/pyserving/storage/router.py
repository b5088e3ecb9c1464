"""One :class:`~pyserving.storage.base.VersionStore` for every base path: local paths stay local,
``s3://`` and ``gs://`` (alias ``gcs://``) go to an fsspec store created on first use."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from pyserving.errors import Code, ServingError
from pyserving.storage.base import Snapshot, StorageError, VersionStore
from pyserving.storage.cache import VersionCache, default_cache_dir
from pyserving.storage.local import LocalStore, RuntimeCompleteness
from pyserving.storage.observer import DownloadObserver

if TYPE_CHECKING:  # fsspec is imported on the first remote path only
    from pyserving.storage.fsspec_store import FsspecStore

# URI scheme -> (fsspec scheme, the pyserving extra that installs it).
REMOTE_SCHEMES: Final[dict[str, tuple[str, str]]] = {
    "s3": ("s3", "s3"),
    "gs": ("gs", "gcs"),
    "gcs": ("gs", "gcs"),
}


def remote_scheme(path: str) -> str | None:
    """The scheme of ``path`` when it names an object store this server reads, else None."""
    if "://" not in path:
        return None
    scheme = urlsplit(path).scheme.lower()
    return scheme if scheme in REMOTE_SCHEMES else None


class StoreNotInstalled(StorageError):
    code = Code.FAILED_PRECONDITION
    transient = False


FilesystemFactory = Callable[[str], object]

PROBE_SECONDS: Final = 10.0
"""How long :meth:`Storage.check_base_path` waits for a listing: the vendors' clients retry a
refused connection for a while themselves (botocore about 7 s, gcsfs about 30 s)."""


class Storage:
    """Routes each call to the store of its path's scheme. Thread-safe."""

    def __init__(
        self,
        is_complete: RuntimeCompleteness,
        *,
        cache_dir: str = "",
        observer: DownloadObserver | None = None,
        filesystem: FilesystemFactory | None = None,
    ) -> None:
        self._local = LocalStore(is_complete)
        self._cache_dir = cache_dir or default_cache_dir()
        self._cache: VersionCache | None = None
        self._observer = observer
        self._filesystem = filesystem
        self._lock = threading.Lock()
        self._remote: dict[str, FsspecStore] = {}

    def set_observer(self, observer: DownloadObserver | None) -> None:
        """Report downloads to ``observer`` (call before the first remote base path is read)."""
        self._observer = observer

    def store_for(self, path: str) -> VersionStore:
        scheme = remote_scheme(path)
        if scheme is None:
            return self._local
        fs_scheme, extra = REMOTE_SCHEMES[scheme]
        with self._lock:
            store = self._remote.get(fs_scheme)
            if store is None:
                store = self._remote[fs_scheme] = self._make(fs_scheme, extra)
            return store

    def _make(self, fs_scheme: str, extra: str) -> FsspecStore:
        try:
            from pyserving.storage.fsspec_store import FsspecStore, make_filesystem

            if self._filesystem is not None:
                fs = self._filesystem(fs_scheme)
            else:
                fs = make_filesystem(fs_scheme)
        except ImportError as exc:
            raise StoreNotInstalled(
                f"{fs_scheme}:// base paths need the {extra} extra ({exc}); install it with: "
                f"pip install 'pyserving[{extra}]'"
            ) from exc
        if self._cache is None:
            self._cache = VersionCache(self._cache_dir)
        return FsspecStore(fs_scheme, fs, self._cache, self._observer)

    def check_base_path(
        self, base_path: str, servable: str, timeout: float = PROBE_SECONDS
    ) -> Mapping[int, str]:
        """The versions under remote ``base_path`` now, for a caller that must answer quickly
        (an admin request): raises :class:`ServingError` with the store error's code and message,
        or UNAVAILABLE when the store gives no answer within ``timeout`` seconds (its client may
        still be retrying; that listing goes on in the background and its outcome counts for
        the next look, see the stores' backoff)."""
        outcome: list[Mapping[int, str] | BaseException] = []
        done = threading.Event()

        def list_once() -> None:
            try:
                outcome.append(self.list_versions(base_path, servable))
            except BaseException as exc:  # handed to the waiting caller
                outcome.append(exc)
            finally:
                done.set()

        threading.Thread(target=list_once, name="pyserving-list-probe", daemon=True).start()
        if not done.wait(timeout):
            raise ServingError(
                Code.UNAVAILABLE,
                f"Listing {base_path} for model {servable} got no answer within {timeout:.0f} s: "
                f"the store is unreachable or slow; check the network and the store's endpoint "
                f"(AWS_ENDPOINT_URL, STORAGE_EMULATOR_HOST), then try again",
            )
        result = outcome[0]
        if isinstance(result, StorageError):
            raise ServingError(result.code, f"{result} (model {servable})") from None
        if isinstance(result, BaseException):
            raise ServingError(
                Code.UNAVAILABLE, f"Listing {base_path} for model {servable} failed: {result}"
            ) from None
        return result

    # -- VersionStore -----------------------------------------------------------------------------

    def list_versions(self, base_path: str, servable: str) -> Mapping[int, str]:
        return self.store_for(base_path).list_versions(base_path, servable)

    def snapshot(self, version_path: str) -> Snapshot | None:
        return self.store_for(version_path).snapshot(version_path)

    def is_complete(self, platform: str, version_path: str, snapshot: Snapshot) -> bool:
        return self.store_for(version_path).is_complete(platform, version_path, snapshot)

    def materialize(self, version_path: str, cancelled: threading.Event) -> str:
        try:
            store = self.store_for(version_path)
        except StorageError as exc:
            raise ServingError(exc.code, str(exc)) from exc
        return store.materialize(version_path, cancelled)

    def release(self, version_path: str) -> None:
        if remote_scheme(version_path) is not None:
            self.store_for(version_path).release(version_path)
