"""The gRPC adapter in-process: a real GrpcServer and ServingService over a TensorFlow-free fake
model, driven by the real ``tensorflow_serving.apis`` client stubs."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import REGISTRY, Counter
from tensorflow.core.example import example_pb2
from tensorflow.core.framework import tensor_pb2, types_pb2
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    inference_pb2,
    model_management_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
    regression_pb2,
)

from pyserving.api.grpc.server import GrpcServer
from pyserving.config.options import ServerOptions
from pyserving.service.core import ServingService
from pyserving.service.execution import ThreadRunner
from tests.unit.api.grpc_fakes import MODEL, SLEEP_SECONDS, VERSION, FakeServables

T = TypeVar("T")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Running:
    servables: FakeServables
    predict: prediction_service_pb2_grpc.PredictionServiceStub
    models: model_service_pb2_grpc.ModelServiceStub
    health: health_pb2_grpc.HealthStub


class Loop:
    """An event loop in a background thread, where the server lives (as in the real process)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()


@contextlib.contextmanager
def grpc_server(servables: FakeServables, options: ServerOptions) -> Iterator[GrpcServer]:
    loop = Loop()
    executor = ThreadPoolExecutor(4)
    server = GrpcServer(ServingService(servables, ThreadRunner(executor)), servables, options)
    loop.run(server.start())
    try:
        yield server
    finally:
        loop.run(server.stop(1.0))
        loop.close()
        executor.shutdown()


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    servables = FakeServables()
    options = ServerOptions(port=_free_port(), enable_grpc_healthcheck_service=True)
    with (
        grpc_server(servables, options) as server,
        grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel,
    ):
        yield Running(
            servables,
            prediction_service_pb2_grpc.PredictionServiceStub(channel),
            model_service_pb2_grpc.ModelServiceStub(channel),
            health_pb2_grpc.HealthStub(channel),
        )


def tensor(values: list[float], shape: list[int]) -> tensor_pb2.TensorProto:
    proto = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=values)
    for size in shape:
        proto.tensor_shape.dim.add().size = size
    return proto


def predict_request(signature: str = "", **inputs: tensor_pb2.TensorProto):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = MODEL
    request.model_spec.signature_name = signature
    for alias, proto in inputs.items():
        request.inputs[alias].CopyFrom(proto)
    return request


@dataclass
class Failure:
    """A failed call's status, with ``details()`` typed as str."""

    status: grpc.StatusCode
    message: str

    def code(self) -> grpc.StatusCode:
        return self.status

    def details(self) -> str:
        return self.message


def rpc_error(call, request, **kwargs) -> Failure:
    with pytest.raises(grpc.RpcError) as caught:
        call(request, **kwargs)
    error = caught.value
    return Failure(error.code(), error.details() or "")


def test_predict_echoes_spec_and_computes(running: Running) -> None:
    response = running.predict.Predict(predict_request(x=tensor([2.0], [1, 1])))
    assert list(response.outputs["y"].float_val) == [3.0]
    assert response.outputs["y"].dtype == types_pb2.DT_FLOAT
    assert [d.size for d in response.outputs["y"].tensor_shape.dim] == [1, 1]
    spec = response.model_spec
    assert (spec.name, spec.signature_name, spec.version.value) == (MODEL, "serving_default", 123)


def test_predict_output_filter(running: Running) -> None:
    request = predict_request("two_outputs", x=tensor([2.0], [1]))
    assert set(running.predict.Predict(request).outputs) == {"y", "y_again"}
    request.output_filter.append("y_again")
    assert set(running.predict.Predict(request).outputs) == {"y_again"}
    request.output_filter.append("nope")
    error = rpc_error(running.predict.Predict, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "output tensor alias not found in signature: nope" in error.details()


def test_version_and_label_resolution(running: Running) -> None:
    request = predict_request(x=tensor([2.0], [1]))
    request.model_spec.version.value = VERSION
    assert running.predict.Predict(request).model_spec.version.value == VERSION
    request.model_spec.version.value = 7
    error = rpc_error(running.predict.Predict, request)
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == f"Servable not found for request: Specific({MODEL}, 7)"
    request.model_spec.version_label = "stable"
    assert running.predict.Predict(request).model_spec.version.value == VERSION
    request.model_spec.version_label = "canary"
    error = rpc_error(running.predict.Predict, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "Unrecognized servable version label: canary"


def test_missing_model_spec(running: Running) -> None:
    for call, request in [
        (running.predict.Predict, predict_pb2.PredictRequest()),
        (running.predict.Classify, classification_pb2.ClassificationRequest()),
        (running.predict.Regress, regression_pb2.RegressionRequest()),
        (running.predict.GetModelMetadata, get_model_metadata_pb2.GetModelMetadataRequest()),
        (running.models.GetModelStatus, get_model_status_pb2.GetModelStatusRequest()),
    ]:
        error = rpc_error(call, request)
        assert (error.code(), error.details()) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "Missing ModelSpec",
        )


def test_errors_come_in_tf_serving_order(running: Running) -> None:
    bad = tensor([1.0, 2.0, 3.0], [2])  # more values than elements
    error = rpc_error(running.predict.Predict, predict_request("nope", x=bad))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error.details() == 'Serving signature key "nope" not found.'
    error = rpc_error(running.predict.Predict, predict_request(z=bad))  # count before parsing
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == (
        "input size does not match signature: 1!=1 len({z}) != len({x}). "
        "Sent extra: {z}. Missing but required: {x}."
    )
    error = rpc_error(running.predict.Predict, predict_request(x=bad))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("tensor parsing error: x (")
    error = rpc_error(running.predict.Predict, predict_request())
    assert error.details().startswith("input size does not match signature: 0!=1")


def test_long_messages_are_truncated_like_tf_serving(running: Running) -> None:
    request = predict_request(x=tensor([2.0], [1]))
    request.model_spec.name = "m" * 2000
    error = rpc_error(running.predict.Predict, request)
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert (
        error.details()
        == ("Servable not found for request: Latest(" + "m" * 2000)[:1024] + "...TRUNCATED"
    )


def test_unexpected_exception_is_internal_and_server_survives(running: Running) -> None:
    error = rpc_error(running.predict.Predict, predict_request("boom", x=tensor([2.0], [1])))
    assert error.code() == grpc.StatusCode.INTERNAL
    assert "the fake model exploded" in error.details()
    assert running.predict.Predict(predict_request(x=tensor([2.0], [1]))).outputs["y"].float_val


def test_client_deadline_becomes_run_timeout(running: Running) -> None:
    request = predict_request("slow", x=tensor([2.0], [1]))
    error = rpc_error(running.predict.Predict, request, timeout=0.3)
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    response = running.predict.Predict(predict_request(x=tensor([2.0], [1])), timeout=SLEEP_SECONDS)
    assert list(response.outputs["y"].float_val) == [3.0]


def examples(*xs: float) -> list[example_pb2.Example]:
    result = []
    for x in xs:
        example = example_pb2.Example()
        example.features.feature["x"].float_list.value.append(x)
        result.append(example)
    return result


def test_classify_regress_multi_inference(running: Running) -> None:
    classify = classification_pb2.ClassificationRequest()
    classify.model_spec.name = MODEL
    classify.model_spec.signature_name = "classify_x_to_y"
    classify.input.example_list.examples.extend(examples(2.0, 4.0))
    response = running.predict.Classify(classify)
    scores = [[c.score for c in row.classes] for row in response.result.classifications]
    assert scores == [[3.0], [4.0]]
    assert response.model_spec.signature_name == "classify_x_to_y"

    regress = regression_pb2.RegressionRequest()
    regress.model_spec.name = MODEL
    regress.model_spec.signature_name = "regress_x_to_y"
    regress.input.example_list_with_context.examples.extend(examples(2.0))
    regress.input.example_list_with_context.context.CopyFrom(examples(9.0)[0])
    response = running.predict.Regress(regress)
    assert [r.value for r in response.result.regressions] == [3.0]  # the example wins

    multi = inference_pb2.MultiInferenceRequest()
    for signature, method in [("classify_x_to_y", "classify"), ("regress_x_to_y", "regress")]:
        task = multi.tasks.add()
        task.model_spec.name = MODEL
        task.model_spec.signature_name = signature
        task.method_name = f"tensorflow/serving/{method}"
    multi.input.example_list.examples.extend(examples(2.0))
    results = running.predict.MultiInference(multi).results
    assert results[0].classification_result.classifications[0].classes[0].score == 3.0
    assert results[1].regression_result.regressions[0].value == 3.0
    assert [r.model_spec.signature_name for r in results] == ["classify_x_to_y", "regress_x_to_y"]

    regress.input.Clear()
    error = rpc_error(running.predict.Regress, regress)
    assert (error.code(), error.details()) == (grpc.StatusCode.INVALID_ARGUMENT, "Input is empty.")


def test_metadata_is_one_any_of_signature_def_map(running: Running) -> None:
    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    request.model_spec.name = MODEL
    response = running.predict.GetModelMetadata(request)
    assert (response.model_spec.name, response.model_spec.version.value) == (MODEL, VERSION)
    packed = response.metadata["signature_def"]
    assert packed.type_url == "type.googleapis.com/tensorflow.serving.SignatureDefMap"
    signatures = get_model_metadata_pb2.SignatureDefMap()
    assert packed.Unpack(signatures)
    assert signatures.signature_def["serving_default"].inputs["x"].name == "x:0"
    request.metadata_field[:] = ["other"]
    error = rpc_error(running.predict.GetModelMetadata, request)
    assert error.details() == "Metadata field other is not supported"


def test_model_status(running: Running) -> None:
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = MODEL
    (status,) = running.models.GetModelStatus(request).model_version_status
    assert (status.version, status.state, status.status.error_code) == (VERSION, 30, 0)
    request.model_spec.name = "unknown"
    error = rpc_error(running.models.GetModelStatus, request)
    assert (error.code(), error.details()) == (
        grpc.StatusCode.NOT_FOUND,
        "Could not find any versions of model unknown",
    )


def reload_request(*names: str) -> model_management_pb2.ReloadConfigRequest:
    request = model_management_pb2.ReloadConfigRequest()
    for name in names:
        entry = request.config.model_config_list.config.add()
        entry.name, entry.base_path, entry.model_platform = name, f"/models/{name}", "tensorflow"
    return request


def test_reload_config(running: Running) -> None:
    response = running.models.HandleReloadConfigRequest(reload_request(MODEL, "other"))
    assert response.status.error_code == 0
    assert [m.name for m in running.servables.reloaded[-1]] == [MODEL, "other"]
    assert list(response.metric) == []
    error = rpc_error(
        running.models.HandleReloadConfigRequest, model_management_pb2.ReloadConfigRequest()
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("ServerModelConfig type not supported")
    running.servables.fail_reload = True
    try:
        error = rpc_error(running.models.HandleReloadConfigRequest, reload_request(MODEL, "broken"))
    finally:
        running.servables.fail_reload = False
    assert error.code() == grpc.StatusCode.UNKNOWN
    assert error.details() == (
        "1 model(s) did not become available: {{{name: broken version: 2} due to error: "
        "NOT_FOUND: no SavedModel bundle in 2}, }"
    )


def test_reload_config_reports_metric_increases(running: Running) -> None:
    """Each metric_names entry gets the increase of that metric across the reload, read from
    prometheus_client's default registry by TF name (``/a/b``) or Prometheus name (``:a:b``)."""
    counter = Counter(":pyserving_test:reload_probe", "test only", ["model"])
    counter.labels("a").inc(2)
    try:

        def grow() -> None:
            counter.labels("a").inc(3)
            counter.labels("b").inc(4)

        running.servables.on_reload = grow
        request = reload_request(MODEL)
        request.metric_names.extend(
            ["/pyserving_test/reload_probe", ":pyserving_test:reload_probe", "/no/such/metric"]
        )
        response = running.models.HandleReloadConfigRequest(request)
    finally:
        running.servables.on_reload = None
        REGISTRY.unregister(counter)
    assert [(m.name, m.int64_value_increase) for m in response.metric] == [
        ("/pyserving_test/reload_probe", 7),
        (":pyserving_test:reload_probe", 7),
        ("/no/such/metric", 0),
    ]
    assert all(m.WhichOneof("value_increase") == "int64_value_increase" for m in response.metric)


def test_health_service(running: Running) -> None:
    for name in ("", "ModelService", "PredictionService"):
        response = running.health.Check(health_pb2.HealthCheckRequest(service=name))
        assert response.status == health_pb2.HealthCheckResponse.SERVING
    error = rpc_error(running.health.Check, health_pb2.HealthCheckRequest(service="Other"))
    assert error.code() == grpc.StatusCode.NOT_FOUND


def test_leases_are_released(running: Running) -> None:
    before = len(running.servables.released)
    running.predict.Predict(predict_request(x=tensor([2.0], [1])))
    rpc_error(running.predict.Predict, predict_request(x=tensor([1.0, 2.0, 3.0], [2])))
    assert len(running.servables.released) == before + 2
    assert np.all(np.array(running.servables.released) == VERSION)


def test_max_threads_and_graceful_stop(tmp_path: Path) -> None:
    """--grpc_max_threads=1: a second concurrent RPC is RESOURCE_EXHAUSTED, as under TF Serving's
    thread quota; stop() lets the in-flight RPC finish. Unix socket only (--port=0)."""
    socket_path = tmp_path / "grpc.sock"
    options = ServerOptions(port=0, grpc_socket_path=str(socket_path), grpc_max_threads=1)
    loop = Loop()
    executor = ThreadPoolExecutor(4)
    servables = FakeServables()
    server = GrpcServer(ServingService(servables, ThreadRunner(executor)), servables, options)
    try:
        loop.run(server.start())
        assert server.port is None
        with grpc.insecure_channel(f"unix:{socket_path}") as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            in_flight = stub.Predict.future(
                predict_request("slow", x=tensor([2.0], [1])), timeout=10
            )
            time.sleep(0.5)
            with pytest.raises(grpc.RpcError) as caught:
                stub.Predict(predict_request(x=tensor([2.0], [1])), timeout=2)
            assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            started = time.monotonic()
            loop.run(server.stop(5.0))  # returns once the slow call has been answered
            assert time.monotonic() - started > SLEEP_SECONDS - 1
            assert list(in_flight.result().outputs["y"].float_val) == [3.0]
            with pytest.raises(grpc.RpcError) as caught:
                stub.Predict(predict_request(x=tensor([2.0], [1])), timeout=2)
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        loop.close()
        executor.shutdown()
