"""The file-system source, driven look by look with poll_once() (no polling thread)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pytest

from pyserving.lifecycle import VersionPolicy
from pyserving.lifecycle.source import FileSystemSource
from pyserving.runtimes.fake import MARKER, FakeRuntime
from tests.unit.lifecycle.lifecycle_support import config, eventually, fake_model


class Reports:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[int, str]]] = []

    def __call__(self, name: str, versions: Mapping[int, str]) -> None:
        self.calls.append((name, dict(versions)))

    def last(self, name: str = "m") -> set[int] | None:
        found = [versions for n, versions in self.calls if n == name]
        return set(found[-1]) if found else None


def make_source(reports: Reports, poll_wait: float = 1) -> FileSystemSource:
    runtime = FakeRuntime()
    return FileSystemSource(
        poll_wait_seconds=poll_wait,
        settle_seconds=0.01,
        on_aspired=reports,
        is_complete=lambda platform, path: runtime.is_version_complete(path),
    )


def test_a_version_is_reported_after_two_identical_looks(tmp_path: Path) -> None:
    fake_model(tmp_path, 1)
    reports = Reports()
    source = make_source(reports)
    source.set_models([config("m", tmp_path)])
    source.poll_once()
    assert reports.last() == set()  # seen once: not yet a candidate
    source.poll_once()
    assert reports.calls[-1] == ("m", {1: os.fspath(tmp_path / "1")})


def test_a_dir_without_the_completeness_marker_is_never_reported(tmp_path: Path) -> None:
    (tmp_path / "1" / "variables").mkdir(parents=True)
    reports = Reports()
    source = make_source(reports)
    source.set_models([config("m", tmp_path)])
    for _ in range(4):
        source.poll_once()
        assert reports.last() == set()
    fake_model(tmp_path, 1)
    source.poll_once()
    source.poll_once()
    assert reports.last() == {1}


def test_a_dir_still_being_written_is_reported_once_it_stops_changing(tmp_path: Path) -> None:
    fake_model(tmp_path, 2)
    reports = Reports()
    source = make_source(reports)
    source.set_models([config("m", tmp_path)])
    source.poll_once()
    (tmp_path / "2" / "weights").write_bytes(b"x" * 10)  # a copy in progress
    source.poll_once()
    assert reports.last() == set()
    (tmp_path / "2" / "weights").write_bytes(b"x" * 20)
    source.poll_once()
    assert reports.last() == set()
    source.poll_once()  # unchanged since the previous look
    assert reports.last() == {2}


def test_latest_keeps_serving_the_old_version_while_the_new_one_settles(tmp_path: Path) -> None:
    fake_model(tmp_path, 1)
    reports = Reports()
    source = make_source(reports)
    source.set_models([config("m", tmp_path)])
    source.poll_once()
    source.poll_once()
    assert reports.last() == {1}
    (tmp_path / "2").mkdir()  # half-written: no marker yet
    source.poll_once()
    assert reports.last() == {1}
    fake_model(tmp_path, 2)
    source.poll_once()
    assert reports.last() == {1}
    source.poll_once()
    assert reports.last() == {2}


@pytest.mark.parametrize(
    ("policy", "aspired"),
    [
        (VersionPolicy.latest(), {3}),
        (VersionPolicy.latest(2), {2, 3}),
        (VersionPolicy.all(), {1, 2, 3}),
        (VersionPolicy.specific(1, 3, 42), {1, 3}),
    ],
)
def test_version_policies(tmp_path: Path, policy: VersionPolicy, aspired: set[int]) -> None:
    for version in (1, 2, 3):
        fake_model(tmp_path, version)
    reports = Reports()
    source = make_source(reports)
    source.set_models([config("m", tmp_path, policy)])
    source.poll_once()
    source.poll_once()
    assert reports.last() == aspired


def test_deleted_versions_drop_out(tmp_path: Path) -> None:
    for version in (1, 2):
        fake_model(tmp_path, version)
    reports = Reports()
    source = make_source(reports)
    source.set_models([config("m", tmp_path, VersionPolicy.all())])
    source.poll_once()
    source.poll_once()
    assert reports.last() == {1, 2}
    (tmp_path / "2" / MARKER).unlink()
    (tmp_path / "2").rmdir()
    source.poll_once()
    assert reports.last() == {1}


def test_missing_base_path_logs_and_reports_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    reports = Reports()
    source = make_source(reports)
    missing = tmp_path / "missing"
    source.set_models([config("m", missing)])
    source.poll_once()
    assert reports.calls == []
    assert f"Could not find base path {missing} for servable m" in caplog.text


def test_empty_base_path_reports_no_versions_with_tf_servings_hint(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "not_a_version").mkdir()
    reports = Reports()
    source = make_source(reports)
    source.set_models([config("m", tmp_path)])
    source.poll_once()
    assert reports.calls == [("m", {})]
    assert (
        f"No versions of servable m found under base path {tmp_path}. Did you forget to name "
        "your leaf directory as a number (eg. '/1/')?"
    ) in caplog.text


def test_polling_thread_settles_quickly_at_start_and_stops(tmp_path: Path) -> None:
    fake_model(tmp_path, 1)
    reports = Reports()
    source = make_source(reports, poll_wait=0)  # 0: look once (plus the settle look)
    source.set_models([config("m", tmp_path)])
    source.start()
    assert source._thread is not None
    source._thread.join(timeout=5)
    assert not source._thread.is_alive()
    assert reports.last() == {1}
    source.stop()


def test_negative_poll_wait_never_looks(tmp_path: Path) -> None:
    fake_model(tmp_path, 1)
    reports = Reports()
    source = make_source(reports, poll_wait=-1)
    source.set_models([config("m", tmp_path)])
    source.start()
    source.stop()
    assert reports.calls == []


def test_config_changes_never_hurry_the_looks_at_models_already_served(tmp_path: Path) -> None:
    """Only a new model gets quick settle looks. A config change (here: adding model ``n``) must
    not trigger early looks at ``m``: two looks a settle delay apart could both fall into one
    pause of a slow copy and take a half-written version for a finished one."""
    fake_model(tmp_path / "m", 1)
    fake_model(tmp_path / "n", 1)
    reports = Reports()
    source = make_source(reports, poll_wait=60)  # no regular poll during this test
    source.set_models([config("m", tmp_path / "m")])
    source.start()
    try:
        eventually(lambda: reports.last("m") == {1}, what="m settled")
        fake_model(tmp_path / "m", 2)  # complete and stable, but only a regular poll may see it
        for _ in range(3):
            source.set_models([config("m", tmp_path / "m"), config("n", tmp_path / "n")])
        eventually(lambda: reports.last("n") == {1}, what="n settled quickly")
        assert reports.last("m") == {1}
    finally:
        source.stop()
