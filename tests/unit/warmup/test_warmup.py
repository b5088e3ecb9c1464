"""Model warmup (reference §5.6): warmup files are written with the real
``tensorflow_serving.apis.prediction_log_pb2`` messages and pyserving's TFRecord writer, then
replayed against fake models, alone and as the lifecycle's post-load hook."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest
from tensorflow.core.example import example_pb2
from tensorflow.core.framework import tensor_pb2, types_pb2
from tensorflow_serving.apis import prediction_log_pb2

from pyserving.dtypes import DataType
from pyserving.errors import Code, ServingError
from pyserving.lifecycle import ServableState
from pyserving.lifecycle.state import ServableId
from pyserving.runtimes.base import Model
from pyserving.runtimes.fake import FakeRuntime
from pyserving.service.method_names import CLASSIFY_METHOD, REGRESS_METHOD
from pyserving.signature import Signature, TensorSpec
from pyserving.tfrecord import encode_record
from pyserving.warmup import ModelWarmup, warmup_hook
from pyserving.warmup.records import MAX_RECORDS, WARMUP_FILE
from tests.unit.lifecycle.lifecycle_support import (
    WAIT,
    config,
    eventually,
    fake_model,
    running_core,
    served,
    state_of,
)

SID = ServableId("m", 1)


def _predict_log(x: list[float], signature: str = "") -> prediction_log_pb2.PredictionLog:
    log = prediction_log_pb2.PredictionLog()
    request = log.predict_log.request
    request.model_spec.name = "ignored"  # warmup runs against the version being loaded
    request.model_spec.signature_name = signature
    tensor = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=x)
    tensor.tensor_shape.dim.add().size = len(x)
    tensor.tensor_shape.dim.add().size = 1
    request.inputs["x"].CopyFrom(tensor)
    return log


def _examples(target, *xs: float) -> None:
    for x in xs:
        example = example_pb2.Example()
        example.features.feature["x"].float_list.value.append(x)
        target.example_list.examples.append(example)


def _write(version_dir: Path, *records: bytes | prediction_log_pb2.PredictionLog) -> Path:
    path = version_dir / WARMUP_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        for record in records:
            data = record if isinstance(record, bytes) else record.SerializeToString()
            out.write(encode_record(data))
    return path


def _fake(tmp_path: Path) -> tuple[FakeRuntime, object]:
    runtime = FakeRuntime()
    fake_model(tmp_path, 1)
    return runtime, runtime.load(str(tmp_path / "1"), None)  # type: ignore[arg-type]


def _raised(path: Path, model: object, iterations: int = 1) -> tuple[Code, str]:
    with pytest.raises(ServingError) as caught:
        ModelWarmup(iterations)(SID, str(path), model)  # type: ignore[arg-type]
    return caught.value.code, caught.value.message


class ExampleModel(Model):
    """Classify/regress signatures over serialized Examples; counts runs and their batch sizes."""

    def __init__(self) -> None:
        string = TensorSpec("inputs:0", DataType.DT_STRING, (-1,))
        self._signatures: Mapping[str, Signature] = {
            "classify": Signature(
                "classify",
                {"inputs": string},
                {"scores": TensorSpec("scores:0", DataType.DT_FLOAT, (-1, 2))},
            ),
            "regress": Signature(
                "regress",
                {"inputs": string},
                {"outputs": TensorSpec("outputs:0", DataType.DT_FLOAT, (-1,))},
            ),
        }
        self.runs: list[tuple[list[str], int]] = []
        self.lock = threading.Lock()

    @property
    def signatures(self) -> Mapping[str, Signature]:
        return self._signatures

    def run(
        self, feeds: Mapping[str, np.ndarray], fetches: Sequence[str], timeout_ms: int = 0
    ) -> list[np.ndarray]:
        rows = len(feeds["inputs:0"])
        with self.lock:
            self.runs.append((list(fetches), rows))
        shapes = {"scores:0": (rows, 2), "outputs:0": (rows,)}
        return [np.zeros(shapes[name], np.float32) for name in fetches]

    def unload(self) -> None:
        pass


def test_predict_records_replay_n_times(tmp_path: Path) -> None:
    runtime, model = _fake(tmp_path)
    _write(tmp_path / "1", _predict_log([1.0]), _predict_log([2.0, 3.0]), b"")
    ModelWarmup(3)(SID, str(tmp_path / "1"), model)  # type: ignore[arg-type]
    assert runtime.runs == 2 * 3  # the empty record (no log type) is skipped, as in TF Serving


def test_no_file_is_fine_and_flags_map_to_the_hook(tmp_path: Path) -> None:
    runtime, model = _fake(tmp_path)
    ModelWarmup()(SID, str(tmp_path / "1"), model)  # type: ignore[arg-type]
    assert runtime.runs == 0
    assert warmup_hook(False, 5) is None
    hook = warmup_hook(True, 0)
    assert isinstance(hook, ModelWarmup) and hook.num_request_iterations == 1
    assert isinstance(warmup_hook(True, 4), ModelWarmup)


def test_classify_regress_and_multi_inference_records(tmp_path: Path) -> None:
    log = prediction_log_pb2.PredictionLog()
    log.classify_log.request.model_spec.signature_name = "classify"
    _examples(log.classify_log.request.input, 1.0, 2.0)
    regress = prediction_log_pb2.PredictionLog()
    regress.regress_log.request.model_spec.signature_name = "regress"
    context = regress.regress_log.request.input.example_list_with_context
    context.context.features.feature["c"].float_list.value.append(1.0)
    context.examples.add().features.feature["x"].float_list.value.append(3.0)
    multi = prediction_log_pb2.PredictionLog()
    for signature, method in (("classify", CLASSIFY_METHOD), ("regress", REGRESS_METHOD)):
        task = multi.multi_inference_log.request.tasks.add(method_name=method)
        task.model_spec.name, task.model_spec.signature_name = "m", signature
    _examples(multi.multi_inference_log.request.input, 4.0, 5.0, 6.0)
    _write(tmp_path, log, regress, multi)
    model = ExampleModel()
    ModelWarmup()(SID, str(tmp_path), model)
    assert model.runs == [(["scores:0"], 2), (["outputs:0"], 1), (["outputs:0", "scores:0"], 3)]


def test_failures_carry_tf_serving_codes_and_messages(tmp_path: Path) -> None:
    _, model = _fake(tmp_path)
    version = tmp_path / "1"
    path = _write(version, _predict_log([1.0], signature="nope"))
    assert _raised(version, model) == (
        Code.FAILED_PRECONDITION,
        'Serving signature key "nope" not found.',
    )
    streamed = prediction_log_pb2.PredictionLog()
    streamed.predict_streamed_log.request.add()
    session = prediction_log_pb2.PredictionLog()
    session.session_run_log.request.SetInParent()
    for log, number in ((session, 5), (streamed, 7)):
        _write(version, log)
        assert _raised(version, model) == (
            Code.UNIMPLEMENTED,
            f"Unsupported log_type for warmup: {number}",
        )
    _write(version, _predict_log([1.0]), b"\xff\xff not a PredictionLog")
    code, message = _raised(version, model)
    assert code is Code.INVALID_ARGUMENT
    assert message.startswith("Failed to parse warmup record: b'\\xff\\xff not a")
    assert message.endswith(f" from {path}")
    path.write_bytes(encode_record(_predict_log([1.0]).SerializeToString())[:-3])  # truncated
    code, message = _raised(version, model)
    assert code is Code.DATA_LOSS
    assert message.endswith(". Please verify your warmup data is in TFRecord format.")
    path.write_bytes(b"this is not a TFRecord file at all")
    assert _raised(version, model)[0] is Code.DATA_LOSS


def test_more_than_1000_records_fail_without_running_the_extra_one(tmp_path: Path) -> None:
    runtime, model = _fake(tmp_path)
    path = _write(tmp_path / "1", *([_predict_log([1.0])] * (MAX_RECORDS + 1)))
    assert _raised(tmp_path / "1", model) == (
        Code.INVALID_ARGUMENT,
        f"Number of warmup records exceeds the maximum (1000) at {path}",
    )
    assert runtime.runs == MAX_RECORDS
    _write(tmp_path / "1", *([_predict_log([1.0])] * MAX_RECORDS))
    ModelWarmup()(SID, str(tmp_path / "1"), model)  # type: ignore[arg-type]


def test_a_failing_warmup_fails_the_load_with_retries_and_keeps_the_old_version(
    tmp_path: Path,
) -> None:
    """Through the lifecycle: warmup runs before AVAILABLE; a bad warmup file fails every load
    attempt (the model is unloaded each time) and the version serving before keeps serving."""
    fake_model(tmp_path, 1)
    _write(tmp_path / "1", _predict_log([1.0]))
    runtime = FakeRuntime()
    seen_at_warmup: list[ServableState | None] = []
    warmup = ModelWarmup(2)

    def hook(servable: ServableId, path: str, model: object) -> None:
        seen_at_warmup.append(state_of(core, servable.name, servable.version))
        warmup(servable, path, model)  # type: ignore[arg-type]

    with running_core(
        [config("m", tmp_path)],
        runtime,
        post_load=hook,
        max_num_load_retries=2,
    ) as core:
        core.wait_until_ready(timeout=WAIT)
        assert seen_at_warmup == [ServableState.LOADING] and runtime.runs == 2
        (tmp_path / "2" / WARMUP_FILE).parent.mkdir(parents=True)
        (tmp_path / "2" / WARMUP_FILE).write_bytes(b"broken: not TFRecord framing")
        fake_model(tmp_path, 2)
        eventually(lambda: state_of(core, "m", 2) is ServableState.END, what="v2 failed")
        (status,) = core.model_status("m", 2)
        assert status.error_code is Code.DATA_LOSS
        assert runtime.load_attempts == 1 + 3 and runtime.unloads == 3
        assert served(core, "m") == 1


def _warmup_samples(path: str) -> dict[tuple[str, str], float]:
    from prometheus_client import REGISTRY

    found: dict[tuple[str, str], float] = {}
    for family in REGISTRY.collect():
        for sample in family.samples:
            if sample.labels.get("model_path") == path and sample.name.endswith(
                ("model_warmup_latency_count", "model_warmup_records_read_total")
            ):
                found[(sample.name, sample.labels["status"])] = sample.value
    return found


def test_warmup_latency_and_records_are_recorded(tmp_path: Path) -> None:
    _, model = _fake(tmp_path)
    version = str(tmp_path / "1")
    _write(tmp_path / "1", _predict_log([1.0]), _predict_log([2.0]))
    ModelWarmup(1)(SID, version, model)  # type: ignore[arg-type]
    samples = _warmup_samples(version)
    latency = next(v for (n, s), v in samples.items() if n.endswith("_count") and s == "OK")
    records = next(v for (n, s), v in samples.items() if n.endswith("_total") and s == "OK")
    assert (latency, records) == (1, 2)
