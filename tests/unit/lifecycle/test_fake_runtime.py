"""The fake runtime the lifecycle (and later the batcher and REST tests) run on."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest

from pyserving.dtypes import DataType
from pyserving.errors import Code, ServingError
from pyserving.runtimes.base import LoadOptions, Runtime
from pyserving.runtimes.fake import MARKER, FakeRuntime
from pyserving.runtimes.registry import get_runtime
from pyserving.signature import PREDICT_ONLY
from tests.unit.lifecycle.lifecycle_support import fake_model

X = np.array([[1.0], [2.0], [5.0]], dtype=np.float32)


def test_registered_as_the_fake_platform() -> None:
    runtime: Runtime = get_runtime("fake")
    assert isinstance(runtime, FakeRuntime) and runtime.platform == "fake"


def test_loads_and_runs_y_equals_scale_x_plus_offset(tmp_path: Path) -> None:
    runtime = FakeRuntime()
    model = runtime.load(os.fspath(fake_model(tmp_path, 1)), LoadOptions())  # half_plus_two
    [signature] = model.signatures.values()
    assert (signature.key, signature.calls) == ("serving_default", PREDICT_ONLY)
    assert signature.inputs["x"].name == "x:0" and signature.outputs["y"].name == "y:0"
    assert signature.inputs["x"].dtype is DataType.DT_FLOAT
    assert signature.inputs["x"].shape == (-1, 1)
    [y] = model.run({"x:0": X}, ["y:0"])
    assert y.dtype == np.float32 and y.tolist() == [[2.5], [3.0], [4.5]]
    other = runtime.load(os.fspath(fake_model(tmp_path, 2, scale=2.0, offset=0.0)), LoadOptions())
    assert other.run({"x:0": X}, ["y:0", "x:0"])[0].tolist() == [[2.0], [4.0], [10.0]]
    assert (runtime.loads, runtime.runs) == (2, 2)


@pytest.mark.parametrize(
    ("feeds", "fetches", "message"),
    [
        ({}, ["y:0"], "You must feed a value for placeholder tensor 'x' with dtype float"),
        ({"z:0": X}, ["y:0"], "Tensor z:0, specified in feeds, not in the graph"),
        ({"x:0": X}, ["w:0"], "Tensor w:0, specified in fetches, not in the graph"),
        ({"x:0": X.astype(np.int32)}, ["y:0"], "Expects arg[0] to be float but int32 is provided"),
    ],
)
def test_run_errors(
    tmp_path: Path, feeds: dict[str, np.ndarray], fetches: list[str], message: str
) -> None:
    model = FakeRuntime().load(os.fspath(fake_model(tmp_path, 1)), LoadOptions())
    with pytest.raises(ServingError) as caught:
        model.run(feeds, fetches)
    assert (caught.value.code, caught.value.message) == (Code.INVALID_ARGUMENT, message)


def test_run_honours_timeout_and_counts_in_flight_runs(tmp_path: Path) -> None:
    runtime = FakeRuntime()
    model = runtime.load(os.fspath(fake_model(tmp_path, 1, run_seconds=0.2)), LoadOptions())
    with pytest.raises(ServingError) as caught:
        model.run({"x:0": X}, ["y:0"], timeout_ms=10)
    assert caught.value.code is Code.DEADLINE_EXCEEDED
    threads = [threading.Thread(target=model.run, args=({"x:0": X}, ["y:0"])) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert runtime.in_flight == 0 and runtime.max_in_flight >= 2


def test_load_failures(tmp_path: Path) -> None:
    runtime = FakeRuntime()
    failing = fake_model(tmp_path, 1, fail_load="boom", fail_code="DATA_LOSS")
    with pytest.raises(ServingError) as caught:
        runtime.load(os.fspath(failing), LoadOptions())
    assert (caught.value.code, caught.value.message) == (Code.DATA_LOSS, "boom")
    (tmp_path / "2").mkdir()
    assert not runtime.is_version_complete(os.fspath(tmp_path / "2"))
    with pytest.raises(ServingError) as caught:
        runtime.load(os.fspath(tmp_path / "2"), LoadOptions())
    assert caught.value.code is Code.NOT_FOUND
    (tmp_path / "2" / MARKER).write_text('{"bogus": 1}')
    with pytest.raises(ServingError) as caught:
        runtime.load(os.fspath(tmp_path / "2"), LoadOptions())
    assert caught.value.code is Code.INVALID_ARGUMENT
    assert (runtime.load_attempts, runtime.loads) == (3, 0)


def test_unload_is_counted_and_later_runs_fail(tmp_path: Path) -> None:
    runtime = FakeRuntime()
    path = os.fspath(fake_model(tmp_path, 1))
    model = runtime.load(path, LoadOptions())
    model.unload()
    assert runtime.unloads == 1 and runtime.events == [("load", path), ("unload", path)]
    with pytest.raises(ServingError) as caught:
        model.run({"x:0": X}, ["y:0"])
    assert caught.value.code is Code.FAILED_PRECONDITION
