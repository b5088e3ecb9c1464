"""The TensorFlow runtime against TF Serving's own test models (real TensorFlow, read-only models).

Models that need something the shared ones lack (strings in and out, a slow graph, a sparse
signature) are built once per module as a tiny TF1 SavedModel in a temporary directory.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest

tf: Any = pytest.importorskip("tensorflow")

from google.protobuf import json_format, text_format  # noqa: E402
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2  # noqa: E402

from pyserving.dtypes import DataType  # noqa: E402
from pyserving.errors import Code, ServingError  # noqa: E402
from pyserving.runtimes.base import LoadOptions, Model, Runtime  # noqa: E402
from pyserving.runtimes.registry import get_runtime  # noqa: E402
from pyserving.runtimes.tensorflow import (  # noqa: E402
    NOT_RUNNABLE,
    InlineRuns,
    TensorFlowModel,
    TensorFlowRuntime,
)
from pyserving.runtimes.tensorflow.options import TensorFlowLoadOptions  # noqa: E402
from pyserving.runtimes.tensorflow.platform import TensorFlowPlatform  # noqa: E402
from pyserving.runtimes.tensorflow.session_config import session_config, thread_pools  # noqa: E402
from pyserving.runtimes.tensorflow.signatures import data_type  # noqa: E402
from pyserving.service.method_names import PREDICT_METHOD  # noqa: E402
from pyserving.signature import PREDICT_ONLY, CallKind  # noqa: E402

F32 = np.float32
DEFAULT = LoadOptions()


def _tf_options(**fields: Any) -> LoadOptions:
    return LoadOptions.of("tensorflow", TensorFlowLoadOptions(**fields))


def _version(shared_models: Path, model: str, version: str = "00000123") -> str:
    return str(shared_models / model / version)


def _example(**features: float) -> bytes:
    feature = {
        name: tf.train.Feature(float_list=tf.train.FloatList(value=[value]))
        for name, value in features.items()
    }
    return bytes(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())


def _examples(*examples: bytes) -> np.ndarray:
    return np.array(list(examples), dtype=object)


def _error(call: Callable[[], object]) -> ServingError:
    with pytest.raises(ServingError) as info:
        call()
    return info.value


@pytest.fixture(scope="module")
def runtime() -> TensorFlowRuntime:
    return TensorFlowRuntime()


@pytest.fixture(scope="module")
def half_plus_two(runtime: TensorFlowRuntime, shared_models: Path) -> Iterator[TensorFlowModel]:
    model = runtime.load(_version(shared_models, "saved_model_half_plus_two_cpu"), DEFAULT)
    yield model
    model.unload()


@pytest.fixture(scope="module")
def tf2(runtime: TensorFlowRuntime, shared_models: Path) -> Iterator[TensorFlowModel]:
    model = runtime.load(_version(shared_models, "saved_model_half_plus_two_tf2_cpu"), DEFAULT)
    yield model
    model.unload()


@pytest.fixture(scope="module")
def toy_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A TF1 SavedModel: ``echo`` (string identity), ``spin`` (a while loop of n steps), ``sparse``
    (a sparse input), ``twice`` (the same tensor under two output aliases)."""
    export_dir = str(tmp_path_factory.mktemp("toy") / "1")
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        text = v1.placeholder(tf.string, shape=None, name="text")
        echo = tf.identity(text, name="echo")
        steps = v1.placeholder(tf.int64, shape=[], name="steps")
        (spun,) = tf.while_loop(lambda i: i < steps, lambda i: i + 1, [tf.constant(0, tf.int64)])
        count = tf.identity(spun, name="count")
        sparse = v1.sparse_placeholder(tf.float32, shape=[None, 4], name="sparse")
        total = tf.identity(tf.sparse.reduce_sum(sparse), name="total")
        info = v1.saved_model.utils.build_tensor_info
        signature = v1.saved_model.signature_def_utils.build_signature_def
        signatures = {
            "echo": signature({"text": info(text)}, {"echo": info(echo)}, PREDICT_METHOD),
            "spin": signature({"steps": info(steps)}, {"count": info(count)}, PREDICT_METHOD),
            "sparse": signature({"sparse": info(sparse)}, {"total": info(total)}, PREDICT_METHOD),
            "twice": signature(
                {"text": info(text)}, {"a": info(echo), "b": info(echo)}, PREDICT_METHOD
            ),
        }
        with v1.Session(graph=graph) as session:
            builder = v1.saved_model.Builder(export_dir)
            builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map=signatures)
            builder.save()
    return export_dir


@pytest.fixture(scope="module")
def toy(runtime: TensorFlowRuntime, toy_dir: str) -> Iterator[TensorFlowModel]:
    model = runtime.load(toy_dir, DEFAULT)
    yield model
    model.unload()


# --- loading and signatures ---------------------------------------------------------------------


def test_runtime_and_model_satisfy_the_interfaces(half_plus_two: TensorFlowModel) -> None:
    runtime: Runtime = TensorFlowRuntime()
    model: Model = half_plus_two
    assert runtime.platform == "tensorflow"
    assert model.signatures is half_plus_two.signatures


def test_registry_returns_the_tensorflow_runtime() -> None:
    platform = get_runtime("tensorflow")
    assert isinstance(platform, TensorFlowPlatform)
    assert isinstance(platform.saved_model_runtime(), TensorFlowRuntime)


def test_half_plus_two_signatures(half_plus_two: TensorFlowModel) -> None:
    sigs = half_plus_two.signatures
    assert list(sigs) == [
        "classify_x_to_y",
        "regress_x2_to_y3",
        "regress_x_to_y",
        "regress_x_to_y2",
        "serving_default",
    ]
    default = sigs["serving_default"]
    assert default.calls == PREDICT_ONLY
    assert default.inputs["x"].name == "x:0"
    assert default.inputs["x"].dtype is DataType.DT_FLOAT
    assert default.inputs["x"].shape == (-1, 1)
    assert default.outputs["y"].name == "y:0"
    assert default.defaults == {}
    classify = sigs["classify_x_to_y"]
    assert classify.calls == {CallKind.PREDICT, CallKind.CLASSIFY}
    assert sigs["regress_x_to_y"].calls == {CallKind.PREDICT, CallKind.REGRESS}
    assert classify.inputs["inputs"].dtype is DataType.DT_STRING
    assert classify.inputs["inputs"].shape is None  # unknown rank
    assert classify.outputs["scores"].name == "y:0"
    assert sigs["regress_x_to_y2"].outputs["outputs"].name == "y2:0"
    assert sigs["regress_x2_to_y3"].inputs["inputs"].name == "x2:0"
    assert sigs["regress_x2_to_y3"].inputs["inputs"].dtype is DataType.DT_FLOAT


@pytest.mark.parametrize(
    ("model", "metadata", "version"),
    [
        ("saved_model_half_plus_two_cpu", "half_plus_two_model_metadata.json", "00000123"),
        (
            "saved_model_half_plus_two_2_versions",
            "saved_model_half_plus_two_2_versions_metadata.json",
            "00000124",
        ),
    ],
)
def test_signature_protos_match_tf_serving_metadata(
    runtime: TensorFlowRuntime, shared_models: Path, model: str, metadata: str, version: str
) -> None:
    loaded = runtime.load(_version(shared_models, model, version), DEFAULT)
    try:
        ours = {
            key: json_format.MessageToDict(
                meta_graph_pb2.SignatureDef.FromString(serialized),
                preserving_proto_field_name=True,
                always_print_fields_with_no_presence=True,
            )
            for key, serialized in loaded.native_signatures.by_key.items()
        }
    finally:
        loaded.unload()
    expected = json.loads((shared_models / metadata).read_text())
    assert ours == expected["metadata"]["signature_def"]["signature_def"]


def test_tf2_signatures(tf2: TensorFlowModel) -> None:
    sigs = tf2.signatures
    assert set(sigs) == {
        "__saved_model_init_op",
        "classify_x2_to_y3",
        "classify_x_to_y",
        "regress_x2_to_y3",
        "regress_x_to_y",
        "regress_x_to_y2",
        "serving_default",
    }
    assert {sig.calls for key, sig in sigs.items() if key != "__saved_model_init_op"} == {
        PREDICT_ONLY
    }
    assert sigs["__saved_model_init_op"].calls == frozenset()  # method_name is empty
    default = sigs["serving_default"]
    assert default.inputs["x"].shape == (1,)
    assert default.inputs["x"].dtype is DataType.DT_FLOAT
    assert set(default.defaults) == {"x"}
    np.testing.assert_array_equal(default.defaults["x"], np.array([0.0], F32))
    assert default.defaults["x"].dtype == F32
    assert sigs["classify_x_to_y"].inputs["inputs"].dtype is DataType.DT_STRING
    assert sigs["classify_x_to_y"].inputs["inputs"].shape == (-1,)
    assert sigs["classify_x_to_y"].outputs["scores"].shape == (-1, 1)
    init = sigs["__saved_model_init_op"].outputs["__saved_model_init_op"]
    assert (init.name, init.dtype, init.shape) == ("NoOp", DataType.DT_INVALID, None)


def test_signature_proto_is_the_saved_signature_def(tf2: TensorFlowModel) -> None:
    native = tf2.native_signatures
    assert native.format == meta_graph_pb2.SignatureDef.DESCRIPTOR.full_name
    assert list(native.by_key) == list(tf2.signatures)
    parsed = meta_graph_pb2.SignatureDef.FromString(native.by_key["serving_default"])
    assert parsed.inputs["x"].name == "serving_default_x:0"
    assert "x" in parsed.defaults


def test_half_plus_three_mlmd_matrix_and_counter_signatures(
    runtime: TensorFlowRuntime, shared_models: Path
) -> None:
    cases = {
        "saved_model_half_plus_three": ("serving_default", "x", ()),  # rank 0 in the TensorInfo
        "saved_model_half_plus_two_mlmd": ("serving_default", "x", None),
        "batching/matrix_half_plus_two": ("serving_default", "x", (-1, 3, 3)),
        "saved_model_counter": ("incr_counter_by", "delta", None),
    }
    for name, (key, alias, shape) in cases.items():
        version = "1" if name.startswith("batching/") else "00000123"
        model = runtime.load(_version(shared_models, name, version), DEFAULT)
        try:
            assert model.signatures[key].inputs[alias].shape == shape, name
        finally:
            model.unload()


def test_counter_outputs_have_the_base_type_of_the_variable(
    runtime: TensorFlowRuntime, shared_models: Path
) -> None:
    # The TensorInfo says DT_FLOAT_REF (101); the tensor fetched is a plain float.
    model = runtime.load(_version(shared_models, "saved_model_counter"), DEFAULT)
    try:
        output = model.signatures["get_counter"].outputs["output"]
        assert (output.name, output.dtype, output.shape) == ("counter:0", DataType.DT_FLOAT, ())
        assert set(model.signatures) == {
            "get_counter",
            "incr_counter",
            "incr_counter_by",
            "reset_counter",
        }
    finally:
        model.unload()


def test_data_type_numbers() -> None:
    assert data_type(1) is DataType.DT_FLOAT
    assert data_type(107) is DataType.DT_STRING  # DT_STRING_REF
    assert data_type(0) is DataType.DT_INVALID
    assert data_type(29) is DataType.DT_INVALID  # DT_INT4: unknown to pyserving


def test_sparse_inputs_are_listed_but_not_runnable(toy: TensorFlowModel) -> None:
    spec = toy.signatures["sparse"].inputs["sparse"]
    assert spec.name == NOT_RUNNABLE
    assert spec.dtype is DataType.DT_FLOAT
    assert spec.shape == (-1, 4)
    proto = meta_graph_pb2.SignatureDef.FromString(toy.native_signatures.by_key["sparse"])
    assert proto.inputs["sparse"].WhichOneof("encoding") == "coo_sparse"
    error = _error(lambda: toy.run({spec.name: np.zeros((1,), F32)}, ["total:0"]))
    assert error.code is Code.UNIMPLEMENTED
    assert "sparse or composite" in error.message


# --- running ------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=list(InlineRuns), ids=lambda mode: mode.value)
def any_mode_runtime(request: pytest.FixtureRequest) -> TensorFlowRuntime:
    mode: InlineRuns = request.param
    return TensorFlowRuntime(inline_runs=mode)


def test_predict_ignores_signature_shapes(
    any_mode_runtime: TensorFlowRuntime, shared_models: Path
) -> None:
    model = any_mode_runtime.load(_version(shared_models, "saved_model_half_plus_two_cpu"), DEFAULT)
    try:
        assert model.inline_runs is any_mode_runtime.inline_runs
        (y,) = model.run({"x:0": np.array([[2.0]], F32)}, ["y:0"])
        assert type(y) is np.ndarray
        np.testing.assert_array_equal(y, np.array([[3.0]], F32))
        # Shape [3] fed to the [-1, 1] signature, and a scalar: TF Serving runs both.
        (y,) = model.run({"x:0": np.array([2.0, 3.0, 4.0], F32)}, ["y:0"], timeout_ms=30_000)
        np.testing.assert_array_equal(y, np.array([3.0, 3.5, 4.0], F32))
        (y,) = model.run({"x:0": np.array(2.0, F32)}, ["y:0"])
        assert type(y) is np.ndarray
        assert y.shape == ()
        assert y.dtype == F32
        assert float(y) == 3.0
    finally:
        model.unload()


def test_tf2_predict(any_mode_runtime: TensorFlowRuntime, shared_models: Path) -> None:
    path = _version(shared_models, "saved_model_half_plus_two_tf2_cpu")
    model = any_mode_runtime.load(path, DEFAULT)
    try:
        sig = model.signatures["serving_default"]
        x, y = sig.inputs["x"].name, sig.outputs["y"].name
        (out,) = model.run({x: np.array([2.0, 3.0, 4.0], F32)}, [y])
        np.testing.assert_array_equal(out, np.array([3.0, 3.5, 4.0], F32))
        (out,) = model.run({x: sig.defaults["x"]}, [y], timeout_ms=1000)
        np.testing.assert_array_equal(out, np.array([2.0], F32))
    finally:
        model.unload()


def test_counter_state(any_mode_runtime: TensorFlowRuntime, shared_models: Path) -> None:
    model = any_mode_runtime.load(_version(shared_models, "saved_model_counter"), DEFAULT)
    try:
        outputs = {key: sig.outputs["output"].name for key, sig in model.signatures.items()}

        def call(key: str, feeds: dict[str, np.ndarray] | None = None) -> float:
            (value,) = model.run(feeds or {}, [outputs[key]])
            assert type(value) is np.ndarray
            assert value.shape == ()
            return float(value)

        assert call("get_counter") == 0.0
        assert call("incr_counter") == 1.0
        assert call("incr_counter") == 2.0
        assert call("get_counter") == 2.0
        assert call("incr_counter_by", {"delta:0": np.array(5.0, F32)}) == 7.0
        assert call("reset_counter") == 0.0
        assert call("get_counter") == 0.0
    finally:
        model.unload()


def test_tf1_classify_and_regress_with_examples(half_plus_two: TensorFlowModel) -> None:
    sigs = half_plus_two.signatures
    examples = _examples(_example(x=2.0), _example(x=4.0, x2=1.0))
    feed = sigs["regress_x_to_y"].inputs["inputs"].name
    fetches = [
        sigs["regress_x_to_y"].outputs["outputs"].name,
        sigs["regress_x_to_y2"].outputs["outputs"].name,
        sigs["classify_x_to_y"].outputs["scores"].name,
    ]
    y, y2, scores = half_plus_two.run({feed: examples}, fetches)
    np.testing.assert_array_equal(y, np.array([[3.0], [4.0]], F32))
    np.testing.assert_array_equal(y2, np.array([[4.0], [5.0]], F32))
    np.testing.assert_array_equal(scores, y)
    regress_x2 = sigs["regress_x2_to_y3"]
    (y3,) = half_plus_two.run(
        {regress_x2.inputs["inputs"].name: np.array([[2.0]], F32)},
        [regress_x2.outputs["outputs"].name],
    )
    np.testing.assert_array_equal(y3, np.array([[4.0]], F32))


def test_tf2_classify_and_regress_with_examples(tf2: TensorFlowModel) -> None:
    for key, alias, expected in [
        ("regress_x_to_y", "outputs", 3.0),
        ("regress_x_to_y2", "outputs", 4.0),
        ("classify_x_to_y", "scores", 3.0),
    ]:
        sig = tf2.signatures[key]
        (out,) = tf2.run(
            {sig.inputs["inputs"].name: _examples(_example(x=2.0))}, [sig.outputs[alias].name]
        )
        np.testing.assert_array_equal(out, np.array([[expected]], F32), err_msg=key)


def test_half_plus_three_mlmd_and_matrix_predict(
    runtime: TensorFlowRuntime, shared_models: Path
) -> None:
    cases = [
        ("saved_model_half_plus_three", "00000123", np.array([2.0], F32), [4.0]),
        ("saved_model_half_plus_two_mlmd", "00000123", np.array([2.0], F32), [3.0]),
        ("batching/matrix_half_plus_two", "1", np.full((2, 3, 3), 2.0, F32), np.full((2, 3, 3), 3)),
    ]
    for name, version, x, expected in cases:
        model = runtime.load(_version(shared_models, name, version), DEFAULT)
        try:
            sig = model.signatures["serving_default"]
            (y,) = model.run({sig.inputs["x"].name: x}, [sig.outputs["y"].name])
            np.testing.assert_array_equal(y, np.array(expected, F32), err_msg=name)
        finally:
            model.unload()


def test_strided_and_byte_swapped_arrays(runtime: TensorFlowRuntime, shared_models: Path) -> None:
    model = runtime.load(_version(shared_models, "batching/matrix_half_plus_two", "1"), DEFAULT)
    base = np.arange(36, dtype=F32).reshape(2, 3, 6)
    try:
        for x in (
            base[:, :, ::2],
            np.asfortranarray(base[:, :, :3]),
            base[:, :, :3].transpose(0, 2, 1),
            base[:, :, :3].astype(">f4"),
        ):
            (y,) = model.run({"x:0": x}, ["y:0"])
            np.testing.assert_array_equal(y, x.astype(F32) * 0.5 + 2)
    finally:
        model.unload()


def test_two_versions_load_concurrently(runtime: TensorFlowRuntime, shared_models: Path) -> None:
    paths = [
        _version(shared_models, "saved_model_half_plus_two_2_versions", version)
        for version in ("00000123", "00000124")
    ]
    models: dict[str, TensorFlowModel] = {}

    def load(path: str) -> None:
        models[path] = runtime.load(path, DEFAULT)

    threads = [threading.Thread(target=load, args=(path,)) for path in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        for path in paths:
            assert "classify_x2_to_y3" in models[path].signatures
            (y,) = models[path].run({"x:0": np.array([[1.0]], F32)}, ["y:0"])
            np.testing.assert_array_equal(y, np.array([[2.5]], F32))
    finally:
        for model in models.values():
            model.unload()


def test_strings_round_trip(toy: TensorFlowModel) -> None:
    sig = toy.signatures["echo"]
    assert sig.inputs["text"].dtype is DataType.DT_STRING
    values = np.array([b"hello", b"", b"\x00\xffbytes"], dtype=object)
    (out,) = toy.run({"text:0": values}, [sig.outputs["echo"].name])
    assert out.dtype == object
    assert out.tolist() == values.tolist()
    (scalar,) = toy.run({"text:0": np.array(b"one", dtype=object)}, ["echo:0"])
    assert type(scalar) is np.ndarray
    assert scalar.dtype == object
    assert scalar.shape == ()
    assert scalar.item() == b"one"


def test_the_same_tensor_fetched_twice(toy: TensorFlowModel) -> None:
    sig = toy.signatures["twice"]
    assert sig.outputs["a"].name == sig.outputs["b"].name == "echo:0"
    a, b = toy.run({"text:0": np.array([b"x"], dtype=object)}, ["echo:0", "echo:0"])
    assert a.tolist() == b.tolist() == [b"x"]


def test_wrong_dtype_is_invalid_argument(half_plus_two: TensorFlowModel) -> None:
    for value in (np.array([[2.0]], np.float64), np.array([b"2"], dtype=object)):
        error = _error(partial(half_plus_two.run, {"x:0": value}, ["y:0"]))
        assert error.code is Code.INVALID_ARGUMENT
        assert "float" in error.message


def test_unknown_tensor_names_are_invalid_argument(half_plus_two: TensorFlowModel) -> None:
    x = np.array([[2.0]], F32)
    for feeds, fetches in [({"nope:0": x}, ["y:0"]), ({"x:0": x}, ["y:7"]), ({"x:0": x}, ["y"])]:
        error = _error(partial(half_plus_two.run, feeds, fetches))
        assert error.code is Code.INVALID_ARGUMENT
        assert "not found in the model's graph" in error.message


def test_timeout_gives_deadline_exceeded(any_mode_runtime: TensorFlowRuntime, toy_dir: str) -> None:
    model = any_mode_runtime.load(toy_dir, DEFAULT)
    try:
        (count,) = model.run({"steps:0": np.array(1000, np.int64)}, ["count:0"], timeout_ms=10_000)
        assert int(count) == 1000
        if any_mode_runtime.inline_runs is InlineRuns.ALWAYS:
            # Documented limitation: on the calling thread TensorFlow does not enforce timeouts,
            # so a (short) run that overruns its 1 ms still completes.
            (count,) = model.run({"steps:0": np.array(50_000, np.int64)}, ["count:0"], timeout_ms=1)
            assert int(count) == 50_000
            return
        forever = np.array(10**12, np.int64)
        error = _error(lambda: model.run({"steps:0": forever}, ["count:0"], timeout_ms=200))
        assert error.code is Code.DEADLINE_EXCEEDED
    finally:
        model.unload()


def test_concurrent_runs_from_8_threads(
    any_mode_runtime: TensorFlowRuntime, shared_models: Path
) -> None:
    model = any_mode_runtime.load(_version(shared_models, "saved_model_half_plus_two_cpu"), DEFAULT)
    failures: list[str] = []
    barrier = threading.Barrier(8)

    def worker(seed: int) -> None:
        barrier.wait()
        for i in range(200):
            x = np.array([[seed], [i]], F32)
            (y,) = model.run({"x:0": x}, ["y:0"], timeout_ms=(i % 3) * 10_000)
            if not np.array_equal(y, x * 0.5 + 2):
                failures.append(f"thread {seed} call {i}: {y.tolist()}")

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        model.unload()
    assert failures == []


# --- unloading ----------------------------------------------------------------------------------


def test_run_after_unload_is_a_clear_error(runtime: TensorFlowRuntime, shared_models: Path) -> None:
    model = runtime.load(_version(shared_models, "saved_model_half_plus_two_cpu"), DEFAULT)
    model.unload()
    model.unload()  # idempotent
    assert model.inline_runs is None
    error = _error(lambda: model.run({"x:0": np.array([[2.0]], F32)}, ["y:0"]))
    assert error.code is Code.FAILED_PRECONDITION
    assert "unloaded" in error.message
    assert model.signatures["serving_default"].inputs["x"].name == "x:0"  # still readable


def test_unload_racing_with_runs_never_crashes(
    runtime: TensorFlowRuntime, shared_models: Path
) -> None:
    model = runtime.load(_version(shared_models, "saved_model_half_plus_two_cpu"), DEFAULT)
    codes: set[Code] = set()
    unexpected: list[BaseException] = []
    started = threading.Event()

    def worker() -> None:
        started.set()
        for _ in range(2000):
            try:
                (y,) = model.run({"x:0": np.array([[2.0]], F32)}, ["y:0"])
                assert float(y[0, 0]) == 3.0
            except ServingError as error:
                codes.add(error.code)
            except BaseException as exc:  # anything else is a bug
                unexpected.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    started.wait()
    model.unload()
    for thread in threads:
        thread.join()
    assert unexpected == []
    assert codes <= {Code.FAILED_PRECONDITION, Code.CANCELLED}


# --- load failures ------------------------------------------------------------------------------


def test_legacy_session_bundle_is_a_clear_error(
    runtime: TensorFlowRuntime, shared_models: Path
) -> None:
    path = _version(shared_models, "bad_half_plus_two")
    error = _error(lambda: runtime.load(path, DEFAULT))
    assert error.code is Code.UNIMPLEMENTED  # what open-source TF Serving reports
    assert error.message.startswith("Session Bundle is deprecated and removed.")
    assert path in error.message
    assert "legacy SessionBundle" in error.message
    assert "re-export the model as a SavedModel" in error.message


def test_missing_saved_model_is_not_found(runtime: TensorFlowRuntime, tmp_path: Path) -> None:
    for path in (tmp_path, tmp_path / "absent"):
        error = _error(partial(runtime.load, str(path), DEFAULT))
        assert error.code is Code.NOT_FOUND
        assert "does not appear to contain a SavedModel bundle" in error.message
        assert str(path) in error.message


def test_garbage_saved_model_is_data_loss(runtime: TensorFlowRuntime, tmp_path: Path) -> None:
    (tmp_path / "saved_model.pb").write_bytes(b"\xff" * 32)
    error = _error(lambda: runtime.load(str(tmp_path), DEFAULT))
    assert error.code is Code.DATA_LOSS
    assert f"Can't parse {tmp_path}/saved_model.pb as binary proto" in error.message

    text_dir = tmp_path / "text"
    text_dir.mkdir()
    (text_dir / "saved_model.pbtxt").write_text("meta_graphs { nonsense")
    error = _error(lambda: runtime.load(str(text_dir), DEFAULT))
    assert error.code is Code.DATA_LOSS
    assert "as text proto" in error.message


def test_unknown_tag_set_lists_the_available_ones(
    runtime: TensorFlowRuntime, shared_models: Path
) -> None:
    path = _version(shared_models, "saved_model_half_plus_two_cpu")
    error = _error(lambda: runtime.load(path, _tf_options(tags=("serve", "gpu"))))
    assert error.code is Code.NOT_FOUND
    assert "Could not find meta graph def matching supplied tags: { gpu serve }" in error.message
    assert "Available tag sets" in error.message
    assert "{ serve }" in error.message


def test_text_format_saved_model_loads(
    runtime: TensorFlowRuntime, shared_models: Path, tmp_path: Path
) -> None:
    source = Path(_version(shared_models, "saved_model_half_plus_two_cpu"))
    target = tmp_path / "1"
    shutil.copytree(source, target)
    proto = saved_model_pb2.SavedModel.FromString((target / "saved_model.pb").read_bytes())
    (target / "saved_model.pb").unlink()
    (target / "saved_model.pbtxt").write_text(text_format.MessageToString(proto))
    model = runtime.load(str(target), DEFAULT)
    try:
        (y,) = model.run({"x:0": np.array([[4.0]], F32)}, ["y:0"])
        np.testing.assert_array_equal(y, np.array([[4.0]], F32))
    finally:
        model.unload()


def test_loader_errors_that_are_not_tensorflow_statuses_are_unknown(
    runtime: TensorFlowRuntime, shared_models: Path, tmp_path: Path
) -> None:
    target = tmp_path / "1"
    shutil.copytree(Path(_version(shared_models, "saved_model_half_plus_two_cpu")), target)
    shutil.rmtree(target / "variables")
    error = _error(lambda: runtime.load(str(target), DEFAULT))
    # TensorFlow's Python loader raises ValueError("... not a valid checkpoint ...") here.
    assert error.code is Code.UNKNOWN
    assert error.message.startswith(f"Failed to load the SavedModel at {target}: ValueError: ")
    assert "variables" in error.message


def test_is_version_complete(
    runtime: TensorFlowRuntime, shared_models: Path, tmp_path: Path
) -> None:
    assert runtime.is_version_complete(_version(shared_models, "saved_model_half_plus_two_cpu"))
    assert runtime.is_version_complete(_version(shared_models, "bad_half_plus_two"))
    assert not runtime.is_version_complete(str(tmp_path))
    (tmp_path / "variables").mkdir()
    assert not runtime.is_version_complete(str(tmp_path))
    (tmp_path / "saved_model.pbtxt").write_text("")
    assert runtime.is_version_complete(str(tmp_path))
    assert not runtime.is_version_complete(str(tmp_path / "absent"))


# --- session configuration ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("session", "intra", "inter", "expected"),
    [
        (0, 0, 0, (0, 0)),
        (4, 0, 0, (4, 4)),
        (0, 2, 3, (2, 3)),
        (4, 2, 0, (2, 0)),  # a per-pool flag wins, the other pool stays auto (server.cc)
        (4, 0, 3, (0, 3)),
        (-1, 0, 0, (-1, -1)),  # negative = run ops on the caller's thread, passed through
    ],
)
def test_thread_pools_follow_tf_serving(
    session: int, intra: int, inter: int, expected: tuple[int, int]
) -> None:
    options = TensorFlowLoadOptions(
        session_parallelism=session, intra_op_parallelism=intra, inter_op_parallelism=inter
    )
    assert thread_pools(options) == expected


def test_all_three_parallelism_flags_are_rejected(
    runtime: TensorFlowRuntime, shared_models: Path
) -> None:
    options = _tf_options(session_parallelism=1, intra_op_parallelism=1, inter_op_parallelism=1)
    path = _version(shared_models, "saved_model_half_plus_two_cpu")
    error = _error(lambda: runtime.load(path, options))
    assert error.code is Code.INVALID_ARGUMENT
    assert "You cannot configure all." in error.message


def test_session_config_without_file_is_tf_servings_default() -> None:
    config = session_config(TensorFlowLoadOptions(session_parallelism=2))
    assert config.allow_soft_placement is False  # not Python's eager-context default (True)
    assert (config.intra_op_parallelism_threads, config.inter_op_parallelism_threads) == (2, 2)


def test_session_config_file_is_the_base_and_flags_override(
    runtime: TensorFlowRuntime, shared_models: Path, tmp_path: Path
) -> None:
    file = tmp_path / "session.config"
    file.write_text(
        "intra_op_parallelism_threads: 3\ninter_op_parallelism_threads: 5\n"
        "allow_soft_placement: true\n"
    )
    config = session_config(
        TensorFlowLoadOptions(session_config_file=str(file), inter_op_parallelism=2)
    )
    assert config.allow_soft_placement is True
    assert (config.intra_op_parallelism_threads, config.inter_op_parallelism_threads) == (3, 2)
    options = _tf_options(session_config_file=str(file))
    model = runtime.load(_version(shared_models, "saved_model_half_plus_two_cpu"), options)
    try:
        (y,) = model.run({"x:0": np.array([[2.0]], F32)}, ["y:0"])
        assert float(y[0, 0]) == 3.0
    finally:
        model.unload()


def test_bad_session_config_files_fail_the_load(
    runtime: TensorFlowRuntime, shared_models: Path, tmp_path: Path
) -> None:
    path = _version(shared_models, "saved_model_half_plus_two_cpu")
    bad = tmp_path / "bad.config"
    bad.write_text("no_such_field: 1\n")
    error = _error(lambda: runtime.load(path, _tf_options(session_config_file=str(bad))))
    assert error.code is Code.INVALID_ARGUMENT
    assert f"Invalid protobuf file: '{bad}'" in error.message
    assert "no_such_field" in error.message
    absent = tmp_path / "absent.config"
    error = _error(lambda: runtime.load(path, _tf_options(session_config_file=str(absent))))
    assert error.code is Code.NOT_FOUND
    assert str(absent) in error.message


# --- packaging ----------------------------------------------------------------------------------


def test_importing_pyserving_does_not_import_tensorflow() -> None:
    code = (
        "import sys, pyserving, pyserving.runtimes.registry, pyserving.runtimes.base\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'tensorflow')\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
