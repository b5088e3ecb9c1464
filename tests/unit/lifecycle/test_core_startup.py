"""ServerCore startup: wait_until_ready, broken and empty models, parallel loads, shutdown."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from pyserving.errors import Code, ServingError
from pyserving.lifecycle import ServableState, VersionPolicy
from pyserving.runtimes.base import LoadOptions, Model, Runtime
from pyserving.runtimes.fake import FakeRuntime
from tests.unit.lifecycle.lifecycle_support import (
    Recorder,
    config,
    eventually,
    fake_model,
    running_core,
    served,
    state_of,
)

S = ServableState
pytestmark = pytest.mark.timeout(30)


def test_startup_loads_the_latest_version_and_logs_tf_style(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="pyserving.lifecycle")
    for version in (1, 2):
        fake_model(tmp_path, version)
    recorder = Recorder()
    with running_core([config("m", tmp_path)], recorder=recorder) as core:
        core.wait_until_ready(timeout=10)
        assert core.is_ready()
        with core.acquire("m") as handle:
            assert (handle.name, handle.version) == ("m", 2)
        assert recorder.states("m", 2) == [S.START, S.LOADING, S.AVAILABLE]
        assert recorder.states("m", 1) == []  # latest-1: never aspired
    assert "Successfully loaded servable version {name: m version: 2} (took " in caplog.text


def test_a_broken_model_fails_startup_with_its_error_after_the_retries(tmp_path: Path) -> None:
    fake_model(tmp_path / "bad", 1, fail_load="no such op", fail_code="NOT_FOUND")
    fake_model(tmp_path / "good", 1)
    runtime = FakeRuntime()
    models = [config("good", tmp_path / "good"), config("bad", tmp_path / "bad")]
    with running_core(models, runtime, max_num_load_retries=2) as core:
        with pytest.raises(ServingError) as caught:
            core.wait_until_ready(timeout=10)
        assert (caught.value.code, caught.value.message) == (Code.NOT_FOUND, "no such op")
        assert runtime.load_attempts >= 3  # 1 + 2 retries for "bad"
        [status] = core.model_status("bad")
        assert (status.state, status.error_code, status.error_message) == (
            S.END,
            Code.NOT_FOUND,
            "no such op",
        )


def test_an_unknown_platform_fails_at_once_without_retries(tmp_path: Path) -> None:
    from pyserving.lifecycle import ServerCore

    fake_model(tmp_path, 1)
    core = ServerCore(load_options=LoadOptions(), file_system_poll_wait_seconds=0.1)
    core.start([config("m", tmp_path).__class__("m", str(tmp_path), "no_such_platform")])
    try:
        with pytest.raises(ServingError) as caught:
            core.wait_until_ready(timeout=10)  # default retries: 5 x 60 s if they were applied
        assert caught.value.code is Code.INVALID_ARGUMENT
        assert caught.value.message == "Unsupported platform no_such_platform"
    finally:
        core.shutdown()


class ExplodingRuntime(Runtime):
    platform = "fake"

    def load(self, path: str, options: LoadOptions) -> Model:
        raise RuntimeError("kaput")


def test_a_non_serving_exception_becomes_unknown(tmp_path: Path) -> None:
    fake_model(tmp_path, 1)
    with running_core([config("m", tmp_path)], ExplodingRuntime()) as core:
        with pytest.raises(ServingError) as caught:
            core.wait_until_ready(timeout=10)
        assert (caught.value.code, caught.value.message) == (Code.UNKNOWN, "kaput")


def test_an_empty_base_path_keeps_startup_waiting(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with running_core([config("m", tmp_path)]) as core:
        with pytest.raises(TimeoutError):
            core.wait_until_ready(timeout=0.4)
        assert not core.is_ready()
        assert "No versions of servable m found under base path" in caplog.text
        fake_model(tmp_path, 3)
        core.wait_until_ready(timeout=10)  # picked up by the polls
        assert served(core, "m") == 3


def test_shutdown_releases_a_waiting_wait_until_ready(tmp_path: Path) -> None:
    with running_core([config("m", tmp_path)]) as core:
        errors: list[ServingError] = []

        def wait() -> None:
            try:
                core.wait_until_ready()
            except ServingError as exc:
                errors.append(exc)

        waiter = threading.Thread(target=wait)
        waiter.start()
        core.shutdown()
        waiter.join(timeout=10)
        assert [e.code for e in errors] == [Code.CANCELLED]


def test_models_load_in_parallel_and_a_slow_one_blocks_no_other(tmp_path: Path) -> None:
    fake_model(tmp_path / "slow", 1, load_seconds=1.0)
    for name in ("a", "b"):
        fake_model(tmp_path / name, 1, load_seconds=0.2)
    fake_model(tmp_path / "fast", 1)
    runtime = FakeRuntime()
    models = [config(n, tmp_path / n) for n in ("slow", "a", "b", "fast")]
    with running_core(models, runtime) as core:
        eventually(lambda: state_of(core, "fast", 1) is S.AVAILABLE, what="fast model")
        assert state_of(core, "slow", 1) is S.LOADING
        with core.acquire("fast") as handle:
            assert handle.version == 1
        core.wait_until_ready(timeout=10)
        assert runtime.max_concurrent_loads >= 2


def test_shutdown_unloads_everything_waits_for_handles_and_is_idempotent(tmp_path: Path) -> None:
    fake_model(tmp_path, 1)
    runtime = FakeRuntime()
    recorder = Recorder()
    with running_core([config("m", tmp_path)], runtime, recorder) as core:
        core.wait_until_ready(timeout=10)
        handle = core.acquire("m")
        stopper = threading.Thread(target=core.shutdown)
        try:
            stopper.start()
            eventually(lambda: state_of(core, "m", 1) is S.UNLOADING, what="UNLOADING")
            stopper.join(timeout=0.2)
            assert stopper.is_alive() and runtime.unloads == 0  # held by the handle
        finally:
            handle.release()
        handle.release()  # idempotent
        stopper.join(timeout=10)
        assert not stopper.is_alive()
        assert runtime.unloads == 1
        assert recorder.states("m", 1)[-2:] == [S.UNLOADING, S.END]
        core.shutdown()  # again: no-op
        with pytest.raises(ServingError) as caught:
            core.acquire("m")
        assert caught.value.message == "Servable not found for request: Latest(m)"
    assert [s.state for s in core.model_status("m")] == [S.END]


def test_all_policy_loads_every_version_and_labels_resolve(tmp_path: Path) -> None:
    for version in (1, 2, 3):
        fake_model(tmp_path, version)
    model = config("m", tmp_path, VersionPolicy.all(), labels={"stable": 1, "canary": 3})
    # Labels at startup name versions not loaded yet: allowed only with this flag.
    with running_core([model], allow_version_labels_for_unavailable_models=True) as core:
        core.wait_until_ready(timeout=10)
        eventually(lambda: all(s.state is S.AVAILABLE for s in core.model_status("m")))
        assert [s.version for s in core.model_status("m")] == [3, 2, 1]
        assert served(core, "m", label="stable") == 1
        assert served(core, "m", label="canary") == 3
        assert served(core, "m", version=2) == 2
        assert served(core, "m") == 3
        assert core.model_names() == ["m"]
