import threading
from pathlib import Path

import pytest

from pyserving.errors import Code, ServingError
from pyserving.storage import Storage, remote_scheme
from pyserving.storage.base import StorageError


def test_only_object_store_uris_are_remote() -> None:
    assert remote_scheme("s3://b/m") == "s3"
    assert remote_scheme("gs://b/m") == "gs"
    assert remote_scheme("GCS://b/m") == "gcs"
    assert remote_scheme("/models/m") is None
    assert remote_scheme("hdfs://n/m") is None


def test_local_paths_are_used_in_place(tmp_path: Path) -> None:
    (tmp_path / "3").mkdir()
    storage = Storage(lambda platform, path: True, cache_dir=str(tmp_path / "cache"))
    assert storage.list_versions(str(tmp_path), "m") == {3: str(tmp_path / "3")}
    assert storage.materialize(str(tmp_path / "3"), threading.Event()) == str(tmp_path / "3")
    storage.release(str(tmp_path / "3"))
    assert (tmp_path / "3").is_dir()
    assert not (tmp_path / "cache").exists(), "no cache is made without a remote path"


def test_a_store_without_its_extra_says_what_to_install(tmp_path: Path) -> None:
    def missing(scheme: str) -> object:
        raise ImportError("No module named 's3fs'")

    storage = Storage(lambda p, d: True, cache_dir=str(tmp_path), filesystem=missing)
    with pytest.raises(StorageError, match=r"pip install 'pyserving\[s3\]'"):
        storage.list_versions("s3://b/m", "m")
    with pytest.raises(ServingError) as caught:
        storage.materialize("gs://b/m/1", threading.Event())
    assert caught.value.code is Code.FAILED_PRECONDITION
    assert "pyserving[gcs]" in caught.value.message


def test_check_base_path_answers_with_the_stores_code(tmp_path: Path) -> None:
    import fsspec

    memory = fsspec.filesystem("memory", skip_instance_cache=True)
    memory.store.clear()
    memory.pseudo_dirs.clear()
    memory.pseudo_dirs.append("")
    memory.pipe("/bkt/m/2/model.onnx", b"x")
    storage = Storage(lambda p, d: True, cache_dir=str(tmp_path), filesystem=lambda s: memory)
    assert storage.check_base_path("s3://bkt/m", "m") == {2: "s3://bkt/m/2"}
    with pytest.raises(ServingError) as caught:
        storage.check_base_path("s3://nobucket/m", "m")
    assert caught.value.code is Code.NOT_FOUND
    assert "bucket 'nobucket' does not exist" in caught.value.message


def test_check_base_path_does_not_wait_for_a_store_that_never_answers(tmp_path: Path) -> None:
    release = threading.Event()

    class Hanging:
        def _strip_protocol(self, path: str) -> str:
            return path

        def ls(self, path: str, detail: bool) -> object:
            release.wait(30)
            raise ConnectionError("gave up")

    storage = Storage(lambda p, d: True, cache_dir=str(tmp_path), filesystem=lambda s: Hanging())
    try:
        with pytest.raises(ServingError) as caught:
            storage.check_base_path("s3://slow/m", "m", timeout=0.2)
    finally:
        release.set()
    assert caught.value.code is Code.UNAVAILABLE
    assert "got no answer within" in caught.value.message
    assert "AWS_ENDPOINT_URL" in caught.value.message
