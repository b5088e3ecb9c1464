"""FsspecStore over fsspec's in-memory file system (real stores: tests/integration)."""

import threading
from pathlib import Path
from typing import Any

import fsspec
import pytest

from pyserving.errors import Code, ServingError
from pyserving.storage.base import StorageNotFound, StorageUnreachable
from pyserving.storage.cache import VersionCache
from pyserving.storage.fsspec_store import FsspecStore
from pyserving.storage.listing import Listing

BASE = "s3://bkt/models/m"


class Observer:
    def __init__(self) -> None:
        self.downloads: list[tuple[str, int]] = []
        self.failures = 0

    def downloaded(self, scheme: str, num_bytes: int, seconds: float) -> None:
        self.downloads.append((scheme, num_bytes))

    def failed(self, scheme: str) -> None:
        self.failures += 1


@pytest.fixture
def fs() -> Any:
    memory = fsspec.filesystem("memory", skip_instance_cache=True)
    memory.store.clear()
    memory.pseudo_dirs.clear()
    memory.pseudo_dirs.append("")
    return memory


def make_store(fs: Any, tmp_path: Path, observer: Observer | None = None) -> FsspecStore:
    return FsspecStore("s3", fs, VersionCache(str(tmp_path / "cache")), observer)


def put(fs: Any, version: int, name: str, data: bytes = b"x") -> None:
    fs.pipe(f"/bkt/models/m/{version}/{name}", data)


def test_versions_are_the_numbered_prefixes(fs: Any, tmp_path: Path) -> None:
    put(fs, 1, "saved_model.pb")
    put(fs, 7, "saved_model.pb")
    put(fs, 7, "variables/variables.index")
    fs.pipe("/bkt/models/m/notes.txt", b"not a version")
    put(fs, "tmp-8", "saved_model.pb")  # type: ignore[arg-type]
    store = make_store(fs, tmp_path)
    assert store.list_versions(BASE, "m") == {1: f"{BASE}/1", 7: f"{BASE}/7"}
    listing = store.snapshot(f"{BASE}/7")
    assert isinstance(listing, Listing)
    assert listing.names == {"saved_model.pb", "variables/variables.index"}


def test_a_missing_bucket_is_not_found_until_it_appears(fs: Any, tmp_path: Path) -> None:
    store = make_store(fs, tmp_path)
    with pytest.raises(StorageNotFound, match="bucket 'bkt' does not exist") as caught:
        store.list_versions("s3://bkt/none", "m")
    assert not caught.value.transient
    assert "AWS_ENDPOINT_URL" in str(caught.value)
    fs.pipe("/bkt/none/1/saved_model.pb", b"x")  # asked again at once: no backoff
    assert store.list_versions("s3://bkt/none", "m") == {1: "s3://bkt/none/1"}


def test_an_empty_prefix_of_an_existing_bucket_has_no_versions_yet(fs: Any, tmp_path: Path) -> None:
    fs.pipe("/bkt/other/1/saved_model.pb", b"x")
    store = make_store(fs, tmp_path)
    assert store.list_versions("s3://bkt/models/m", "m") == {}


def test_botocores_no_such_bucket_is_taken_at_its_word(tmp_path: Path) -> None:
    class NoSuchBucket(Exception):  # named as botocore's
        pass

    class Store:
        def _strip_protocol(self, path: str) -> str:
            return path

        def ls(self, path: str, detail: bool) -> Any:
            raise FileNotFoundError("The specified bucket does not exist") from NoSuchBucket()

        def info(self, path: str) -> Any:
            raise AssertionError("no second request needed")

    store = FsspecStore("s3", Store(), VersionCache(str(tmp_path / "cache")))
    with pytest.raises(StorageNotFound, match="bucket 'gone' does not exist"):
        store.list_versions("s3://gone/m", "m")


def test_an_unreachable_store_backs_off_exponentially(tmp_path: Path) -> None:
    class Down:
        calls = 0

        def _strip_protocol(self, path: str) -> str:
            return path

        def ls(self, path: str, detail: bool) -> Any:
            Down.calls += 1
            raise ConnectionError("connection refused")

    now = [0.0]
    store = FsspecStore("s3", Down(), VersionCache(str(tmp_path)), clock=lambda: now[0])
    for t in (0.0, 0.5, 1.0, 2.0, 2.9, 3.0, 7.0):
        now[0] = t
        with pytest.raises(StorageUnreachable, match="AWS_ENDPOINT_URL"):
            store.list_versions(BASE, "m")
    assert Down.calls == 4  # at 0, 1, 3 and 7 s: 1, 2, 4 s apart


def test_completeness_needs_the_model_file_or_the_marker(fs: Any, tmp_path: Path) -> None:
    store = make_store(fs, tmp_path)
    put(fs, 1, "variables/variables.data-00000-of-00001")
    assert not store.is_complete("tensorflow", f"{BASE}/1", store.snapshot(f"{BASE}/1"))
    put(fs, 1, "saved_model.pb")
    assert store.is_complete("tensorflow", f"{BASE}/1", store.snapshot(f"{BASE}/1"))
    assert not store.is_complete("onnx", f"{BASE}/1", store.snapshot(f"{BASE}/1"))
    # Once a version of the base path carries a marker, others need one too.
    put(fs, 2, "saved_model.pb")
    put(fs, 2, "_READY", b"")
    assert store.is_complete("tensorflow", f"{BASE}/2", store.snapshot(f"{BASE}/2"))
    put(fs, 3, "saved_model.pb")
    assert not store.is_complete("tensorflow", f"{BASE}/3", store.snapshot(f"{BASE}/3"))


def test_a_marker_on_another_version_makes_markers_required(fs: Any, tmp_path: Path) -> None:
    store = make_store(fs, tmp_path)
    put(fs, 1, "saved_model.pb")
    put(fs, 2, "saved_model.pb")
    store.list_versions(BASE, "m")
    assert store.is_complete("tensorflow", f"{BASE}/2", store.snapshot(f"{BASE}/2"))
    put(fs, 1, "_READY", b"")  # the publisher starts writing markers
    put(fs, 3, "saved_model.pb")
    store.list_versions(BASE, "m")
    assert not store.is_complete("tensorflow", f"{BASE}/3", store.snapshot(f"{BASE}/3"))
    put(fs, 3, "_READY", b"")
    assert store.is_complete("tensorflow", f"{BASE}/3", store.snapshot(f"{BASE}/3"))


def test_materialize_downloads_then_reuses_then_refreshes(fs: Any, tmp_path: Path) -> None:
    observer = Observer()
    store = make_store(fs, tmp_path, observer)
    put(fs, 1, "saved_model.pb", b"graph")
    put(fs, 1, "variables/variables.index", b"0123456789")
    local = store.materialize(f"{BASE}/1", threading.Event())
    assert Path(local, "saved_model.pb").read_bytes() == b"graph"
    assert Path(local, "variables", "variables.index").read_bytes() == b"0123456789"
    assert observer.downloads == [("s3", 15)]
    # A second process (a restart) with the same cache reuses the copy...
    again = make_store(fs, tmp_path, observer)
    assert again.materialize(f"{BASE}/1", threading.Event()) == local
    assert len(observer.downloads) == 1
    # ...until the store lists something else.
    put(fs, 1, "saved_model.pb", b"graph v2")
    assert Path(
        again.materialize(f"{BASE}/1", threading.Event()), "saved_model.pb"
    ).read_bytes() == (b"graph v2")
    again.release(f"{BASE}/1")
    assert not Path(local).exists()


def test_a_deleted_version_fails_with_not_found_and_leaves_nothing(fs: Any, tmp_path: Path) -> None:
    observer = Observer()
    store = make_store(fs, tmp_path, observer)
    with pytest.raises(ServingError) as caught:
        store.materialize(f"{BASE}/4", threading.Event())
    assert caught.value.code is Code.NOT_FOUND
    assert "deleted" in caught.value.message
    assert observer.failures == 1
    assert list((tmp_path / "cache" / ".partial").iterdir()) == []


def test_a_cancelled_download_stops_and_leaves_nothing(fs: Any, tmp_path: Path) -> None:
    store = make_store(fs, tmp_path)
    put(fs, 1, "saved_model.pb")
    cancelled = threading.Event()
    cancelled.set()
    with pytest.raises(ServingError) as caught:
        store.materialize(f"{BASE}/1", cancelled)
    assert caught.value.code is Code.CANCELLED
    assert list((tmp_path / "cache" / ".partial").iterdir()) == []
    assert not (tmp_path / "cache" / "s3").exists()
