"""Version directory names, listings and fingerprints; the version policy's selection."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pyserving.lifecycle import VersionPolicy
from pyserving.lifecycle.state import TRANSITIONS, ServableState, check_transition
from pyserving.storage.local_paths import fingerprint, list_versions, parse_version


@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("1", 1),
        ("123", 123),
        ("00000123", 123),
        ("0", 0),
        (str(2**63 - 1), 2**63 - 1),
        (str(2**63), None),  # does not fit an int64
        ("-1", None),
        ("+1", None),
        (" 1", None),
        ("1.0", None),
        ("v1", None),
        ("", None),
        ("\u0661", None),  # ARABIC-INDIC DIGIT ONE: str.isdigit() but not a version
        (".tmp-1", None),
    ],
)
def test_parse_version(name: str, version: int | None) -> None:
    assert parse_version(name) == version


def test_list_versions_keeps_numeric_directories_only(tmp_path: Path) -> None:
    for name in ("1", "00000123", "foo", ".tmp-7", "-2"):
        (tmp_path / name).mkdir()
    (tmp_path / "5").write_text("a file, not a version directory")
    assert list_versions(os.fspath(tmp_path), "m") == {
        1: os.fspath(tmp_path / "1"),
        123: os.fspath(tmp_path / "00000123"),
    }


def test_list_versions_duplicates_warn_and_the_first_name_wins(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "7").mkdir()
    (tmp_path / "007").mkdir()
    assert list_versions(os.fspath(tmp_path), "m") == {7: os.fspath(tmp_path / "007")}
    assert "Duplicate version directories detected for servable m" in caplog.text


def test_list_versions_missing_base_path_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        list_versions(os.fspath(tmp_path / "nope"), "m")


def test_fingerprint_changes_with_content_and_new_files(tmp_path: Path) -> None:
    (tmp_path / "variables").mkdir()
    (tmp_path / "variables" / "data").write_bytes(b"1234")
    first = fingerprint(os.fspath(tmp_path))
    assert first is not None
    assert fingerprint(os.fspath(tmp_path)) == first
    assert {row[0] for row in first} == {"variables", os.path.join("variables", "data")}
    (tmp_path / "variables" / "data").write_bytes(b"123456")
    second = fingerprint(os.fspath(tmp_path))
    assert second != first
    (tmp_path / "saved_model.pb").write_bytes(b"")
    assert fingerprint(os.fspath(tmp_path)) != second


def test_fingerprint_of_a_missing_dir_is_none(tmp_path: Path) -> None:
    assert fingerprint(os.fspath(tmp_path / "gone")) is None


@pytest.mark.parametrize(
    ("policy", "found", "aspired"),
    [
        (VersionPolicy(), [1, 2, 3], {3}),
        (VersionPolicy.latest(0), [1, 2, 3], {3}),  # num_versions 0 means 1
        (VersionPolicy.latest(2), [1, 2, 3], {2, 3}),
        (VersionPolicy.latest(5), [1, 2], {1, 2}),
        (VersionPolicy.all(), [1, 2, 3], {1, 2, 3}),
        (VersionPolicy.specific(1, 3, 9), [1, 2, 3], {1, 3}),  # missing 9 is skipped
        (VersionPolicy(), [], set()),
        (VersionPolicy.all(), [], set()),
    ],
)
def test_version_policy_selection(
    policy: VersionPolicy, found: list[int], aspired: set[int]
) -> None:
    assert policy.aspired(found) == aspired


def test_version_policy_rejects_bad_values() -> None:
    with pytest.raises(ValueError):
        VersionPolicy("newest")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        VersionPolicy.latest(-1)


def test_state_numbers_are_tf_servings() -> None:
    assert [int(s) for s in ServableState] == [0, 10, 20, 30, 40, 50]


@pytest.mark.parametrize(
    ("current", "target"),
    [(c, t) for c in ServableState for t in ServableState],
)
def test_state_transitions(current: ServableState, target: ServableState) -> None:
    allowed = {
        (ServableState.UNKNOWN, ServableState.START),
        (ServableState.START, ServableState.LOADING),
        (ServableState.START, ServableState.END),
        (ServableState.LOADING, ServableState.AVAILABLE),
        (ServableState.LOADING, ServableState.END),
        (ServableState.AVAILABLE, ServableState.UNLOADING),
        (ServableState.UNLOADING, ServableState.END),
    }
    assert (target in TRANSITIONS[current]) == ((current, target) in allowed)
    if (current, target) in allowed:
        check_transition(current, target)
    else:
        with pytest.raises(RuntimeError):
            check_transition(current, target)
