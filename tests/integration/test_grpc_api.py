"""The gRPC API end to end: a real server process (one for this module, serving TF1 and TF2
half_plus_two and a slow model from a ModelServerConfig) and the real ``tensorflow_serving.apis``
client, over TCP and over the unix socket."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from tensorflow.core.framework import tensor_pb2
from tensorflow_serving.apis import get_model_metadata_pb2, model_management_pb2

from pyserving.config.options import GRPC_SERVERS
from tests.integration.grpc_support import (
    CLIENT_OPTIONS,
    Stubs,
    build_slow_model,
    classify_request,
    failure,
    float_tensor,
    metadata_request,
    multi_request,
    predict_request,
    regress_request,
    status_request,
    stubs,
)
from tests.integration.harness import ServerProcess, running_server

pytestmark = pytest.mark.slow

TF1, TF2, SLOW = "half_plus_two", "half_plus_two_tf2", "slow"
X_SHAPE = {TF1: [1, 1], TF2: [1]}  # the TF2 model's signatures are 1-D


@dataclass
class Served:
    server: ServerProcess
    socket_path: Path
    channels: dict[str, grpc.Channel]
    config_text: str

    def stubs(self, transport: str = "tcp") -> Stubs:
        return stubs(self.channels[transport])


def _config(shared: Path, slow_base: Path) -> str:
    entries = [
        (
            TF1,
            shared / "saved_model_half_plus_two_cpu",
            'version_labels { key: "stable" value: 123 }',
        ),
        (TF2, shared / "saved_model_half_plus_two_tf2_cpu", ""),
        (SLOW, slow_base, ""),
    ]
    body = "".join(
        f'config {{ name: "{name}" base_path: "{path}" model_platform: "tensorflow" {extra} }}\n'
        for name, path, extra in entries
    )
    return f"model_config_list {{\n{body}}}\n"


@pytest.fixture(scope="module", params=GRPC_SERVERS)
def served(
    request: pytest.FixtureRequest, shared_models: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    work = tmp_path_factory.mktemp("grpc_api")
    build_slow_model(work / "slow" / "1")
    config = work / "models.config"
    config_text = _config(shared_models, work / "slow")
    config.write_text(config_text)
    socket_path = work / "grpc.sock"
    stale = socket.socket(socket.AF_UNIX)  # a socket file left behind by a dead server
    stale.bind(str(socket_path))
    stale.close()
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        f"--model_config_file={config}",
        f"--grpc_socket_path={socket_path}",
        "--enable_grpc_healthcheck_service",
        "--allow_version_labels_for_unavailable_models",
        "--max_num_load_retries=0",  # a failing reload fails at once
        f"--grpc_server={request.param}",
        "--grpc_channel_arguments=grpc.so_reuseaddr=1,grpc.max_concurrent_streams=100,"
        "grpc.primary_user_agent=pyserving-test",
    ]
    with running_server(args, f"/v1/models/{TF1}") as server:
        channels = {
            "tcp": grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}", CLIENT_OPTIONS),
            "unix": grpc.insecure_channel(f"unix:{socket_path}", CLIENT_OPTIONS),
        }
        try:
            yield Served(server, socket_path, channels, config_text)
        finally:
            for channel in channels.values():
                channel.close()


def test_startup_logs(served: Served) -> None:
    output = served.server.output
    assert f"Running gRPC ModelServer at 0.0.0.0:{served.server.grpc_port} ..." in output
    assert f"Running gRPC ModelServer at UNIX socket {served.socket_path} ..." in output


@pytest.mark.parametrize("transport", ["tcp", "unix"])
@pytest.mark.parametrize("model", [TF1, TF2])
def test_predict(served: Served, model: str, transport: str) -> None:
    typed = float_tensor([2.0], X_SHAPE[model])
    content = float_tensor([], X_SHAPE[model])
    content.tensor_content = np.float32(2.0).tobytes()  # raw little-endian bytes
    for x in (typed, content):
        response = served.stubs(transport).predict.Predict(predict_request(model, x=x))
        np.testing.assert_array_equal(tf.make_ndarray(response.outputs["y"]).reshape(-1), [3.0])
        assert response.outputs["y"].dtype == tf.float32.as_datatype_enum
        spec = response.model_spec
        assert (spec.name, spec.signature_name, spec.version.value) == (
            model,
            "serving_default",
            123,
        )


def test_output_filter(served: Served) -> None:
    predict = served.stubs().predict.Predict
    request = predict_request(TF1, x=float_tensor([2.0], [1, 1]))
    request.output_filter.append("y")
    assert list(predict(request).outputs) == ["y"]
    request.output_filter.append("y")
    assert failure(predict, request) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "duplicate output tensor alias: y",
    )
    request.output_filter[:] = ["nope"]
    code, message = failure(predict, request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert message.startswith("output tensor alias not found in signature: nope")


@pytest.mark.parametrize("model", [TF1, TF2])
def test_classify_regress(served: Served, model: str) -> None:
    predict = served.stubs().predict
    classified = predict.Classify(classify_request(model, "classify_x_to_y", 2.0))
    assert classified.result.classifications[0].classes[0].score == 3.0
    assert classified.model_spec.signature_name == "classify_x_to_y"
    regressed = predict.Regress(regress_request(model, "regress_x_to_y", 2.0, 4.0))
    assert [r.value for r in regressed.result.regressions] == [3.0, 4.0]
    assert (regressed.model_spec.name, regressed.model_spec.version.value) == (model, 123)


def test_multi_inference(served: Served) -> None:
    multi = served.stubs().predict.MultiInference
    tasks = [("classify_x_to_y", "classify"), ("regress_x_to_y", "regress")]
    results = multi(multi_request(TF1, tasks, 2.0)).results
    assert results[0].classification_result.classifications[0].classes[0].score == 3.0
    assert results[1].regression_result.regressions[0].value == 3.0
    assert [r.model_spec.signature_name for r in results] == ["classify_x_to_y", "regress_x_to_y"]
    assert {r.model_spec.version.value for r in results} == {123}
    # The TF2 model: its signatures each have their own input tensor; the Examples are fed to
    # both in one run, as current TF Serving does.
    (result,) = multi(multi_request(TF2, tasks[1:], 2.0)).results
    assert result.regression_result.regressions[0].value == 3.0
    results = multi(multi_request(TF2, tasks, 2.0)).results
    assert results[0].classification_result.classifications[0].classes[0].score == 3.0
    assert results[1].regression_result.regressions[0].value == 3.0
    assert [r.model_spec.signature_name for r in results] == ["classify_x_to_y", "regress_x_to_y"]
    assert {(r.model_spec.name, r.model_spec.version.value) for r in results} == {(TF2, 123)}
    code, message = failure(
        multi, multi_request(TF1, [tasks[0], ("serving_default", "predict")], 2.0)
    )
    assert code == grpc.StatusCode.UNIMPLEMENTED
    assert message == "Unsupported signature method_name: tensorflow/serving/predict"


def test_metadata(served: Served, shared_models: Path) -> None:
    get = served.stubs().predict.GetModelMetadata
    response = get(metadata_request(TF1, "signature_def"))
    assert (response.model_spec.name, response.model_spec.version.value) == (TF1, 123)
    packed = response.metadata["signature_def"]
    assert packed.type_url == "type.googleapis.com/tensorflow.serving.SignatureDefMap"
    signatures = get_model_metadata_pb2.SignatureDefMap()
    assert packed.Unpack(signatures)
    reference = json.loads((shared_models / "half_plus_two_model_metadata.json").read_text())
    assert set(signatures.signature_def) == set(
        reference["metadata"]["signature_def"]["signature_def"]
    )
    assert signatures.signature_def["serving_default"].inputs["x"].name == "x:0"
    assert failure(get, metadata_request(TF1)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "GetModelMetadataRequest must specify at least one metadata_field",
    )


def test_model_status(served: Served) -> None:
    status = served.stubs().models.GetModelStatus
    (version,) = status(status_request(TF1)).model_version_status
    assert (version.version, version.state, version.status.error_code) == (123, 30, 0)
    assert len(status(status_request(TF2, 123)).model_version_status) == 1
    assert failure(status, status_request(TF1, 7)) == (
        grpc.StatusCode.NOT_FOUND,
        f"Could not find version 7 of model {TF1}",
    )
    assert failure(status, status_request("nope")) == (
        grpc.StatusCode.NOT_FOUND,
        "Could not find any versions of model nope",
    )


def test_version_and_label_resolution(served: Served) -> None:
    predict = served.stubs().predict.Predict
    request = predict_request(TF1, x=float_tensor([2.0], [1, 1]))
    request.model_spec.version.value = 123
    assert predict(request).model_spec.version.value == 123
    request.model_spec.version.value = 7
    assert failure(predict, request) == (
        grpc.StatusCode.NOT_FOUND,
        f"Servable not found for request: Specific({TF1}, 7)",
    )
    request.model_spec.version_label = "stable"
    assert predict(request).model_spec.version.value == 123
    request.model_spec.version_label = "canary"
    assert failure(predict, request) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "Unrecognized servable version label: canary",
    )
    request.model_spec.Clear()
    request.model_spec.name = "nope"
    assert failure(predict, request) == (
        grpc.StatusCode.NOT_FOUND,
        "Servable not found for request: Latest(nope)",
    )
    request.model_spec.name = ""
    assert failure(predict, request) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "ModelSpec has no name specified.",
    )


@pytest.mark.parametrize("transport", ["tcp", "unix"])
def test_health_service(served: Served, transport: str) -> None:
    health = health_pb2_grpc.HealthStub(served.channels[transport])
    for name in ("", "ModelService", "PredictionService"):
        status = health.Check(health_pb2.HealthCheckRequest(service=name)).status
        assert status == health_pb2.HealthCheckResponse.SERVING


def test_request_larger_than_4mb(served: Served) -> None:
    rows = 2_000_000  # 8 MB of float32 in, 8 MB out
    x = tf.make_tensor_proto(np.full((rows, 1), 2.0, dtype=np.float32))
    assert x.ByteSize() > 4 * 1024 * 1024
    response = served.stubs().predict.Predict(predict_request(TF1, x=x), timeout=60)
    y = tf.make_ndarray(response.outputs["y"])
    assert y.shape == (rows, 1) and float(y[0, 0]) == 3.0 and float(y[-1, 0]) == 3.0


def reload_request(config_text: str, *added: tuple[str, Path]):
    request = model_management_pb2.ReloadConfigRequest()
    text_format.Parse(config_text, request.config)
    for name, path in added:
        entry = request.config.model_config_list.config.add()
        entry.name, entry.base_path, entry.model_platform = name, str(path), "tensorflow"
    return request


def test_reload_config(served: Served, shared_models: Path) -> None:
    stubs = served.stubs()
    reload = stubs.models.HandleReloadConfigRequest
    added = ("added", shared_models / "saved_model_half_plus_two_2_versions")
    response = reload(reload_request(served.config_text, added), timeout=60)
    assert response.status.error_code == 0
    (version,) = stubs.models.GetModelStatus(status_request("added")).model_version_status
    assert (version.version, version.state) == (124, 30)  # blocked until AVAILABLE
    response = stubs.predict.Predict(predict_request("added", x=float_tensor([2.0], [1, 1])))
    assert list(response.outputs["y"].float_val) == [3.0]

    broken = ("broken", shared_models / "bad_half_plus_two")
    code, message = failure(reload, reload_request(served.config_text, added, broken), timeout=60)
    assert code == grpc.StatusCode.UNKNOWN
    assert message.startswith(
        "1 model(s) did not become available: {{{name: broken version: 123} due to error: "
    ), message

    assert failure(reload, model_management_pb2.ReloadConfigRequest())[0] == (
        grpc.StatusCode.INVALID_ARGUMENT
    )
    reload(reload_request(served.config_text), timeout=60)  # back to the startup models
    good_request_succeeds(served)


def good_request_succeeds(served: Served) -> None:
    response = served.stubs().predict.Predict(predict_request(TF1, x=float_tensor([2.0], [1, 1])))
    assert list(response.outputs["y"].float_val) == [3.0]


def test_client_deadline_on_a_slow_model(served: Served) -> None:
    predict = served.stubs().predict.Predict
    started = time.monotonic()
    code, _ = failure(predict, predict_request(SLOW, x=float_tensor([2.0], [1, 1])), timeout=0.5)
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - started < 2.0
    good_request_succeeds(served)  # while the slow run may still be spinning


def _tensor(dtype: int, shape: list[int], **fields: Any) -> tensor_pb2.TensorProto:
    proto = float_tensor([], shape)
    proto.dtype = dtype
    for name, values in fields.items():
        if name == "tensor_content":
            proto.tensor_content = values
        else:
            getattr(proto, name).extend(values)
    return proto


FLOAT, INT32 = tf.float32.as_datatype_enum, tf.int32.as_datatype_enum
GIB = 1 << 30

BAD_REQUESTS: dict[str, tuple[Callable[[], object], grpc.StatusCode, str]] = {
    "content_shape_mismatch": (
        lambda: predict_request(TF1, x=_tensor(FLOAT, [2, 1], tensor_content=b"\0\0\0\0")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "tensor parsing error: x",
    ),
    "more_values_than_shape": (
        lambda: predict_request(TF1, x=_tensor(FLOAT, [1, 1], float_val=[1.0, 2.0])),
        grpc.StatusCode.INVALID_ARGUMENT,
        "tensor parsing error: x",
    ),
    "negative_dims": (
        lambda: predict_request(TF1, x=_tensor(FLOAT, [-1, 1], float_val=[2.0])),
        grpc.StatusCode.INVALID_ARGUMENT,
        "tensor parsing error: x",
    ),
    "gigabyte_shape_tiny_payload": (
        lambda: predict_request(TF1, x=_tensor(FLOAT, [GIB, 4], float_val=[2.0])),
        grpc.StatusCode.INVALID_ARGUMENT,
        "tensor parsing error: x",
    ),
    "gigabyte_zero_fill": (
        lambda: predict_request(TF1, x=_tensor(FLOAT, [GIB, GIB])),
        grpc.StatusCode.INVALID_ARGUMENT,
        "tensor parsing error: x",
    ),
    "dt_invalid": (
        lambda: predict_request(TF1, x=_tensor(0, [1, 1], float_val=[2.0])),
        grpc.StatusCode.INVALID_ARGUMENT,
        "tensor parsing error: x",
    ),
    "dtype_field_mismatch": (
        lambda: predict_request(TF1, x=_tensor(FLOAT, [1, 1], int_val=[2])),
        grpc.StatusCode.INVALID_ARGUMENT,
        "tensor parsing error: x",
    ),
    "wrong_dtype_for_signature": (
        lambda: predict_request(TF1, x=_tensor(INT32, [1, 1], int_val=[2])),
        grpc.StatusCode.INVALID_ARGUMENT,
        "",
    ),
    "unknown_alias": (
        lambda: predict_request(TF1, z=float_tensor([2.0], [1, 1])),
        grpc.StatusCode.INVALID_ARGUMENT,
        "input size does not match signature: 1!=1 len({z}) != len({x}).",
    ),
    "extra_input": (
        lambda: predict_request(TF1, x=float_tensor([2.0], [1, 1]), z=float_tensor([2.0], [1])),
        grpc.StatusCode.INVALID_ARGUMENT,
        "input size does not match signature: 2!=1",
    ),
    "missing_input": (
        lambda: predict_request(TF1),
        grpc.StatusCode.INVALID_ARGUMENT,
        "input size does not match signature: 0!=1",
    ),
    "unknown_signature": (
        lambda: predict_request(TF1, "nope", x=float_tensor([2.0], [1, 1])),
        grpc.StatusCode.FAILED_PRECONDITION,
        'Serving signature key "nope" not found.',
    ),
    "missing_model_spec": (
        lambda: predict_request(TF1, x=float_tensor([2.0], [1, 1])).__class__(),
        grpc.StatusCode.INVALID_ARGUMENT,
        "Missing ModelSpec",
    ),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_bad_request_then_good_request(served: Served, case: str) -> None:
    build, expected_code, prefix = BAD_REQUESTS[case]
    code, message = failure(served.stubs().predict.Predict, build())
    assert code == expected_code, message
    assert message.startswith(prefix), message
    good_request_succeeds(served)


def test_server_reflection(served: Served) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(served.channels["tcp"])
    requests = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(
            file_containing_symbol="tensorflow.serving.PredictionService"
        ),
    ]
    listed, described = list(stub.ServerReflectionInfo(iter(requests), timeout=30))
    names = {service.name for service in listed.list_services_response.service}
    assert {
        "tensorflow.serving.PredictionService",
        "tensorflow.serving.ModelService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    } <= names
    files = described.file_descriptor_response.file_descriptor_proto
    assert any(b"PredictionService" in file for file in files)
