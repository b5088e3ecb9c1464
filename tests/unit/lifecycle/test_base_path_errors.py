"""A remote base path that cannot be listed becomes the model's status (version 0), through the
source's report and the core; an in-memory fsspec file system stands in for the bucket (real
stores: tests/integration/test_storage_errors_e2e.py)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import fsspec
import pytest

from pyserving.errors import Code, ServingError
from pyserving.lifecycle import ModelConfig, ServableState, VersionPolicy
from pyserving.lifecycle.monitor import ServableStateMonitor
from pyserving.lifecycle.source import FileSystemSource
from pyserving.storage.base import StorageError, StorageNotFound, StorageUnreachable
from tests.unit.lifecycle.lifecycle_support import Recorder, eventually, running_core

S = ServableState


class ScriptedStore:
    """A VersionStore whose listings answer from a list of outcomes (the last one repeats)."""

    def __init__(self, *outcomes: Mapping[int, str] | StorageError) -> None:
        self.outcomes = list(outcomes)

    def list_versions(self, base_path: str, servable: str) -> Mapping[int, str]:
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, StorageError):
            raise outcome
        return outcome

    def snapshot(self, version_path: str) -> Any:
        return version_path

    def is_complete(self, platform: str, version_path: str, snapshot: Any) -> bool:
        return True

    def materialize(self, version_path: str, cancelled: Any) -> str:
        return version_path

    def release(self, version_path: str) -> None:
        return None


def remote(name: str = "m", base: str = "s3://bkt/m") -> ModelConfig:
    return ModelConfig(name, base, "fake", VersionPolicy.latest())


def test_the_source_reports_each_change_of_a_base_path_error_once() -> None:
    missing = StorageNotFound("s3://bkt/m: bucket 'bkt' does not exist")
    down = StorageUnreachable("Cannot reach the store holding s3://bkt/m")
    store = ScriptedStore(missing, missing, down, down, {}, {})
    reports: list[tuple[str, StorageError | None]] = []
    source = FileSystemSource(
        poll_wait_seconds=1,
        settle_seconds=0,
        on_aspired=lambda name, versions: None,
        store=store,
        on_base_path_error=lambda name, error: reports.append((name, error)),
    )
    source.set_models([remote()])
    for _ in range(6):
        source.poll_once()
    assert reports == [("m", missing), ("m", down), ("m", None)]
    store.outcomes = [missing]
    source.poll_once()
    source.set_models([])  # a dropped model's error goes with it
    assert reports[-2:] == [("m", missing), ("m", None)]


def test_the_monitor_forgets_only_a_base_path_error() -> None:
    monitor = ServableStateMonitor()
    error = ServingError(Code.NOT_FOUND, "no bucket")
    monitor.record("m", 0, S.END, error, base_path_error=True)
    assert [(s.version, s.state, s.error_code) for s in monitor.model_status("m")] == [
        (0, S.END, Code.NOT_FOUND)
    ]
    monitor.forget_base_path_error("m")
    with pytest.raises(ServingError, match="Could not find any versions of model m"):
        monitor.model_status("m")
    monitor.record("m", 0, S.START, error, base_path_error=True)
    monitor.record("m", 0, S.LOADING)  # a real version 0 took the place
    monitor.forget_base_path_error("m")
    assert monitor.model_status("m")[0].state is S.LOADING


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An in-memory file system served for every s3:// path of the cores in the test."""
    memory = fsspec.filesystem("memory", skip_instance_cache=True)
    memory.store.clear()
    memory.pseudo_dirs.clear()
    memory.pseudo_dirs.append("")
    monkeypatch.setattr("pyserving.storage.fsspec_store.make_filesystem", lambda scheme: memory)
    yield memory
    memory.store.clear()


def test_a_missing_bucket_fails_the_startup_wait_with_its_message(
    bucket: Any, tmp_path: Any
) -> None:
    recorder = Recorder()
    with running_core([remote()], recorder=recorder, model_cache_dir=str(tmp_path)) as core:
        with pytest.raises(ServingError) as caught:
            core.wait_until_ready(timeout=10)
        assert caught.value.code is Code.NOT_FOUND
        assert "bucket 'bkt' does not exist" in caught.value.message
        (status,) = core.model_status("m")
        assert (status.version, status.state) == (0, S.END)
        # The bucket appears (empty prefix: no versions yet): the error goes.
        bucket.pipe("/bkt/other/1/fake_model.json", b"{}")
        eventually(lambda: not _statuses(core), what="the error entry dropped")
    assert ("m", 0, S.END, None) in recorder.events


def test_an_unreachable_store_keeps_the_startup_waiting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    class Down:
        def _strip_protocol(self, path: str) -> str:
            return path

        def ls(self, path: str, detail: bool) -> Any:
            raise ConnectionError("connection refused")

    monkeypatch.setattr("pyserving.storage.fsspec_store.make_filesystem", lambda scheme: Down())
    with running_core([remote()], model_cache_dir=str(tmp_path)) as core:
        with pytest.raises(TimeoutError):
            core.wait_until_ready(timeout=1.0)
        (status,) = core.model_status("m")
        assert (status.version, status.state, status.error_code) == (0, S.START, Code.UNAVAILABLE)
        assert "Cannot reach the store holding s3://bkt/m" in status.error_message
        assert "retrying with backoff" in status.error_message


def test_serve_mode_waits_for_an_unreachable_store_and_fails_a_missing_bucket(
    monkeypatch: pytest.MonkeyPatch, bucket: Any, tmp_path: Any
) -> None:
    with (
        running_core([remote()], model_cache_dir=str(tmp_path / "a")) as core,
        pytest.raises(ServingError, match="bucket 'bkt' does not exist"),
    ):
        core.wait_until_some_ready(timeout=10)

    class Down:
        def _strip_protocol(self, path: str) -> str:
            return path

        def ls(self, path: str, detail: bool) -> Any:
            raise ConnectionError("connection refused")

    monkeypatch.setattr("pyserving.storage.fsspec_store.make_filesystem", lambda scheme: Down())
    with (
        running_core([remote()], model_cache_dir=str(tmp_path / "b")) as core,
        pytest.raises(TimeoutError),  # not failed: retried, and waited for
    ):
        core.wait_until_some_ready(timeout=1.0)


def test_check_loadable_lists_remote_base_paths(bucket: Any, tmp_path: Any) -> None:
    bucket.pipe("/bkt/m/3/fake_model.json", b"{}")
    bucket.pipe("/bkt/empty/x", b"")
    with running_core([], model_cache_dir=str(tmp_path)) as core:
        core.check_loadable([remote()])
        with pytest.raises(ServingError, match="No versions of model e found under base path"):
            core.check_loadable([remote("e", "s3://bkt/empty/e")])
        core.check_loadable([remote("e", "s3://bkt/empty/e")], base_path_only=True)
        for base_path_only in (False, True):
            with pytest.raises(ServingError) as caught:
                core.check_loadable([remote("n", "s3://nobkt/n")], base_path_only=base_path_only)
            assert caught.value.code is Code.NOT_FOUND


def _statuses(core: Any) -> list[Any]:
    try:
        return list(core.model_status("m"))
    except ServingError:
        return []
