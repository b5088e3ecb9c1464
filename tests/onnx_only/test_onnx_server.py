"""ONNX models served end to end, without TensorFlow.

These tests import no TensorFlow (gRPC goes through pyserving's own protos) and run in two
places: the main venv, and the venv of ``make test-onnx-only`` where TensorFlow is not installed at
all (``pip install '.[onnx]'``). In both, the server process must never load TensorFlow: checked
on its memory map, where any TensorFlow import leaves its shared libraries.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import httpx
import numpy as np
import pytest

from pyserving.codec.tensor_proto import encode_tensor
from pyserving.protos import (
    get_model_metadata_pb2,
    predict_pb2,
    prediction_log_pb2,
    prediction_service_pb2_grpc,
    tensor_pb2,
    types_pb2,
)
from pyserving.tfrecord import encode_record, read_records
from tests import onnx_models
from tests.integration.harness import ServerProcess, running_server

pytestmark = pytest.mark.timeout(300)

METRICS = "/monitoring/prometheus/metrics"
AVAILABLE_WITHIN_S = 60.0


def _tensorflow_mapped(server: ServerProcess) -> list[str]:
    maps = Path(f"/proc/{server.process.pid}/maps").read_text()
    return sorted({line.split()[-1] for line in maps.splitlines() if "tensorflow" in line})


def _predict(server: ServerProcess, model: str, body: object, suffix: str = "") -> httpx.Response:
    url = f"{server.base_url}/v1/models/{model}{suffix}:predict"
    return httpx.post(url, json=body, timeout=30)


def _versions(server: ServerProcess, model: str) -> dict[int, tuple[str, str]]:
    response = httpx.get(f"{server.base_url}/v1/models/{model}", timeout=10)
    if response.status_code != 200:
        return {}
    return {
        int(v["version"]): (v["state"], v["status"]["error_message"])
        for v in response.json()["model_version_status"]
    }


def _wait_for(server: ServerProcess, model: str, version: int, state: str) -> str:
    deadline = time.monotonic() + AVAILABLE_WITHIN_S
    while time.monotonic() < deadline:
        found = _versions(server, model).get(version)
        if found is not None and found[0] == state:
            return found[1]
        time.sleep(0.2)
    raise AssertionError(f"{model} v{version} not {state}: {_versions(server, model)}")


def _warmup_file(version_dir: Path, rows: int) -> None:
    log = prediction_log_pb2.PredictionLog()
    request = log.predict_log.request
    request.model_spec.name = "ignored"
    tensor = request.inputs["x"]
    tensor.dtype = types_pb2.DT_FLOAT
    tensor.tensor_shape.dim.add(size=rows)
    tensor.float_val.extend([1.0] * rows)
    extra = version_dir / "assets.extra"
    extra.mkdir()
    (extra / "tf_serving_warmup_requests").write_bytes(encode_record(log.SerializeToString()))


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("onnx_models")
    hp2 = onnx_models.write_version(root / "half_plus_two", 1, onnx_models.half_plus_two())
    _warmup_file(hp2, rows=3)
    onnx_models.write_version(root / "linear", 1, onnx_models.linear(), external_data=True)
    onnx_models.write_version(root / "strings", 1, onnx_models.strings())
    onnx_models.write_version(root / "two_outputs", 1, onnx_models.two_outputs())
    onnx_models.write_version(root / "numeric", 1, onnx_models.numeric_echo())
    return root


@pytest.fixture(scope="module")
def served(models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """``tensorflow_model_server`` with platform ``onnx`` (and ``auto``), batching, metrics and a
    request log on half_plus_two."""
    work = tmp_path_factory.mktemp("onnx_server")
    monitoring = work / "monitoring.config"
    monitoring.write_text(f'prometheus_config {{ enable: true path: "{METRICS}" }}')
    batching = work / "batching.config"
    batching.write_text("max_batch_size { value: 64 } batch_timeout_micros { value: 2000 }")
    entries = [
        f'config {{ name: "half_plus_two" base_path: "{models / "half_plus_two"}" '
        'model_platform: "onnx" logging_config { sampling_config { sampling_rate: 1.0 } '
        'log_collector_config { filename_prefix: "hp2/requests" } } }',
        *(
            f'config {{ name: "{name}" base_path: "{models / name}" model_platform: "onnx" }}'
            for name in ("linear", "strings", "numeric")
        ),
        f'config {{ name: "two_outputs" base_path: "{models / "two_outputs"}" '
        'model_platform: "auto" }',
    ]
    config = work / "models.config"
    config.write_text("model_config_list { " + " ".join(entries) + " }")
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        f"--model_config_file={config}",
        f"--monitoring_config_file={monitoring}",
        "--enable_batching",
        f"--batching_parameters_file={batching}",
        f"--request_log_dir={work / 'logs'}",
        "--onnx_intra_op_threads=1",
    ]
    with running_server(args, "/v1/models/half_plus_two") as server:
        server.work = work  # type: ignore[attr-defined]
        yield server


def test_server_never_loads_tensorflow(served: ServerProcess) -> None:
    assert _predict(served, "half_plus_two", {"instances": [1.0]}).status_code == 200
    assert _tensorflow_mapped(served) == []


def test_rest_predict_status_and_metadata(served: ServerProcess) -> None:
    response = _predict(served, "half_plus_two", {"instances": [1.0, 2.0, 5.0]})
    assert response.json() == {"predictions": [2.5, 3.0, 4.5]}, response.text
    assert _versions(served, "half_plus_two") == {1: ("AVAILABLE", "")}
    metadata = httpx.get(f"{served.base_url}/v1/models/linear/metadata", timeout=10).json()
    signature = metadata["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert signature["method_name"] == "tensorflow/serving/predict"
    assert signature["inputs"]["x"]["dtype"] == "DT_FLOAT"
    assert [d["size"] for d in signature["inputs"]["x"]["tensor_shape"]["dim"]] == ["-1", "3"]
    assert signature["outputs"]["y"]["name"] == "y"


def test_matmul_with_external_weights(served: ServerProcess) -> None:
    x = [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]
    response = _predict(served, "linear", {"instances": x})
    expected = np.array(x, np.float32) @ onnx_models.LINEAR_W + onnx_models.LINEAR_B
    np.testing.assert_allclose(response.json()["predictions"], expected, rtol=1e-6)


def test_strings_two_outputs_and_columnar(served: ServerProcess) -> None:
    response = _predict(served, "strings", {"inputs": {"text": ["ab", "Cd"]}})
    assert response.json() == {"outputs": {"echo": ["ab", "Cd"], "upper": ["AB", "CD"]}}
    response = _predict(served, "two_outputs", {"instances": [1.0, 3.0]})
    assert response.json() == {
        "predictions": [{"plus_one": 2.0, "times_two": 2.0}, {"plus_one": 4.0, "times_two": 6.0}]
    }
    response = _predict(served, "two_outputs", {"instances": [1.0], "output_filter": ["plus_one"]})
    assert response.status_code in (200, 400)  # output_filter is gRPC only in TF Serving's REST


def test_bad_requests_get_clear_errors(served: ServerProcess) -> None:
    response = _predict(served, "linear", {"instances": [[1.0, 2.0]]})
    assert response.status_code == 400
    assert "dimensions" in response.json()["error"]
    response = _predict(served, "strings", {"instances": [1.0]})
    assert response.status_code == 400, response.text
    assert _predict(served, "half_plus_two", {"instances": [1.0]}).status_code == 200


def test_grpc_predict_and_metadata(served: ServerProcess) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{served.grpc_port}") as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "numeric"
        for _, dtype in onnx_models.NUMERIC_TYPES:
            name = np.dtype(dtype).name
            array = np.array([1, 0, 1], dtype=dtype)
            tensor = request.inputs[f"in_{name}"]
            tensor.CopyFrom(_tensor_proto(array))
        response = stub.Predict(request, timeout=30)
        assert response.model_spec.version.value == 1
        for _, dtype in onnx_models.NUMERIC_TYPES:
            name = np.dtype(dtype).name
            out = response.outputs[f"out_{name}"]
            assert out.dtype == _tensor_proto(np.array([1], dtype=dtype)).dtype, name
            assert [d.size for d in out.tensor_shape.dim] == [3], name
        meta_request = get_model_metadata_pb2.GetModelMetadataRequest(
            metadata_field=["signature_def"]
        )
        meta_request.model_spec.name = "strings"
        metadata = stub.GetModelMetadata(meta_request, timeout=30)
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        metadata.metadata["signature_def"].Unpack(signature_map)
        inputs = signature_map.signature_def["serving_default"].inputs
        assert inputs["text"].dtype == types_pb2.DT_STRING


def _tensor_proto(array: np.ndarray) -> tensor_pb2.TensorProto:
    proto = tensor_pb2.TensorProto()
    encode_tensor(array, proto)
    return proto


def test_concurrent_requests_are_batched_and_correct(served: ServerProcess) -> None:
    def one(i: int) -> list[float]:
        response = _predict(served, "half_plus_two", {"instances": [float(i), float(i + 1)]})
        assert response.status_code == 200, response.text
        return list(response.json()["predictions"])

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, range(200)))
    assert results == [[i / 2 + 2, (i + 1) / 2 + 2] for i in range(200)]
    metrics = httpx.get(served.base_url + METRICS, timeout=10).text
    assert ":tensorflow:serving:request_count" in metrics
    assert 'model_name="half_plus_two"' in metrics
    assert "pyserving_batch_size" in metrics


def test_warmup_replayed_and_requests_logged(served: ServerProcess) -> None:
    metrics = httpx.get(served.base_url + METRICS, timeout=10).text
    assert any(
        line.startswith(":tensorflow:serving:model_warmup_latency_count")
        and "half_plus_two/1" in line
        and 'status="OK"' in line
        and float(line.split()[-1]) == 1
        for line in metrics.splitlines()
    ), metrics
    assert _predict(served, "half_plus_two", {"instances": [7.0]}).status_code == 200
    log_dir = served.work / "logs" / "hp2"  # type: ignore[attr-defined]
    deadline = time.monotonic() + 30
    logs: list[prediction_log_pb2.PredictionLog] = []
    while time.monotonic() < deadline and not logs:
        for file in sorted(log_dir.glob("requests*")) if log_dir.is_dir() else []:
            with file.open("rb") as stream:
                for record in read_records(stream):
                    log = prediction_log_pb2.PredictionLog()
                    log.ParseFromString(record)
                    logs.append(log)
        time.sleep(0.2)
    assert logs, "no request log written"
    assert logs[0].predict_log.request.model_spec.name == "half_plus_two"
    assert "y" in logs[0].predict_log.response.outputs


# -- versions: a corrupt one, a half-written one -------------------------------------------------


def test_pyserving_serve_detects_onnx(tmp_path: Path) -> None:
    base = tmp_path / "hp2"
    onnx_models.write_version(base, 1, onnx_models.half_plus_two())
    args = ["serve", "--port={grpc_port}", "--rest-port={rest_port}", str(base)]
    with running_server(args, "/v1/models/hp2", program="pyserving") as server:
        _wait_for(server, "hp2", 1, "AVAILABLE")
        response = _predict(server, "hp2", {"instances": [1.0, 2.0, 5.0]})
        assert response.json() == {"predictions": [2.5, 3.0, 4.5]}
        assert _tensorflow_mapped(server) == []


@pytest.fixture
def polled(tmp_path: Path) -> Iterator[tuple[ServerProcess, Path]]:
    """Model ``m`` (platform ``auto``) polled every second, a failed load not retried."""
    base = tmp_path / "m"
    onnx_models.write_version(base, 1, onnx_models.half_plus_two())
    config = tmp_path / "models.config"
    config.write_text(
        f'model_config_list {{ config {{ name: "m" base_path: "{base}" model_platform: "auto" }} }}'
    )
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        f"--model_config_file={config}",
        "--file_system_poll_wait_seconds=1",
        "--max_num_load_retries=0",
    ]
    with running_server(args, "/v1/models/m") as server:
        _wait_for(server, "m", 1, "AVAILABLE")
        yield server, base


def test_corrupt_version_ends_and_the_previous_keeps_serving(
    polled: tuple[ServerProcess, Path],
) -> None:
    server, base = polled
    scratch = base / ".tmp-2"
    scratch.mkdir()
    (scratch / "model.onnx").write_bytes(b"\x08\x07garbage that is not a model" * 20)
    os.rename(scratch, base / "2")
    error = _wait_for(server, "m", 2, "END")
    assert "Failed to load the ONNX model" in error and "Protobuf parsing failed" in error, error
    assert _predict(server, "m", {"instances": [2.0]}).json() == {"predictions": [3.0]}
    assert _tensorflow_mapped(server) == []


def test_half_written_version_is_never_loaded(polled: tuple[ServerProcess, Path]) -> None:
    server, base = polled
    data = onnx_models.half_plus_three().SerializeToString()
    target = base / "2"
    target.mkdir()
    answers: list[int] = []
    stop = threading.Event()

    def clients() -> None:
        while not stop.is_set():
            response = _predict(server, "m", {"instances": [2.0]})
            answers.append(response.status_code)

    thread = threading.Thread(target=clients, daemon=True)
    thread.start()
    try:
        # Written in place, slowly: a pause between writes, well under the 1 s poll period (no
        # other work in this loop, so a busy machine stretches the pauses as little as possible).
        chunk = max(1, len(data) // 12)
        with (target / "model.onnx").open("wb") as out:
            for start in range(0, len(data), chunk):
                out.write(data[start : start + chunk])
                out.flush()
                time.sleep(0.2)
        _wait_for(server, "m", 2, "AVAILABLE")
    finally:
        stop.set()
        thread.join(timeout=30)
    assert _versions(server, "m")[2] == ("AVAILABLE", "")
    assert _predict(server, "m", {"instances": [2.0]}).json() == {"predictions": [4.0]}
    assert answers and set(answers) == {200}


# -- the Open Inference Protocol (V2) -------------------------------------------------------------


def test_v2_rest_metadata_and_infer(served: ServerProcess) -> None:
    base = f"{served.base_url}/v2/models"
    metadata = httpx.get(f"{base}/linear", timeout=10).json()
    assert (metadata["name"], metadata["platform"]) == ("linear", "onnxruntime_onnx"), metadata
    assert metadata["inputs"] == [{"name": "x", "datatype": "FP32", "shape": [-1, 3]}]
    assert metadata["outputs"] == [{"name": "y", "datatype": "FP32", "shape": [-1, 2]}]
    body = {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]}
    response = httpx.post(f"{base}/linear/infer", json=body, timeout=30)
    assert response.status_code == 200, response.text
    (output,) = response.json()["outputs"]
    expected = np.array([[1, 2, 3]], np.float32) @ onnx_models.LINEAR_W + onnx_models.LINEAR_B
    assert output["name"] == "y" and output["shape"] == [1, 2]
    np.testing.assert_allclose(output["data"], expected.ravel(), rtol=1e-6)
    body = {"inputs": [{"name": "text", "shape": [2], "datatype": "BYTES", "data": ["ab", "c"]}]}
    response = httpx.post(f"{base}/strings/infer", json=body, timeout=30)
    outputs = {o["name"]: o["data"] for o in response.json()["outputs"]}
    assert outputs == {"echo": ["ab", "c"], "upper": ["AB", "C"]}
    assert httpx.get(f"{base}/half_plus_two/ready", timeout=10).status_code == 200


def test_v2_grpc_infer(served: ServerProcess) -> None:
    from pyserving.protos import grpc_predict_v2_pb2 as pb
    from pyserving.protos import grpc_predict_v2_pb2_grpc as pb_grpc

    with grpc.insecure_channel(f"127.0.0.1:{served.grpc_port}") as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        request = pb.ModelInferRequest(model_name="two_outputs")
        tensor = request.inputs.add(name="x", datatype="FP32", shape=[2])
        tensor.contents.fp32_contents.extend([1.0, 3.0])
        response = stub.ModelInfer(request, timeout=30)
        assert response.model_name == "two_outputs"
        # Answered in the request's form (typed contents, not raw bytes).
        by_name = {out.name: list(out.contents.fp32_contents) for out in response.outputs}
        assert by_name == {"plus_one": [2.0, 4.0], "times_two": [2.0, 6.0]}
        ready = stub.ModelReady(pb.ModelReadyRequest(name="numeric"), timeout=30)
        assert ready.ready
