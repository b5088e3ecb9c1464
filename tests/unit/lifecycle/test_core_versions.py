"""ServerCore with versions coming and going: swaps, in-flight handles, failures, reloads."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from pyserving.errors import Code, ServingError
from pyserving.lifecycle import ServableState, ServerCore, VersionPolicy
from pyserving.runtimes.fake import FakeRuntime
from tests.unit.lifecycle.lifecycle_support import (
    POLL,
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


def test_a_new_version_replaces_the_old_one_only_once_available(tmp_path: Path) -> None:
    fake_model(tmp_path, 1)
    runtime = FakeRuntime()
    recorder = Recorder()
    with running_core([config("m", tmp_path)], runtime, recorder) as core:
        core.wait_until_ready(timeout=10)
        fake_model(tmp_path, 2, load_seconds=0.3)
        # (Two looks, i.e. two poll periods, are needed: see test_fs_source for the exact count.)
        eventually(lambda: state_of(core, "m", 2) is S.LOADING, what="v2 LOADING")
        assert served(core, "m") == 1  # the old version serves during the load
        eventually(lambda: state_of(core, "m", 1) is S.END, what="v1 END")
        assert recorder.index("m", 2, S.AVAILABLE) < recorder.index("m", 1, S.UNLOADING)
        assert runtime.events == [
            ("load", str(tmp_path / "1")),
            ("load", str(tmp_path / "2")),
            ("unload", str(tmp_path / "1")),
        ]
        assert recorder.states("m", 1) == [S.START, S.LOADING, S.AVAILABLE, S.UNLOADING, S.END]
        assert served(core, "m") == 2


def test_requests_never_fail_across_a_swap(tmp_path: Path) -> None:
    fake_model(tmp_path, 1)
    with running_core([config("m", tmp_path)]) as core:
        core.wait_until_ready(timeout=10)
        stop = threading.Event()
        failures: list[BaseException] = []
        seen: set[int] = set()

        def hammer() -> None:
            x = np.array([[1.0]], dtype=np.float32)
            while not stop.is_set():
                try:
                    with core.acquire("m") as handle:
                        handle.model.run({"x:0": x}, ["y:0"])
                        seen.add(handle.version)
                except BaseException as exc:
                    failures.append(exc)
                    return

        threads = [threading.Thread(target=hammer) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            fake_model(tmp_path, 2)
            eventually(lambda: state_of(core, "m", 1) is S.END, what="v1 END")
            fake_model(tmp_path, 3)
            eventually(lambda: state_of(core, "m", 2) is S.END, what="v2 END")
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=10)
        assert failures == []
        assert {1, 3} <= seen


def test_an_in_flight_handle_delays_the_unload(tmp_path: Path) -> None:
    fake_model(tmp_path, 1)
    runtime = FakeRuntime()
    with running_core([config("m", tmp_path)], runtime) as core:
        core.wait_until_ready(timeout=10)
        handle = core.acquire("m")
        try:
            fake_model(tmp_path, 2)
            # UNLOADING is published first, then the version stops being acquirable ...
            eventually(lambda: state_of(core, "m", 1) is S.UNLOADING, what="v1 UNLOADING")
            eventually(lambda: not acquirable(core, "m", 1), what="v1 not acquirable")
            with pytest.raises(ServingError) as caught:
                core.acquire("m", version=1)
            assert caught.value.message == "Servable not found for request: Specific(m, 1)"
            assert served(core, "m") == 2
            time.sleep(3 * POLL)
            assert state_of(core, "m", 1) is S.UNLOADING  # ... but is not unloaded under a request
            assert runtime.unloads == 0
            x = np.array([[4.0]], dtype=np.float32)
            assert handle.model.run({"x:0": x}, ["y:0"])[0].tolist() == [[4.0]]
        finally:
            handle.release()
        eventually(lambda: state_of(core, "m", 1) is S.END, what="v1 END")
        assert runtime.unloads == 1


def acquirable(core: ServerCore, name: str, version: int) -> bool:
    try:
        core.acquire(name, version).release()
    except ServingError:
        return False
    return True


def test_a_failing_version_ends_with_its_error_while_the_old_one_keeps_serving(
    tmp_path: Path,
) -> None:
    fake_model(tmp_path, 1)
    runtime = FakeRuntime()
    model = config("m", tmp_path)
    with running_core(
        [model], runtime, max_num_load_retries=2, load_retry_interval_micros=10_000
    ) as core:
        core.wait_until_ready(timeout=10)
        fake_model(tmp_path, 2, fail_load="Op type not registered 'Foo'", fail_code="NOT_FOUND")
        eventually(lambda: state_of(core, "m", 2) is S.END, what="v2 END")
        assert runtime.load_attempts == 1 + 3  # v1 once, v2 1 + 2 retries
        time.sleep(3 * POLL)
        assert runtime.load_attempts == 4  # not retried while still aspired
        assert served(core, "m") == 1
        assert core.is_ready()
        statuses = core.model_status("m")
        assert [(s.version, s.state, s.error_code, s.error_message) for s in statuses] == [
            (2, S.END, Code.NOT_FOUND, "Op type not registered 'Foo'"),
            (1, S.AVAILABLE, Code.OK, ""),
        ]
        fake_model(tmp_path, 3)  # a new version number is the way out
        eventually(lambda: state_of(core, "m", 1) is S.END, what="v1 END")
        assert served(core, "m") == 3
        assert [s.version for s in core.model_status("m")] == [3, 2, 1]


def test_a_half_written_version_is_never_loaded(tmp_path: Path) -> None:
    fake_model(tmp_path, 1)
    runtime = FakeRuntime()
    with running_core([config("m", tmp_path)], runtime) as core:
        core.wait_until_ready(timeout=10)
        (tmp_path / "2" / "variables").mkdir(parents=True)  # no marker yet
        for size in range(1, 6):  # and a file still growing
            (tmp_path / "2" / "variables" / "data").write_bytes(b"x" * size)
            time.sleep(POLL)
        assert runtime.load_attempts == 1
        assert state_of(core, "m", 2) is None
        fake_model(tmp_path, 2)
        eventually(lambda: served(core, "m") == 2, what="v2 served")


def test_deleting_version_dirs_unloads_them(tmp_path: Path) -> None:
    for version in (1, 2):
        fake_model(tmp_path, version)
    with running_core([config("m", tmp_path, VersionPolicy.all())]) as core:
        core.wait_until_ready(timeout=10)
        eventually(lambda: [s.state for s in core.model_status("m")] == [S.AVAILABLE] * 2)
        shutil.rmtree(tmp_path / "2")
        eventually(lambda: state_of(core, "m", 2) is S.END, what="v2 END")
        assert served(core, "m") == 1
        shutil.rmtree(tmp_path / "1")
        eventually(lambda: state_of(core, "m", 1) is S.END, what="v1 END")
        with pytest.raises(ServingError) as caught:
            core.acquire("m")
        assert caught.value.message == "Servable not found for request: Latest(m)"
        assert [s.state for s in core.model_status("m")] == [S.END, S.END]  # END is kept


def test_reload_config_adds_and_removes_models(tmp_path: Path) -> None:
    fake_model(tmp_path / "a", 1)
    fake_model(tmp_path / "b", 1)
    # A label on a model being added names a version not loaded yet: allowed with the flag.
    with running_core(
        [config("a", tmp_path / "a")], allow_version_labels_for_unavailable_models=True
    ) as core:
        core.wait_until_ready(timeout=10)
        core.reload_config([config("b", tmp_path / "b", labels={"stable": 1})])
        assert core.model_names() == ["b"]
        core.wait_until_ready(timeout=10)
        assert served(core, "b", label="stable") == 1
        eventually(lambda: state_of(core, "a", 1) is S.END, what="a END")
        with pytest.raises(ServingError) as caught:
            core.acquire("a")
        assert caught.value.message == "Servable not found for request: Latest(a)"
        with pytest.raises(ServingError):
            core.reload_config([config("b", tmp_path / "b"), config("b", tmp_path / "a")])
