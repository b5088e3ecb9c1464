"""--max_tensor_elements_per_request on every protocol, against a real server: a request whose
inputs hold more elements than the cap gets INVALID_ARGUMENT / 400 naming the flag (on gRPC
before the fill rule expands anything), one at the cap is served."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest

from pyserving.protos import grpc_predict_v2_pb2 as pb
from pyserving.protos import grpc_predict_v2_pb2_grpc as pb_grpc
from tests.integration.grpc_support import float_tensor, predict_request, stubs
from tests.integration.harness import ServerProcess, running_server

pytestmark = pytest.mark.slow

MODEL = "hp"  # half_plus_two: x (float, [-1]) -> y
CAP = 8
FLAG = "--max_tensor_elements_per_request"


@pytest.fixture(scope="module")
def server(shared_models: Path) -> Iterator[ServerProcess]:
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        f"--model_name={MODEL}",
        f"--model_base_path={shared_models / 'saved_model_half_plus_two_cpu'}",
        f"{FLAG}={CAP}",
    ]
    with running_server(args, f"/v1/models/{MODEL}") as process:
        yield process


@pytest.fixture(scope="module")
def channel(server: ServerProcess) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as opened:
        yield opened


def _refused(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    message = response.json()["error"]
    assert FLAG in message and f"limit of {CAP} elements" in message, message


def _values(count: int) -> list[float]:
    return [float(i) for i in range(count)]


@pytest.mark.parametrize(
    "body",
    [
        lambda n: {"instances": _values(n)},  # row format
        lambda n: {"inputs": _values(n)},  # columnar format
        lambda n: {"inputs": {"x": _values(n)}},
    ],
)
def test_rest_tf_serving(server: ServerProcess, body: object) -> None:
    url = f"{server.base_url}/v1/models/{MODEL}:predict"
    assert httpx.post(url, json=body(CAP), timeout=30).status_code == 200  # type: ignore[operator]
    _refused(httpx.post(url, json=body(CAP + 1), timeout=30))  # type: ignore[operator]


def _v2_json(count: int) -> dict[str, object]:
    return {"inputs": [{"name": "x", "shape": [count], "datatype": "FP32", "data": _values(count)}]}


def test_rest_v2_json(server: ServerProcess) -> None:
    url = f"{server.base_url}/v2/models/{MODEL}/infer"
    assert httpx.post(url, json=_v2_json(CAP), timeout=30).status_code == 200
    _refused(httpx.post(url, json=_v2_json(CAP + 1), timeout=30))


def test_rest_v2_binary(server: ServerProcess) -> None:
    url = f"{server.base_url}/v2/models/{MODEL}/infer"
    for count, status in ((CAP, 200), (CAP + 1, 400)):
        raw = struct.pack(f"<{count}f", *_values(count))
        tensor: dict[str, object] = {"name": "x", "shape": [count], "datatype": "FP32"}
        tensor["parameters"] = {"binary_data_size": len(raw)}
        header = json.dumps({"inputs": [tensor]}).encode()
        response = httpx.post(
            url,
            content=header + raw,
            headers={
                "Inference-Header-Content-Length": str(len(header)),
                "Content-Type": "application/octet-stream",
            },
            timeout=30,
        )
        if status == 400:
            _refused(response)
        else:
            assert response.status_code == 200, response.text


def _grpc_refused(call: object, request: object) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        call(request, timeout=30)  # type: ignore[operator]
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert FLAG in (caught.value.details() or "")


def test_grpc_tf_serving_including_the_fill_rule(channel: grpc.Channel) -> None:
    predict = stubs(channel).predict.Predict
    assert predict(predict_request(MODEL, x=float_tensor(_values(CAP), [CAP])), timeout=30)
    # One value repeated to fill a shape: refused from the shape, before anything is built.
    _grpc_refused(predict, predict_request(MODEL, x=float_tensor([1.0], [CAP + 1])))
    _grpc_refused(predict, predict_request(MODEL, x=float_tensor([1.0], [10**12])))
    # Two inputs under the cap each, over it together (the unknown one is never decoded).
    two = predict_request(MODEL, x=float_tensor([1.0], [CAP]), extra=float_tensor([1.0], [1]))
    _grpc_refused(predict, two)


def test_grpc_v2_typed_and_raw_contents(channel: grpc.Channel) -> None:
    stub = pb_grpc.GRPCInferenceServiceStub(channel)
    for count in (CAP, CAP + 1):
        typed = pb.ModelInferRequest(model_name=MODEL)
        typed.inputs.add(name="x", datatype="FP32", shape=[count])
        typed.inputs[0].contents.fp32_contents.extend(_values(count))
        raw = pb.ModelInferRequest(model_name=MODEL)
        raw.inputs.add(name="x", datatype="FP32", shape=[count])
        raw.raw_input_contents.append(struct.pack(f"<{count}f", *_values(count)))
        for request in (typed, raw):
            if count == CAP:
                assert stub.ModelInfer(request, timeout=30).outputs
            else:
                _grpc_refused(stub.ModelInfer, request)
