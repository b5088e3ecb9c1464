"""Admin changes and reloads that could never load fail at once, naming what is wrong, and change
nothing (no wait for the timeout, no config written, the served models untouched)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pyserving.config.models import format_model_server_config
from pyserving.errors import Code, ServingError
from pyserving.management.edits import put_model
from tests.unit.lifecycle.lifecycle_support import fake_model, served
from tests.unit.management.management_support import config_of, controlled, entry

#: Far longer than a fail-fast answer takes, far shorter than the wait it replaces.
PATIENCE = 30.0


def _fails_fast(call: Callable[..., object], *args: object, **kwargs: object) -> ServingError:
    started = time.monotonic()
    with pytest.raises(ServingError) as caught:
        call(*args, timeout=PATIENCE * 10, **kwargs)
    assert time.monotonic() - started < PATIENCE, "the change waited instead of failing"
    return caught.value


@pytest.fixture
def served_file(tmp_path: Path) -> tuple[Path, Path]:
    base = tmp_path / "a"
    fake_model(base, 1)
    path = tmp_path / "models.config"
    path.write_text(format_model_server_config(config_of(entry("a", base))))
    return base, path


@pytest.mark.parametrize(
    ("layout", "code", "says"),
    [
        (
            "missing",
            Code.NOT_FOUND,
            "Could not find base path {base} for model m: the path does not exist",
        ),
        ("file", Code.NOT_FOUND, "the path is not a directory"),
        (
            "empty",
            Code.NOT_FOUND,
            "No versions of model m found under base path {base}: each "
            "version must be a directory named by its number",
        ),
    ],
)
def test_put_of_a_model_that_cannot_load_fails_at_once(
    served_file: tuple[Path, Path], tmp_path: Path, layout: str, code: Code, says: str
) -> None:
    a_base, path = served_file
    base = tmp_path / "m"
    if layout == "file":
        base.write_text("x")
    elif layout == "empty":
        base.mkdir()
        (base / "not-a-version").mkdir()
    written = path.read_text()
    startup = config_of(entry("a", a_base))
    with controlled(startup, config_file=path) as (controller, core, _):
        error = _fails_fast(controller.change, put_model(entry("m", base)))
        assert error.code is code
        assert says.format(base=base) in error.message
        assert core.model_names() == ["a"]
        assert controller.current() == startup
        assert path.read_text() == written


def test_replacing_a_base_path_with_a_missing_one_changes_nothing(
    served_file: tuple[Path, Path], tmp_path: Path
) -> None:
    a_base, path = served_file
    startup = config_of(entry("a", a_base))
    with controlled(startup, config_file=path) as (controller, core, _):
        error = _fails_fast(controller.change, put_model(entry("a", tmp_path / "gone")))
        assert error.code is Code.NOT_FOUND and str(tmp_path / "gone") in error.message
        assert controller.current() == startup
        assert served(core, "a") == 1


def test_a_model_that_fails_to_load_answers_with_the_load_error_not_a_timeout(
    served_file: tuple[Path, Path], tmp_path: Path
) -> None:
    """TF Serving's retries (5 x 60 s by default) apply, but a deterministic load error under
    ``retry_deterministic_load_errors=False`` ends the change at once with that error."""
    a_base, path = served_file
    bad = tmp_path / "bad"
    fake_model(bad, 1, fail_load="not a SavedModel", fail_code="NOT_FOUND")
    startup = config_of(entry("a", a_base))
    options: dict[str, Any] = {
        "max_num_load_retries": 5,
        "load_retry_interval_micros": 60_000_000,
        "retry_deterministic_load_errors": False,
    }
    with controlled(startup, config_file=path, **options) as (controller, core, _):
        error = _fails_fast(controller.change, put_model(entry("bad", bad)))
        assert "not a SavedModel" in error.message
        assert core.model_names() == ["a"]


def test_reload_refuses_a_missing_base_path_before_applying(
    served_file: tuple[Path, Path], tmp_path: Path
) -> None:
    a_base, _ = served_file
    startup = config_of(entry("a", a_base))
    with controlled(startup) as (controller, core, _):
        wanted = config_of(entry("a", a_base), entry("m", tmp_path / "gone"))
        error = _fails_fast(controller.reload, wanted)
        assert error.code is Code.NOT_FOUND
        assert core.model_names() == ["a"] and controller.current() == startup
        # An existing but empty directory keeps TF Serving's semantics: applied, waiting.
        (tmp_path / "later").mkdir()
        wanted = config_of(entry("a", a_base), entry("m", tmp_path / "later"))
        with pytest.raises(ServingError) as caught:
            controller.reload(wanted, timeout=0.5)
        assert caught.value.code is Code.DEADLINE_EXCEEDED
        assert core.model_names() == ["a", "m"]


def test_a_timeout_says_its_seconds_rounded(served_file: tuple[Path, Path], tmp_path: Path) -> None:
    """A version that never completes (no marker file: the fake runtime's saved_model.pb) keeps
    the change waiting until its timeout; the answer names the seconds as a person would."""
    a_base, _ = served_file
    (tmp_path / "slow" / "1").mkdir(parents=True)
    with controlled(config_of(entry("a", a_base))) as (controller, core, _):
        with pytest.raises(ServingError) as caught:
            controller.change(put_model(entry("slow", tmp_path / "slow")), timeout=0.5)
        assert caught.value.code is Code.DEADLINE_EXCEEDED
        assert caught.value.message == "Models not available after 0.5 s: slow"
        assert core.model_names() == ["a"]
