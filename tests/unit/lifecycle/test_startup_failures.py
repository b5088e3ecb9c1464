"""What a new user sees when a model cannot load: deterministic errors reported at once under
``pyserving serve`` rules, retries that say they are retries, the good models served anyway."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from pyserving.errors import Code, ServingError
from pyserving.lifecycle import ServableState
from pyserving.lifecycle.loader import is_waiting_to_retry, load_with_retries
from pyserving.lifecycle.state import ServableId
from pyserving.observability.load_progress import LoadProgress
from pyserving.runtimes.fake import MARKER
from tests.unit.lifecycle.lifecycle_support import (
    WAIT,
    config,
    eventually,
    fake_model,
    running_core,
    served,
)

SID = ServableId("m", 1)


def _failing(code: Code) -> tuple[list[int], object]:
    calls: list[int] = []

    def load() -> object:
        calls.append(1)
        raise ServingError(code, "no saved_model.pb")

    return calls, load


def test_deterministic_errors_are_not_retried_when_asked() -> None:
    calls, load = _failing(Code.NOT_FOUND)
    with pytest.raises(ServingError):
        load_with_retries(
            SID,
            load,  # type: ignore[arg-type]
            max_num_load_retries=5,
            retry_interval_seconds=60,
            cancelled=threading.Event(),
            retry_deterministic_errors=False,
        )
    assert len(calls) == 1
    # Other errors (a flaky file system...) keep TF Serving's retries.
    calls, load = _failing(Code.UNAVAILABLE)
    with pytest.raises(ServingError):
        load_with_retries(
            SID,
            load,  # type: ignore[arg-type]
            max_num_load_retries=2,
            retry_interval_seconds=0,
            cancelled=threading.Event(),
            retry_deterministic_errors=False,
        )
    assert len(calls) == 3


def test_a_retry_wait_is_logged_as_such_and_not_as_loading(
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, load = _failing(Code.NOT_FOUND)
    cancelled = threading.Event()
    now = [0.0]
    progress = LoadProgress(interval=10.0, clock=lambda: now[0])
    progress("m", 1, ServableState.LOADING, None)
    now[0] = 117.0
    seen: list[list[str]] = []

    def run() -> None:
        with pytest.raises(ServingError):
            load_with_retries(
                SID,
                load,  # type: ignore[arg-type]
                max_num_load_retries=5,
                retry_interval_seconds=60,
                cancelled=cancelled,
            )

    with caplog.at_level(logging.INFO):
        thread = threading.Thread(target=run)
        thread.start()
        eventually(lambda: is_waiting_to_retry(SID), what="waiting to retry")
        seen.append(progress.report())
        cancelled.set()
        thread.join(WAIT)
    assert seen == [[]]  # no "Still loading ... (117 s)" while nothing loads
    assert (
        "Loading servable version {name: m version: 1} failed; retrying in 60 s (attempt 1 "
        "of 6): NOT_FOUND: no saved_model.pb" in caplog.text
    )
    assert not is_waiting_to_retry(SID)
    assert progress.report() == ["Still loading servable version {name: m version: 1} (117 s)"]


def test_some_ready_serves_the_good_models_and_reports_the_bad(tmp_path: Path) -> None:
    fake_model(tmp_path / "good", 1)
    fake_model(tmp_path / "broken", 1, fail_load="cannot load", fail_code="NOT_FOUND")
    models = [
        config("good", tmp_path / "good"),
        config("missing", tmp_path / "missing"),
        config("broken", tmp_path / "broken"),
    ]
    options: dict[str, Any] = {
        "max_num_load_retries": 5,
        "load_retry_interval_micros": 60_000_000,
        "retry_deterministic_load_errors": False,
    }
    with running_core(models, **options) as core:
        started = time.monotonic()
        failed = core.wait_until_some_ready(timeout=WAIT)
        assert time.monotonic() - started < WAIT
        assert list(failed) == ["missing", "broken"]
        assert failed["missing"].code is Code.NOT_FOUND
        assert "Could not find base path" in failed["missing"].message
        assert failed["broken"].message == "cannot load"
        assert served(core, "good") == 1
        assert not core.is_ready()
        [status] = core.model_status("missing")
        assert (status.version, status.state, status.error_code) == (
            0,
            ServableState.END,
            Code.NOT_FOUND,
        )


def test_some_ready_raises_when_nothing_loads(tmp_path: Path) -> None:
    with running_core([config("missing", tmp_path / "missing")]) as core:
        with pytest.raises(ServingError) as caught:
            core.wait_until_some_ready(timeout=WAIT)
        assert caught.value.code is Code.NOT_FOUND


def test_a_base_path_that_is_a_version_is_version_1_when_asked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model_dir = tmp_path / "m"
    model_dir.mkdir()
    (model_dir / MARKER).write_text("{}")
    with (
        caplog.at_level(logging.INFO),
        running_core([config("m", model_dir)], unversioned_as_v1=True) as core,
    ):
        core.wait_until_ready(timeout=WAIT)
        assert served(core, "m") == 1
    assert (
        f"{model_dir} holds a model but no numbered version directory: serving it as version 1 "
        "of m" in caplog.text
    )
