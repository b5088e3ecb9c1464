"""The ``onnx`` runtime and the ``auto`` platform, on real onnxruntime (no TensorFlow)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from pyserving.codec.proto_views import signature_def_map
from pyserving.dtypes import DataType
from pyserving.errors import Code, ServingError
from pyserving.runtimes.base import LoadOptions
from pyserving.runtimes.detect import DetectingRuntime, platform_of
from pyserving.runtimes.onnx.options import OnnxLoadOptions, default_intra_op_threads
from pyserving.runtimes.onnx.runtime import OnnxRuntime, _session_options
from pyserving.runtimes.registry import get_runtime
from pyserving.service.method_names import PREDICT_METHOD
from pyserving.signature import PREDICT_ONLY, TensorSpec
from tests import onnx_models

F32 = np.float32


def _error(call: Callable[[], Any]) -> ServingError:
    with pytest.raises(ServingError) as caught:
        call()
    return caught.value


@pytest.fixture
def runtime() -> OnnxRuntime:
    return OnnxRuntime()


def _load(runtime: OnnxRuntime, tmp_path: Path, model: Any, **kwargs: Any) -> Any:
    path = onnx_models.write_version(tmp_path / "m", 1, model, **kwargs)
    return runtime.load(str(path), LoadOptions())


def test_registry_knows_onnx() -> None:
    assert isinstance(get_runtime("onnx"), OnnxRuntime)


def test_signature_is_built_from_the_graph(runtime: OnnxRuntime, tmp_path: Path) -> None:
    model = _load(runtime, tmp_path, onnx_models.linear())
    (signature,) = model.signatures.values()
    assert signature.key == "serving_default"
    assert signature.calls == PREDICT_ONLY
    assert model.native_signatures is None
    assert dict(signature.inputs) == {"x": TensorSpec("x", DataType.DT_FLOAT, (-1, 3))}
    assert dict(signature.outputs) == {"y": TensorSpec("y", DataType.DT_FLOAT, (-1, 2))}
    # The TF Serving adapters describe it as a SignatureDef.
    sig_def = signature_def_map(model.signatures).signature_def["serving_default"]
    assert sig_def.method_name == PREDICT_METHOD
    assert sig_def.inputs["x"].name == "x"
    assert int(sig_def.inputs["x"].dtype) == int(DataType.DT_FLOAT)
    assert [d.size for d in sig_def.inputs["x"].tensor_shape.dim] == [-1, 3]


@pytest.mark.parametrize("rows", [1, 5])
def test_matmul_add_with_a_dynamic_batch(runtime: OnnxRuntime, tmp_path: Path, rows: int) -> None:
    model = _load(runtime, tmp_path, onnx_models.linear())
    x = np.arange(rows * 3, dtype=F32).reshape(rows, 3)
    (y,) = model.run({"x": x}, ["y"])
    np.testing.assert_allclose(y, x @ onnx_models.LINEAR_W + onnx_models.LINEAR_B, rtol=1e-6)
    (y,) = model.run_on_calling_thread({"x": x}, ["y"])
    assert y.shape == (rows, 2)


def test_two_outputs_in_the_order_asked(runtime: OnnxRuntime, tmp_path: Path) -> None:
    model = _load(runtime, tmp_path, onnx_models.two_outputs())
    x = np.array([1.0, 4.0], F32)
    twice, plus = model.run({"x": x}, ["times_two", "plus_one"])
    assert twice.tolist() == [2.0, 8.0]
    assert plus.tolist() == [2.0, 5.0]


def test_strings_are_bytes_both_ways(runtime: OnnxRuntime, tmp_path: Path) -> None:
    model = _load(runtime, tmp_path, onnx_models.strings())
    text = np.array([b"abc", "h\u00e9".encode()], dtype=object)
    echo, upper = model.run({"text": text}, ["echo", "upper"])
    assert echo.tolist() == [b"abc", "h\u00e9".encode()]
    assert upper.tolist() == [b"ABC", "H\u00e9".encode()]
    error = _error(lambda: model.run({"text": np.array([b"\xff"], dtype=object)}, ["echo"]))
    assert error.code is Code.INVALID_ARGUMENT
    assert "UTF-8" in error.message


def test_every_numeric_type_round_trips(runtime: OnnxRuntime, tmp_path: Path) -> None:
    model = _load(runtime, tmp_path, onnx_models.numeric_echo())
    feeds = {
        f"in_{np.dtype(t).name}": np.array([1, 0, 1], dtype=t) for _, t in onnx_models.NUMERIC_TYPES
    }
    fetches = [name.replace("in_", "out_") for name in feeds]
    outputs = model.run(feeds, fetches)
    for (name, sent), got in zip(feeds.items(), outputs, strict=True):
        assert got.dtype == sent.dtype, name
        assert got.tolist() == sent.tolist(), name
    specs = model.signatures["serving_default"].inputs
    assert specs["in_float16"].dtype is DataType.DT_HALF
    assert specs["in_uint64"].dtype is DataType.DT_UINT64


def test_external_data_is_loaded(runtime: OnnxRuntime, tmp_path: Path) -> None:
    model = _load(runtime, tmp_path, onnx_models.linear(), external_data=True)
    assert (tmp_path / "m" / "1" / "weights.bin").is_file()
    (y,) = model.run({"x": np.ones((1, 3), F32)}, ["y"])
    np.testing.assert_allclose(y[0], onnx_models.LINEAR_W.sum(0) + onnx_models.LINEAR_B)


def test_bad_requests_are_invalid_argument(runtime: OnnxRuntime, tmp_path: Path) -> None:
    model = _load(runtime, tmp_path, onnx_models.linear())
    wrong_type = _error(lambda: model.run({"x": np.ones((1, 3), np.float64)}, ["y"]))
    assert wrong_type.code is Code.INVALID_ARGUMENT
    assert "tensor(double)" in wrong_type.message
    wrong_shape = _error(lambda: model.run({"x": np.ones((1, 4), F32)}, ["y"]))
    assert wrong_shape.code is Code.INVALID_ARGUMENT
    assert "dimensions" in wrong_shape.message
    missing = _error(lambda: model.run({}, ["y"]))
    assert missing.code is Code.INVALID_ARGUMENT
    unknown = _error(lambda: model.run({"x": np.ones((1, 3), F32)}, ["nope"]))
    assert unknown.code is Code.INVALID_ARGUMENT


def test_unsupported_input_types_fail_the_load(runtime: OnnxRuntime, tmp_path: Path) -> None:
    error = _error(lambda: _load(runtime, tmp_path, onnx_models.bfloat16_input()))
    assert error.code is Code.INVALID_ARGUMENT
    assert "input x of type tensor(bfloat16)" in error.message


def test_corrupt_and_missing_models(runtime: OnnxRuntime, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt" / "1"
    corrupt.mkdir(parents=True)
    (corrupt / "model.onnx").write_bytes(b"not a protobuf at all" * 3)
    error = _error(lambda: runtime.load(str(corrupt), LoadOptions()))
    assert error.code is Code.DATA_LOSS
    assert str(corrupt) in error.message
    truncated = tmp_path / "truncated" / "1"
    truncated.mkdir(parents=True)
    (truncated / "model.onnx").write_bytes(onnx_models.linear().SerializeToString()[:60])
    assert _error(lambda: runtime.load(str(truncated), LoadOptions())).code is Code.DATA_LOSS
    empty = tmp_path / "empty"
    empty.mkdir()
    assert not runtime.is_version_complete(str(empty))
    error = _error(lambda: runtime.load(str(empty), LoadOptions()))
    assert error.code is Code.NOT_FOUND
    assert "model.onnx" in error.message


def test_deadline_stops_a_long_run(runtime: OnnxRuntime, tmp_path: Path) -> None:
    model = _load(runtime, tmp_path, onnx_models.slow())
    (y,) = model.run({"n": np.array(2, np.int64)}, ["y"], timeout_ms=60_000)
    assert float(y) == 256 * 256
    started = time.monotonic()
    error = _error(lambda: model.run({"n": np.array(10**9, np.int64)}, ["y"], timeout_ms=50))
    assert error.code is Code.DEADLINE_EXCEEDED
    assert time.monotonic() - started < 60  # stopped, not run to the end (hours)


def test_unloaded_model_refuses_runs(runtime: OnnxRuntime, tmp_path: Path) -> None:
    model = _load(runtime, tmp_path, onnx_models.half_plus_two())
    model.unload()
    error = _error(lambda: model.run({"x": np.ones(1, F32)}, ["y"]))
    assert error.code is Code.FAILED_PRECONDITION


def test_session_options(runtime: OnnxRuntime, tmp_path: Path) -> None:
    path = onnx_models.write_version(tmp_path / "m", 1, onnx_models.linear())
    settings = OnnxLoadOptions(
        intra_op_threads=1, inter_op_threads=2, graph_optimization_level="disable"
    )
    model = runtime.load(str(path), LoadOptions.of("onnx", settings))
    (y,) = model.run({"x": np.ones((2, 3), F32)}, ["y"])
    assert y.shape == (2, 2)
    with pytest.raises(ServingError, match="graph optimization level"):
        OnnxLoadOptions(graph_optimization_level="max")


def test_intra_op_threads_leave_the_event_loop_a_core() -> None:
    cores = len(os.sched_getaffinity(0))
    assert default_intra_op_threads() == max(1, cores - 1)
    assert _session_options(OnnxLoadOptions()).intra_op_num_threads == max(1, cores - 1)
    assert _session_options(OnnxLoadOptions(intra_op_threads=3)).intra_op_num_threads == 3


def test_auto_platform_detects_per_version(tmp_path: Path) -> None:
    onnx_dir = onnx_models.write_version(tmp_path / "m", 1, onnx_models.half_plus_two())
    both = tmp_path / "m" / "2"
    both.mkdir()
    (both / "saved_model.pb").write_bytes(b"")
    (both / "model.onnx").write_bytes(b"")
    empty = tmp_path / "m" / "3"
    empty.mkdir()
    assert platform_of(str(onnx_dir)) == "onnx"
    assert platform_of(str(both)) == "tensorflow"  # TF Serving's platform wins when unspecified
    assert platform_of(str(empty)) is None
    auto = DetectingRuntime()
    assert not auto.is_version_complete(str(empty))
    assert auto.is_version_complete(str(onnx_dir))
    model = auto.load(str(onnx_dir), LoadOptions())
    (y,) = model.run({"x": np.array([1.0, 2.0], F32)}, ["y"])
    assert y.tolist() == [2.5, 3.0]
    error = _error(lambda: auto.load(str(empty), LoadOptions()))
    assert error.code is Code.NOT_FOUND
    assert "saved_model.pb" in error.message and "model.onnx" in error.message
