import os
from pathlib import Path

import pytest

from pyserving.storage.cache import MANIFEST, VersionCache
from pyserving.storage.listing import Entry, Listing

LISTING = Listing((Entry("saved_model.pb", 3, "etag-1"),))


def _partial_with_file(cache: VersionCache) -> str:
    partial = cache.new_partial()
    Path(partial, "saved_model.pb").write_bytes(b"abc")
    return partial


def test_commit_publishes_by_rename_and_lookup_needs_the_same_listing(tmp_path: Path) -> None:
    cache = VersionCache(str(tmp_path))
    final = cache.commit(_partial_with_file(cache), "s3://bkt/models/m/3", LISTING)
    assert final == str(tmp_path / "s3" / "bkt" / "models" / "m" / "3")
    assert Path(final, "saved_model.pb").read_bytes() == b"abc"
    assert Path(final, MANIFEST).is_file()
    assert cache.lookup("s3://bkt/models/m/3", LISTING) == final
    changed = Listing((Entry("saved_model.pb", 3, "etag-2"),))
    assert cache.lookup("s3://bkt/models/m/3", changed) is None
    assert os.listdir(tmp_path / ".partial") == []


def test_a_new_copy_replaces_the_old_one_and_remove_deletes_it(tmp_path: Path) -> None:
    cache = VersionCache(str(tmp_path))
    cache.commit(_partial_with_file(cache), "gs://b/m/1", LISTING)
    second = cache.commit(_partial_with_file(cache), "gs://b/m/1", LISTING)
    assert Path(second, "saved_model.pb").is_file()
    cache.remove("gs://b/m/1")
    assert not Path(second).exists()
    assert cache.lookup("gs://b/m/1", LISTING) is None
    assert os.listdir(tmp_path / ".partial") == []


@pytest.mark.parametrize(
    "uri", ["s3://b/../etc/1", "s3://b/m//1", "s3:///m/1", "s3://b/.partial/1"]
)
def test_uris_that_would_escape_the_cache_are_refused(tmp_path: Path, uri: str) -> None:
    with pytest.raises(ValueError):
        VersionCache(str(tmp_path)).path_for(uri)
