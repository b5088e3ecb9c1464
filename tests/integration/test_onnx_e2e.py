"""ONNX next to TensorFlow in one server: hot swaps between the two runtimes under load, a version
directory holding both formats, and the real ``tensorflow-serving-api`` client on ONNX models.
(tests/onnx_only covers ONNX alone, also in a venv without TensorFlow.)"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import get_model_metadata_pb2, predict_pb2

from tests import onnx_models
from tests.integration.grpc_support import CLIENT_OPTIONS, float_tensor, predict_request, stubs
from tests.integration.harness import running_server
from tests.integration.versioned_model import publish

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

AVAILABLE_WITHIN_S = 60.0


def _state(base_url: str, model: str) -> dict[int, str]:
    response = httpx.get(f"{base_url}/v1/models/{model}", timeout=10)
    if response.status_code != 200:
        return {}
    return {int(v["version"]): v["state"] for v in response.json()["model_version_status"]}


def _wait(base_url: str, model: str, check: Callable[[dict[int, str]], bool]) -> None:
    deadline = time.monotonic() + AVAILABLE_WITHIN_S
    while time.monotonic() < deadline:
        if check(_state(base_url, model)):
            return
        time.sleep(0.2)
    raise AssertionError(f"{model}: {_state(base_url, model)}")


def _has(version: int, state: str) -> Callable[[dict[int, str]], bool]:
    return lambda states: states.get(version) == state


def _publish_onnx(base: Path, version: int) -> None:
    onnx_models.write_version(base, version, onnx_models.versioned(version))


def test_hot_swap_between_onnx_and_savedmodel_under_load(tmp_path: Path) -> None:
    base = tmp_path / "swap"
    base.mkdir()
    publish(base, 1)  # SavedModel
    config = tmp_path / "models.config"
    config.write_text(
        f'model_config_list {{ config {{ name: "swap" base_path: "{base}" '
        'model_platform: "auto" } }'
    )
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        f"--model_config_file={config}",
        "--file_system_poll_wait_seconds=1",
        "--enable_batching",
    ]
    with running_server(args, "/v1/models/swap") as server:
        _wait(server.base_url, "swap", lambda s: s.get(1) == "AVAILABLE")
        failures: list[str] = []
        answers: set[int] = set()
        stop = threading.Event()
        lock = threading.Lock()

        def rest_client() -> None:
            with httpx.Client(timeout=30) as client:
                while not stop.is_set():
                    url = f"{server.base_url}/v1/models/swap:predict"
                    response = client.post(url, json={"instances": [0.0]})
                    with lock:
                        if response.status_code != 200:
                            failures.append(response.text)
                        else:
                            answers.add(int(response.json()["predictions"][0]))

        def grpc_client() -> None:
            target = f"127.0.0.1:{server.grpc_port}"
            with grpc.insecure_channel(target, options=CLIENT_OPTIONS) as channel:
                stub = stubs(channel).predict
                while not stop.is_set():
                    request = predict_request("swap", x=float_tensor([0.0], [1]))
                    try:
                        response = stub.Predict(request, timeout=30)
                    except grpc.RpcError as error:
                        with lock:
                            failures.append(str(error))
                        continue
                    with lock:
                        answers.add(int(response.outputs["y"].float_val[0]))

        threads = [threading.Thread(target=rest_client, daemon=True) for _ in range(6)]
        threads += [threading.Thread(target=grpc_client, daemon=True) for _ in range(2)]
        for thread in threads:
            thread.start()
        try:
            for version in (2, 3, 4):
                if version % 2 == 0:
                    _publish_onnx(base, version)
                else:
                    publish(base, version)
                _wait(server.base_url, "swap", _has(version, "AVAILABLE"))
                _wait(server.base_url, "swap", _has(version - 1, "END"))
                time.sleep(1.0)  # some traffic on the new version alone
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
        assert failures == []
        assert answers == {1, 2, 3, 4}


def test_a_directory_with_both_formats_follows_the_configured_platform(
    tmp_path: Path, shared_models: Path
) -> None:
    base = tmp_path / "both"
    shutil.copytree(shared_models / "saved_model_half_plus_two_cpu" / "00000123", base / "1")
    onnx_models.write_version(tmp_path / "scratch", 1, onnx_models.half_plus_three())
    shutil.copy(tmp_path / "scratch" / "1" / "model.onnx", base / "1" / "model.onnx")
    entries = "".join(
        f'config {{ name: "{name}" base_path: "{base}" model_platform: "{platform}" }} '
        for name, platform in (("as_tf", "tensorflow"), ("as_onnx", "onnx"), ("as_auto", "auto"))
    )
    config = tmp_path / "models.config"
    config.write_text(f"model_config_list {{ {entries}}}")
    args = ["--port={grpc_port}", "--rest_api_port={rest_port}", f"--model_config_file={config}"]
    with running_server(args, "/v1/models/as_tf") as server:
        for name in ("as_tf", "as_onnx", "as_auto"):
            _wait(server.base_url, name, lambda s: s.get(1) == "AVAILABLE")
        answers = {}
        for name in ("as_tf", "as_onnx", "as_auto"):
            url = f"{server.base_url}/v1/models/{name}:predict"
            response = httpx.post(url, json={"instances": [1.0]}, timeout=30)
            answers[name] = response.json()["predictions"]
        # half_plus_two's SavedModel answers 2.5, the ONNX file (half_plus_three) 3.5.
        assert answers == {"as_tf": [2.5], "as_onnx": [3.5], "as_auto": [2.5]}
        # V2 metadata names the runtime that serves the version, also when `auto` chose it.
        platforms = {
            name: httpx.get(f"{server.base_url}/v2/models/{name}", timeout=30).json()["platform"]
            for name in ("as_tf", "as_onnx", "as_auto")
        }
        assert platforms == {
            "as_tf": "tensorflow_savedmodel",
            "as_onnx": "onnxruntime_onnx",
            "as_auto": "tensorflow_savedmodel",
        }

        # The real TF Serving client on the ONNX model: Predict and SignatureDef metadata.
        target = f"127.0.0.1:{server.grpc_port}"
        with grpc.insecure_channel(target, options=CLIENT_OPTIONS) as channel:
            stub = stubs(channel).predict
            request = predict_pb2.PredictRequest()
            request.model_spec.name = "as_onnx"
            request.inputs["x"].CopyFrom(tf.make_tensor_proto(np.array([1.0, 3.0], np.float32)))
            response = stub.Predict(request, timeout=30)
            assert tf.make_ndarray(response.outputs["y"]).tolist() == [3.5, 4.5]
            meta = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
            meta.model_spec.name = "as_onnx"
            answer = stub.GetModelMetadata(meta, timeout=30)
            signatures = get_model_metadata_pb2.SignatureDefMap()
            answer.metadata["signature_def"].Unpack(signatures)
            signature = signatures.signature_def["serving_default"]
            assert signature.method_name == "tensorflow/serving/predict"
            assert signature.inputs["x"].dtype == tf.float32.as_datatype_enum
            assert [d.size for d in signature.outputs["y"].tensor_shape.dim] == [-1]


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_tritonclient_on_onnx_models(tmp_path: Path, transport: str) -> None:
    import tritonclient.grpc as triton_grpc
    import tritonclient.http as triton_http

    onnx_models.write_version(tmp_path / "linear", 1, onnx_models.linear())
    onnx_models.write_version(tmp_path / "strings", 1, onnx_models.strings())
    args = [
        "serve",
        "--port={grpc_port}",
        "--rest-port={rest_port}",
        str(tmp_path / "linear"),
        str(tmp_path / "strings"),
    ]
    with running_server(args, "/v1/models/linear", program="pyserving") as server:
        _wait(server.base_url, "strings", _has(1, "AVAILABLE"))
        module: Any = triton_http if transport == "http" else triton_grpc
        port = server.rest_port if transport == "http" else server.grpc_port
        client = module.InferenceServerClient(f"127.0.0.1:{port}")
        try:
            assert client.is_model_ready("linear")
            metadata = client.get_model_metadata("linear")
            if transport == "grpc":
                metadata = {
                    "inputs": [{"name": t.name, "shape": list(t.shape)} for t in metadata.inputs]
                }
            assert [(t["name"], list(t["shape"])) for t in metadata["inputs"]] == [("x", [-1, 3])]
            x = np.array([[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]], np.float32)
            tensor = module.InferInput("x", list(x.shape), "FP32")
            tensor.set_data_from_numpy(x)
            result = client.infer("linear", [tensor])
            expected = x @ onnx_models.LINEAR_W + onnx_models.LINEAR_B
            np.testing.assert_allclose(result.as_numpy("y"), expected, rtol=1e-6)
            text = np.array([b"ab", b"Cd"], dtype=object)
            tensor = module.InferInput("text", [2], "BYTES")
            tensor.set_data_from_numpy(text)
            result = client.infer("strings", [tensor])
            assert result.as_numpy("upper").tolist() == [b"AB", b"CD"]
        finally:
            client.close()
