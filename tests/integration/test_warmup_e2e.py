"""Model warmup end to end (reference §5.6, §10 item 38): warmup files written with the real
``tensorflow_serving.apis.prediction_log_pb2`` and ``tf.io.TFRecordWriter``, replayed by a real
server before each version becomes AVAILABLE.

``saved_model_counter`` makes the replay observable: its ``incr_counter`` signature adds one to a
variable, so after a warmup of N ``incr_counter`` records replayed K times the first
``get_counter`` request answers N x K.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import grpc
import httpx
import pytest
import tensorflow as tf
from tensorflow.core.example import example_pb2
from tensorflow_serving.apis import predict_pb2, prediction_log_pb2, prediction_service_pb2_grpc

from tests.integration.harness import ServerProcess, running_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

WARMUP = Path("assets.extra") / "tf_serving_warmup_requests"
WITHIN_S = 30.0
RECORDS = 3
ITERATIONS = 2


def _write_warmup(version_dir: Path, logs: Sequence[prediction_log_pb2.PredictionLog]) -> None:
    (version_dir / WARMUP).parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(version_dir / WARMUP)) as writer:
        for log in logs:
            writer.write(log.SerializeToString())


def _predict_log(signature: str) -> prediction_log_pb2.PredictionLog:
    log = prediction_log_pb2.PredictionLog()
    log.predict_log.request.model_spec.name = "anything"
    log.predict_log.request.model_spec.signature_name = signature
    return log


def _half_plus_two_logs() -> list[prediction_log_pb2.PredictionLog]:
    """One record of each supported kind, against TF Serving's half_plus_two signatures."""
    example = example_pb2.Example()
    example.features.feature["x"].float_list.value.append(2.0)
    predict = _predict_log("serving_default")
    predict.predict_log.request.inputs["x"].CopyFrom(tf.make_tensor_proto([[2.0]], tf.float32))
    classify = prediction_log_pb2.PredictionLog()
    classify.classify_log.request.model_spec.signature_name = "classify_x_to_y"
    classify.classify_log.request.input.example_list.examples.append(example)
    regress = prediction_log_pb2.PredictionLog()
    regress.regress_log.request.model_spec.signature_name = "regress_x_to_y"
    regress.regress_log.request.input.example_list.examples.append(example)
    multi = prediction_log_pb2.PredictionLog()
    for signature, method in (("classify_x_to_y", "classify"), ("regress_x_to_y2", "regress")):
        task = multi.multi_inference_log.request.tasks.add()
        task.model_spec.name, task.model_spec.signature_name = "hp", signature
        task.method_name = f"tensorflow/serving/{method}"
    multi.multi_inference_log.request.input.example_list.examples.append(example)
    return [predict, classify, regress, multi]


def _counter(server: ServerProcess) -> float:
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        request = predict_pb2.PredictRequest()
        request.model_spec.name, request.model_spec.signature_name = "counter", "get_counter"
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        return float(stub.Predict(request, timeout=30).outputs["output"].float_val[0])


def _status(server: ServerProcess, name: str, version: int) -> dict[str, object]:
    reply = httpx.get(f"{server.base_url}/v1/models/{name}/versions/{version}", timeout=10)
    if reply.status_code != 200:
        return {}
    (row,) = reply.json()["model_version_status"]
    return dict(row)


def _serve_counter(tmp_path: Path, shared: Path) -> Path:
    base = tmp_path / "counter"
    shutil.copytree(shared / "saved_model_counter" / "00000123", base / "123")
    _write_warmup(base / "123", [_predict_log("incr_counter")] * RECORDS)
    return base


def test_warmup_replays_before_available_and_a_bad_file_fails_the_load(
    shared_models: Path, tmp_path: Path
) -> None:
    counter = _serve_counter(tmp_path, shared_models)
    hp = tmp_path / "hp"
    shutil.copytree(shared_models / "saved_model_half_plus_two_cpu" / "00000123", hp / "123")
    _write_warmup(hp / "123", _half_plus_two_logs())
    config = tmp_path / "models.config"
    config.write_text(
        "model_config_list { "
        + "".join(
            f'config {{ name: "{n}" base_path: "{p}" model_platform: "tensorflow" }} '
            for n, p in (("counter", counter), ("hp", hp))
        )
        + "}"
    )
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        f"--model_config_file={config}",
        f"--num_request_iterations_for_warmup={ITERATIONS}",
        "--file_system_poll_wait_seconds=1",
        "--max_num_load_retries=1",
        "--load_retry_interval_micros=100000",
    ]
    with running_server(args, "/v1/models/hp") as server:
        # Ports open only once every model is AVAILABLE, hence warmed up.
        assert _counter(server) == RECORDS * ITERATIONS
        assert "Number of warmup records read: 4." in server.output  # hp: every kind replayed

        staging = hp / ".tmp-124"
        shutil.copytree(hp / "123", staging)
        (staging / WARMUP).write_bytes(b"\x07 this is not TFRecord framing")
        os.rename(staging, hp / "124")
        deadline = time.monotonic() + WITHIN_S
        while _status(server, "hp", 124).get("state") != "END":
            assert time.monotonic() < deadline, server.output
            time.sleep(0.1)
        status = _status(server, "hp", 124)["status"]
        assert isinstance(status, dict) and status["error_code"] == "DATA_LOSS"
        assert str(status["error_message"]).endswith(
            ". Please verify your warmup data is in TFRecord format."
        )
        assert "(attempt 1 of 2): " in server.output  # a failed warmup is a failed load, retried
        reply = httpx.post(
            f"{server.base_url}/v1/models/hp:predict", json={"instances": [[2.0]]}, timeout=10
        )
        assert reply.json() == {"predictions": [[3.0]]}  # version 123 keeps serving


def test_warmup_can_be_disabled(shared_models: Path, tmp_path: Path) -> None:
    counter = _serve_counter(tmp_path, shared_models)
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        "--model_name=counter",
        f"--model_base_path={counter}",
        "--enable_model_warmup=false",
    ]
    with running_server(args, "/v1/models/counter") as server:
        assert _counter(server) == 0.0
        assert "enable_model_warmup is accepted but not supported" not in server.output
