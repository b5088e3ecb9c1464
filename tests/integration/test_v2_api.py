"""The Open Inference Protocol (V2) end to end: Triton's real clients (``tritonclient.http`` and
``tritonclient.grpc``) against the shared test server, the demo model loaded and unloaded through
the repository extension, and raw requests for every kind of bad input, each followed by a good
request (the server loses nothing)."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np
import pytest
import tritonclient.grpc as triton_grpc
import tritonclient.http as triton_http
from tritonclient.utils import InferenceServerException

from pyserving.protos import grpc_predict_v2_pb2 as pb
from pyserving.protos import grpc_predict_v2_pb2_grpc as pb_grpc
from tests.integration import models
from tests.integration.conftest import DEFAULT, MAX_BODY_BYTES, TF2, TWO_VERSIONS, error_of
from tests.integration.harness import ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[2]
TRANSPORTS = ("http", "grpc")
Client = Any  # triton_http.InferenceServerClient | triton_grpc.InferenceServerClient


@pytest.fixture(scope="module", params=TRANSPORTS)
def triton(
    request: pytest.FixtureRequest, rest_server: ServerProcess
) -> Iterator[tuple[Any, Client]]:
    """(the tritonclient module, a client of it) for each transport."""
    if request.param == "http":
        client = triton_http.InferenceServerClient(f"127.0.0.1:{rest_server.rest_port}")
        yield triton_http, client
    else:
        client = triton_grpc.InferenceServerClient(f"127.0.0.1:{rest_server.grpc_port}")
        yield triton_grpc, client
    client.close()


def _input(module: Any, name: str, array: np.ndarray, datatype: str, **kwargs: Any) -> Any:
    tensor = module.InferInput(name, list(array.shape), datatype)
    tensor.set_data_from_numpy(array, **kwargs)
    return tensor


def _response(module: Any, result: Any) -> dict[str, Any]:
    """The response document of an InferResult (gRPC's as JSON)."""
    if module is triton_grpc:
        document: dict[str, Any] = result.get_response(as_json=True)
        return document
    return dict(result.get_response())


# -- tritonclient, both transports ----------------------------------------------------------------


def test_server_and_model_health(triton: tuple[Any, Client]) -> None:
    _, client = triton
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready(DEFAULT)
    assert client.is_model_ready(TWO_VERSIONS, "123")
    assert not client.is_model_ready(TWO_VERSIONS, "7")
    assert not client.is_model_ready("no_such_model")


def test_server_metadata(triton: tuple[Any, Client]) -> None:
    module, client = triton
    meta = client.get_server_metadata()
    if module is triton_grpc:
        meta = {"name": meta.name, "extensions": list(meta.extensions)}
    assert meta["name"] == "pyserving"
    assert {"binary_tensor_data", "model_repository"} <= set(meta["extensions"])


def test_model_metadata(triton: tuple[Any, Client]) -> None:
    module, client = triton
    meta = client.get_model_metadata(TWO_VERSIONS)
    if module is triton_grpc:
        tensors = [
            {"name": t.name, "datatype": t.datatype, "shape": list(t.shape)} for t in meta.inputs
        ]
        meta = {
            "name": meta.name,
            "versions": list(meta.versions),
            "platform": meta.platform,
            "inputs": tensors,
        }
    assert meta["name"] == TWO_VERSIONS
    assert meta["versions"] == ["123", "124"]
    assert meta["platform"] == "tensorflow_savedmodel"
    assert meta["inputs"] == [{"name": "x", "datatype": "FP32", "shape": [-1, 1]}]


@pytest.mark.parametrize("model", [DEFAULT, TF2])
def test_infer_half_plus_two_with_numpy(triton: tuple[Any, Client], model: str) -> None:
    # TF2's half_plus_two declares x as [1]: V2 clients still get answers for [3, 1].
    module, client = triton
    x = np.array([[1.0], [2.0], [5.0]], np.float32)
    result = client.infer(model, [_input(module, "x", x, "FP32")], request_id="req-7")
    np.testing.assert_array_equal(result.as_numpy("y"), [[2.5], [3.0], [4.5]])
    assert _response(module, result)["id"] == "req-7"


def test_infer_a_version(triton: tuple[Any, Client]) -> None:
    module, client = triton
    x = np.array([[2.0]], np.float32)
    result = client.infer(TWO_VERSIONS, [_input(module, "x", x, "FP32")], model_version="123")
    assert _response(module, result)["model_version"] == "123"
    np.testing.assert_array_equal(result.as_numpy("y"), [[3.0]])


@pytest.mark.parametrize(
    ("binary_in", "binary_out"), [(False, False), (True, False), (False, True), (True, True)]
)
def test_http_binary_extension_both_ways(
    rest_server: ServerProcess, binary_in: bool, binary_out: bool
) -> None:
    client = triton_http.InferenceServerClient(f"127.0.0.1:{rest_server.rest_port}")
    try:
        a = np.array([1.0, 2.0, 3.0], np.float32)
        b = np.array([0.5, 0.5, 0.5], np.float32)
        inputs = [
            _input(triton_http, "a", a, "FP32", binary_data=binary_in),
            _input(triton_http, "b", b, "FP32", binary_data=not binary_in),
        ]
        outputs = [triton_http.InferRequestedOutput("diff", binary_data=binary_out)]
        result = client.infer(models.TWO_INPUTS, inputs, outputs=outputs)
        response = result.get_response()
        assert [o["name"] for o in response["outputs"]] == ["diff"]  # only what was asked
        assert ("data" in response["outputs"][0]) is not binary_out
        np.testing.assert_array_equal(result.as_numpy("diff"), a - b)
    finally:
        client.close()


def test_bytes_tensors(triton: tuple[Any, Client]) -> None:
    module, client = triton
    text = np.array([b"hello", b"", "héllo".encode()], dtype=object)
    result = client.infer(models.STRINGS, [_input(module, "text", text, "BYTES")])
    assert result.as_numpy("echo").tolist() == text.tolist()
    np.testing.assert_array_equal(result.as_numpy("length"), [5, 0, 6])


def test_non_utf8_bytes_come_back_intact(triton: tuple[Any, Client]) -> None:
    module, client = triton
    text = np.array([b"\xff\x00\xfe"], dtype=object)
    outputs = None
    if module is triton_http:
        outputs = [triton_http.InferRequestedOutput("echo_bytes", binary_data=False)]
    result = client.infer(models.STRINGS, [_input(module, "text", text, "BYTES")], outputs=outputs)
    assert result.as_numpy("echo_bytes").tolist() == [b"\xff\x00\xfe"]


def test_fp16_and_int32(triton: tuple[Any, Client]) -> None:
    module, client = triton
    h = np.array([0.5, 1.5, 1024.0], np.float16)
    result = client.infer(models.HALF_INPUT, [_input(module, "h", h, "FP16")])
    np.testing.assert_array_equal(result.as_numpy("y"), h.astype(np.float32))
    n = np.array([-3, 2**30], np.int32)
    result = client.infer(models.INT32, [_input(module, "n", n, "INT32")])
    assert result.as_numpy("doubled").dtype == np.int32
    np.testing.assert_array_equal(result.as_numpy("doubled"), n * 2)


def test_bad_request_is_an_exception_then_serving_goes_on(triton: tuple[Any, Client]) -> None:
    module, client = triton
    x = np.array([[1.0]], np.float64)
    with pytest.raises(InferenceServerException) as caught:
        client.infer(DEFAULT, [_input(module, "x", x, "FP64")])
    assert "has datatype FP64, but the model expects FP32" in caught.value.message()
    expected = "400" if module is triton_http else "StatusCode.INVALID_ARGUMENT"
    assert caught.value.status() == expected
    good = client.infer(DEFAULT, [_input(module, "x", x.astype(np.float32), "FP32")])
    np.testing.assert_array_equal(good.as_numpy("y"), [[2.5]])


# -- the repository extension with the demo model ----------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, shared_models: Path) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("demo")
    built = subprocess.run(
        [
            sys.executable,
            str(REPO / "demo" / "build_demo.py"),
            "--out",
            str(out),
            "--shared",
            str(shared_models),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    summary = json.loads((out / "build_summary.json").read_text())
    pixels = json.loads((out / "sample_digits.json").read_text())["instances"][0]
    return {"base_path": str(out / "digits"), "pixels": pixels, "summary": summary}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_load_infer_unload_reload_the_demo_model(
    rest_server: ServerProcess, demo: dict[str, Any], transport: str
) -> None:
    name = f"digits_{transport}"
    module: Any = triton_http if transport == "http" else triton_grpc
    port = rest_server.rest_port if transport == "http" else rest_server.grpc_port
    client = module.InferenceServerClient(f"127.0.0.1:{port}")
    try:
        assert not client.is_model_ready(name)
        with pytest.raises(InferenceServerException, match="not in the model repository"):
            client.load_model(name)
        config = json.dumps({"base_path": demo["base_path"], "version_policy": {"all": {}}})
        client.load_model(name, config=config)
        assert client.is_model_ready(name)
        # The load answers once a version is AVAILABLE; the other one may still be loading.
        deadline = time.monotonic() + 60
        while not client.is_model_ready(name, "1") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert client.is_model_ready(name, "1")

        pixels = np.array([demo["pixels"]], np.float32)
        result = client.infer(name, [_input(module, "pixels", pixels, "FP32")])
        label = demo["summary"]["sample"]["label"]
        assert result.as_numpy("class_id").tolist() == [label]
        assert result.as_numpy("probabilities").shape == (1, 10)
        # Version 1 (the weaker one) is served too and answers what the build recorded.
        result = client.infer(name, [_input(module, "pixels", pixels, "FP32")], model_version="1")
        assert result.as_numpy("class_id").tolist() == [demo["summary"]["sample"]["predicted"]["1"]]

        client.unload_model(name)
        assert not client.is_model_ready(name)
        index = client.get_model_repository_index()
        rows = (
            index
            if module is triton_http
            else [{"name": m.name, "state": m.state, "reason": m.reason} for m in index.models]
        )
        assert {"name": name, "state": "UNAVAILABLE", "reason": "unloaded"}.items() <= next(
            r for r in rows if r["name"] == name
        ).items()
        assert any(r["name"] == DEFAULT and r["state"] == "READY" for r in rows)

        client.load_model(name)  # back as it was, without a config
        assert client.is_model_ready(name, "2")
    finally:
        try:
            client.unload_model(name)
        finally:
            client.close()


# -- raw HTTP: every kind of bad input, each followed by a good request ---------------------------


def _infer_url(model: str) -> str:
    return f"/v2/models/{model}/infer"


def _good(client: httpx.Client) -> None:
    body = {"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1.0, 2.0]}]}
    response = client.post(_infer_url(DEFAULT), json=body)
    assert response.status_code == 200, response.text
    assert response.json()["outputs"][0]["data"] == [2.5, 3.0]


def _binary(
    header: dict[str, Any], tail: bytes, header_length: int | None = None
) -> tuple[bytes, dict[str, str]]:
    text = json.dumps(header).encode()
    length = len(text) if header_length is None else header_length
    return text + tail, {"Inference-Header-Content-Length": str(length)}


def _x(**tensor: Any) -> dict[str, Any]:
    return {"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", **tensor}]}


_BAD_JSON: list[tuple[str, str, Any, str]] = [
    (
        "wrong datatype",
        DEFAULT,
        _x(datatype="INT32", data=[1, 2]),
        "has datatype INT32, but the model expects FP32",
    ),
    (
        "unknown datatype",
        DEFAULT,
        _x(datatype="FLOAT", data=[1, 2]),
        "'FLOAT', which is not a V2 datatype",
    ),
    ("numbers as strings", DEFAULT, _x(data=["1", "2"]), "are not all numbers"),
    (
        "shape and data disagree",
        DEFAULT,
        _x(data=[1.0, 2.0, 3.0]),
        "has shape [2] (2 elements), but its 'data' has 3",
    ),
    ("ragged nested data", DEFAULT, _x(shape=[2, 2], data=[[1.0, 2.0], [3.0]]), "uneven lengths"),
    ("negative dimension", DEFAULT, _x(shape=[-2], data=[1.0, 2.0]), "dimensions must be >= 0"),
    ("no data", DEFAULT, _x(), "has no 'data'"),
    (
        "unknown input",
        DEFAULT,
        {"inputs": [{"name": "z", "shape": [1], "datatype": "FP32", "data": [1]}]},
        "z",
    ),
    (
        "missing input",
        models.TWO_INPUTS,
        {"inputs": [{"name": "a", "shape": [1], "datatype": "FP32", "data": [1]}]},
        "Missing but required: {b}",
    ),
    (
        "unknown output",
        DEFAULT,
        {**_x(data=[1, 2]), "outputs": [{"name": "nope"}]},
        "output tensor alias not found",
    ),
    (
        "unknown signature",
        DEFAULT,
        {**_x(data=[1, 2]), "parameters": {"signature_name": "nope"}},
        '"nope" not found',
    ),
    ("no inputs", DEFAULT, {"inputs": []}, "non-empty 'inputs' array"),
    ("not an object", DEFAULT, [1, 2], "must be a JSON object"),
    ("input given twice", DEFAULT, {"inputs": _x(data=[1, 2])["inputs"] * 2}, "given twice"),
]


@pytest.mark.parametrize(
    ("case", "model", "body", "words"), _BAD_JSON, ids=[c[0] for c in _BAD_JSON]
)
def test_bad_json_requests(
    client: httpx.Client, case: str, model: str, body: Any, words: str
) -> None:
    assert words in error_of(client.post(_infer_url(model), json=body), 400)
    _good(client)


def test_invalid_json_and_unknown_model(client: httpx.Client) -> None:
    assert "not valid JSON" in error_of(client.post(_infer_url(DEFAULT), content=b"{nope"), 400)
    _good(client)
    error_of(client.post(_infer_url("no_such_model"), json=_x(data=[1, 2])), 404)
    _good(client)


_SIZE_8 = {"parameters": {"binary_data_size": 8}}
_BAD_BINARY: list[tuple[str, dict[str, Any], bytes, int | None, str]] = [
    ("sizes leave bytes over", _x(**_SIZE_8), b"\0" * 12, None, "4 bytes of binary data follow"),
    (
        "sizes exceed the body",
        _x(parameters={"binary_data_size": 16}),
        b"\0" * 8,
        None,
        "only 8 bytes",
    ),
    (
        "size does not fit the shape",
        _x(parameters={"binary_data_size": 4}),
        b"\0" * 4,
        None,
        "needs 8 bytes",
    ),
    ("header length beyond the body", _x(**_SIZE_8), b"\0" * 8, 10_000, "body has only"),
    ("header length cuts the JSON", _x(**_SIZE_8), b"\0" * 8, 5, "not valid JSON"),
    ("binary size without binary data", _x(**_SIZE_8), b"", -1, "must be a non-negative integer"),
]


@pytest.mark.parametrize(
    ("case", "header", "tail", "length", "words"), _BAD_BINARY, ids=[c[0] for c in _BAD_BINARY]
)
def test_bad_binary_requests(
    client: httpx.Client,
    case: str,
    header: dict[str, Any],
    tail: bytes,
    length: int | None,
    words: str,
) -> None:
    body, headers = _binary(header, tail, length)
    response = client.post(_infer_url(DEFAULT), content=body, headers=headers)
    assert words in error_of(response, 400)
    _good(client)


def _bytes_request(payload: bytes, count: int) -> tuple[bytes, dict[str, str]]:
    tensor = {
        "name": "text",
        "shape": [count],
        "datatype": "BYTES",
        "parameters": {"binary_data_size": len(payload)},
    }
    return _binary({"inputs": [tensor]}, payload)


@pytest.mark.parametrize(
    ("payload", "count", "words"),
    [
        (struct.pack("<I", 1000) + b"abc", 1, "its length 1000 runs past the end"),
        (struct.pack("<I", 1) + b"a" + b"zzzz" + b"zz", 2, "its length 2054847098 runs past"),
        (struct.pack("<I", 1) + b"ab", 1, "1 bytes of raw data left"),
        (struct.pack("<I", 0) * 2, 1_000_000_000, "cannot hold that many"),
    ],
)
def test_bytes_with_bad_length_prefixes(
    client: httpx.Client, payload: bytes, count: int, words: str
) -> None:
    body, headers = _bytes_request(payload, count)
    response = client.post(_infer_url(models.STRINGS), content=body, headers=headers)
    assert words in error_of(response, 400)
    _good(client)


def test_huge_shapes_allocate_nothing(client: httpx.Client) -> None:
    body = _x(shape=[2**40, 2**40], data=[1.0, 2.0])
    assert "but its 'data' has 2" in error_of(client.post(_infer_url(DEFAULT), json=body), 400)
    header = _x(shape=[2**31, 2**31], parameters={"binary_data_size": 8})
    request, headers = _binary(header, b"\0" * 8)
    assert "needs" in error_of(
        client.post(_infer_url(DEFAULT), content=request, headers=headers), 400
    )
    _good(client)


def test_oversized_body_is_413(client: httpx.Client) -> None:
    data = [1.0] * (MAX_BODY_BYTES // 3)
    body = {"inputs": [{"name": "x", "shape": [len(data)], "datatype": "FP32", "data": data}]}
    assert "larger than the limit" in error_of(client.post(_infer_url(DEFAULT), json=body), 413)
    _good(client)


def test_rest_routes_answer_v2_json(client: httpx.Client) -> None:
    assert client.get("/v2").json()["name"] == "pyserving"
    assert client.get(f"/v2/models/{DEFAULT}/ready").status_code == 200
    assert client.get("/v2/models/nope/ready").status_code == 400
    error_of(client.get("/v2/models/nope"), 404)
    response = client.post("/v2/repository/index", content=b"")
    assert response.status_code == 200
    assert any(row["name"] == DEFAULT for row in response.json())
    ready = client.post("/v2/repository/index", json={"ready": True}).json()
    assert ready and {row["state"] for row in ready} == {"READY"}
    assert "not in the model config" in error_of(
        client.post("/v2/repository/models/nope/unload"), 404
    )
    _good(client)


# -- raw gRPC -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stub(rest_server: ServerProcess) -> Iterator[pb_grpc.GRPCInferenceServiceStub]:
    with grpc.insecure_channel(f"127.0.0.1:{rest_server.grpc_port}") as channel:
        yield pb_grpc.GRPCInferenceServiceStub(channel)


def _grpc_request(datatype: str = "FP32", shape: tuple[int, ...] = (2,)) -> pb.ModelInferRequest:
    request = pb.ModelInferRequest(model_name=DEFAULT)
    request.inputs.add(name="x", datatype=datatype, shape=shape)
    return request


def _grpc_good(stub: pb_grpc.GRPCInferenceServiceStub) -> None:
    request = _grpc_request()
    request.inputs[0].contents.fp32_contents.extend([1.0, 2.0])
    response = stub.ModelInfer(request, timeout=30)
    assert list(response.outputs[0].contents.fp32_contents) == [2.5, 3.0]
    assert not response.raw_output_contents  # typed in, typed out


def _typed_wrong_field() -> pb.ModelInferRequest:
    request = _grpc_request()
    request.inputs[0].contents.fp64_contents.extend([1.0, 2.0])
    return request


def _raw_count_mismatch() -> pb.ModelInferRequest:
    request = _grpc_request()
    request.raw_input_contents.extend([b"\0" * 8, b"\0" * 8])
    return request


def _raw_short() -> pb.ModelInferRequest:
    request = _grpc_request()
    request.raw_input_contents.append(b"\0" * 7)
    return request


def _wrong_datatype() -> pb.ModelInferRequest:
    request = _grpc_request("INT64")
    request.inputs[0].contents.int64_contents.extend([1, 2])
    return request


@pytest.mark.parametrize(
    ("build", "words"),
    [
        (_typed_wrong_field, "0 elements in contents.fp32_contents"),
        (_raw_count_mismatch, "2 raw_input_contents for 1 inputs"),
        (_raw_short, "7 bytes of raw data, but shape [2] of FP32 needs 8"),
        (_wrong_datatype, "has datatype INT64, but the model expects FP32"),
    ],
)
def test_bad_grpc_requests(stub: pb_grpc.GRPCInferenceServiceStub, build: Any, words: str) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stub.ModelInfer(build(), timeout=30)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert words in str(caught.value.details())
    _grpc_good(stub)


def test_grpc_raw_in_raw_out_and_unknown_model(stub: pb_grpc.GRPCInferenceServiceStub) -> None:
    request = _grpc_request()
    request.raw_input_contents.append(struct.pack("<2f", 1.0, 2.0))
    response = stub.ModelInfer(request, timeout=30)
    assert struct.unpack("<2f", response.raw_output_contents[0]) == (2.5, 3.0)
    with pytest.raises(grpc.RpcError) as caught:
        stub.ModelMetadata(pb.ModelMetadataRequest(name="nope"), timeout=30)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    _grpc_good(stub)
