"""V2 tensors: JSON data, raw bytes, the binary extension's body split, the gRPC messages."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import pytest

from pyserving.api.v2 import binary
from pyserving.codec import v2_json, v2_proto, v2_raw
from pyserving.codec.v2_request import V2Output, V2Request, V2Result
from pyserving.dtypes import V2_DATATYPES, DataType, v2_from_numpy, v2_from_tf, v2_to_numpy
from pyserving.errors import Code, ServingError
from pyserving.protos import grpc_predict_v2_pb2 as pb


def _error(call, *args) -> str:
    with pytest.raises(ServingError) as caught:
        call(*args)
    assert caught.value.code == Code.INVALID_ARGUMENT
    return caught.value.message


def _bytes_payload(*items: bytes) -> bytes:
    return b"".join(struct.pack("<I", len(i)) + i for i in items)


# -- the datatype table ------------------------------------------------------------------------


def test_every_v2_datatype_round_trips_through_numpy() -> None:
    for name, dtype in V2_DATATYPES.items():
        assert v2_to_numpy(name) == dtype
        assert v2_from_numpy(dtype) == name
    assert v2_from_numpy(np.dtype("S3")) == "BYTES"
    assert v2_from_numpy(np.dtype(np.complex64)) is None
    assert v2_to_numpy("FLOAT") is None


def test_tf_types_map_to_v2() -> None:
    assert v2_from_tf(DataType.DT_FLOAT) == "FP32"
    assert v2_from_tf(DataType.DT_STRING) == "BYTES"
    assert v2_from_tf(DataType.DT_HALF) == "FP16"
    assert v2_from_tf(DataType.DT_QINT8) is None  # quantized: not INT8
    assert v2_from_tf(DataType.DT_BFLOAT16) is None


# -- JSON data -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("datatype", "data", "expected"),
    [
        ("FP32", [1, 2.5, 3], np.array([1, 2.5, 3], np.float32)),
        ("FP16", [0.5, 1], np.array([0.5, 1], np.float16)),
        ("FP64", [1e300, 2], np.array([1e300, 2], np.float64)),
        ("INT8", [-128, 127], np.array([-128, 127], np.int8)),
        ("UINT64", [2**64 - 1, 0], np.array([2**64 - 1, 0], np.uint64)),
        ("INT64", [-(2**63), 1], np.array([-(2**63), 1], np.int64)),
        ("BOOL", [True, False], np.array([True, False])),
    ],
)
def test_json_data_of_every_numeric_type(datatype, data, expected) -> None:
    array = v2_json.decode_data("x", datatype, [2] if len(data) == 2 else [3], data)
    assert array.dtype == expected.dtype
    np.testing.assert_array_equal(array, expected)


def test_json_data_flat_or_nested_takes_the_declared_shape() -> None:
    flat = v2_json.decode_data("x", "FP32", [2, 2], [1, 2, 3, 4])
    nested = v2_json.decode_data("x", "FP32", [2, 2], [[1, 2], [3, 4]])
    np.testing.assert_array_equal(flat, nested)
    assert flat.shape == (2, 2)
    # Nested as another shape with the same element count: row-major, like the flat form.
    assert v2_json.decode_data("x", "FP32", [4, 1], [[1, 2], [3, 4]]).shape == (4, 1)


def test_bytes_data_are_utf8_strings() -> None:
    array = v2_json.decode_data("t", "BYTES", [2, 1], [["héllo"], [""]])
    assert array.dtype == object
    assert array.tolist() == [[b"h\xc3\xa9llo"], [b""]]


@pytest.mark.parametrize(
    ("datatype", "shape", "data", "words"),
    [
        ("FP32", [4], [1, 2, 3], "has shape [4] (4 elements), but its 'data' has 3"),
        ("FP32", [2, 2], [[1, 2], [3]], "uneven lengths"),
        ("FP32", [2], ["a", "b"], "are not all numbers"),
        ("INT32", [2], [1.5, 2], "are not all integers"),
        ("BOOL", [2], [1, 0], "are not all booleans"),
        ("INT8", [1], [300], "out of the range of INT8"),
        ("UINT8", [1], [-1], "out of the range of UINT8"),
        ("UINT64", [2], [2**64, 1], "out of the range of UINT64"),
        ("INT64", [2], [2**63, -1], "out of the range of INT64"),
        ("BYTES", [2], ["a", 1], "are not all strings"),
        ("FLOAT", [1], [1], "not a V2 datatype"),
        ("FP32", [-1, 2], [1, 2], "dimensions must be >= 0"),
    ],
)
def test_bad_json_data_is_a_clear_invalid_argument(datatype, shape, data, words) -> None:
    assert words in _error(v2_json.decode_data, "x", datatype, shape, data)


def test_deeply_nested_data_is_an_error_not_a_crash() -> None:
    deep: object = ["a"]
    numbers: object = [1.0]
    for _ in range(5000):
        deep, numbers = [deep], [numbers]
    assert v2_json.decode_data("t", "BYTES", [1], deep).tolist() == [b"a"]
    _error(v2_json.decode_data, "x", "FP32", [1], numbers)


def test_a_shape_claiming_huge_counts_allocates_nothing() -> None:
    message = _error(v2_json.decode_data, "x", "FP32", [2**40, 2**40], [1.0])
    assert "(1208925819614629174706176 elements), but its 'data' has 1" in message
    message = _error(v2_raw.decode_raw, "x", "BYTES", [2**62], b"\0" * 8)
    assert "cannot hold that many" in message


# -- raw bytes -------------------------------------------------------------------------------------


def test_raw_numbers_are_little_endian_views() -> None:
    data = struct.pack("<3f", 1, 2, 5)
    array = v2_raw.decode_raw("x", "FP32", [3, 1], data)
    assert array.shape == (3, 1)
    assert array.ravel().tolist() == [1, 2, 5]
    assert v2_raw.encode_raw(array) == data


def test_raw_outputs_of_any_layout_are_little_endian_row_major() -> None:
    """Binary outputs are joined into the response from the array's buffer: a transposed
    (non-contiguous) or big-endian array must still go out in the wire layout."""
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    for variant in (array.T, array.T.astype(">f4"), array[:, ::2]):
        raw = v2_raw.raw_buffer(variant)
        expected = np.ascontiguousarray(variant, dtype="<f4").tobytes()
        assert bytes(raw) == expected
        assert v2_raw.encode_raw(variant) == expected
        result = V2Result("m", "1", "", [("y", variant)])
        body, headers = binary.encode_response(
            V2Request([], parameters={"binary_data_output": True}), result
        )
        length = int(dict(headers)[binary.HEADER_LENGTH])
        document = v2_json.load_document(body[:length])
        assert document["outputs"][0]["parameters"] == {"binary_data_size": len(expected)}
        assert body[length:] == expected


@pytest.mark.parametrize("shape", [[-1, -784], [-2, -2, 1], [3, -1]])
def test_negative_dimensions_are_refused_even_when_their_product_is_positive(
    shape: list[int],
) -> None:
    data = b"\0" * 4 * abs(int(np.prod(shape)))
    assert "dimensions must be >= 0" in _error(v2_raw.decode_raw, "x", "FP32", shape, data)


def test_raw_bytes_elements_round_trip() -> None:
    payload = _bytes_payload(b"ab", b"", b"\xff")
    array = v2_raw.decode_raw("t", "BYTES", [3], payload)
    assert array.tolist() == [b"ab", b"", b"\xff"]
    assert v2_raw.encode_raw(array) == payload


@pytest.mark.parametrize(
    ("shape", "payload", "words"),
    [
        ([1], struct.pack("<I", 100) + b"ab", "its length 100 runs past the end"),
        ([2], _bytes_payload(b"a") + b"\0\0\0", "length prefix is past the end"),
        ([2], _bytes_payload(b"a", b"b") + b"z", "1 bytes of raw data left"),
        ([3], _bytes_payload(b"a", b"b"), "cannot hold that many"),
    ],
)
def test_bad_bytes_length_prefixes(shape, payload, words) -> None:
    assert words in _error(v2_raw.decode_raw, "t", "BYTES", shape, payload)


def test_raw_size_must_match_shape_times_datatype() -> None:
    message = _error(v2_raw.decode_raw, "x", "FP32", [3], b"\0" * 8)
    assert "8 bytes of raw data, but shape [3] of FP32 needs 12 bytes" in message


# -- the binary extension ------------------------------------------------------------------------


def _binary_body(header: dict[str, Any], *chunks: bytes) -> tuple[bytes, bytes]:
    text = v2_json.dumps(header)
    return text + b"".join(chunks), str(len(text)).encode()


def test_binary_and_json_inputs_in_one_request() -> None:
    header = {
        "inputs": [
            {"name": "a", "shape": [2], "datatype": "FP32", "parameters": {"binary_data_size": 8}},
            {"name": "b", "shape": [1], "datatype": "INT64", "data": [7]},
            {"name": "t", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": 6}},
        ],
        "outputs": [{"name": "y", "parameters": {"binary_data": True}}],
        "id": "r1",
    }
    body, length = _binary_body(header, struct.pack("<2f", 1, 2), _bytes_payload(b"hi"))
    request = binary.parse_body(body, length)
    assert [i.name for i in request.inputs] == ["a", "b", "t"]
    assert request.inputs[0].array.tolist() == [1, 2]
    assert request.inputs[2].array.tolist() == [b"hi"]
    assert request.outputs == [V2Output("y", True)]
    assert request.id == "r1"


@pytest.mark.parametrize(
    ("sizes", "tail", "length_delta", "words"),
    [
        ((8,), b"\0" * 12, 0, "4 bytes of binary data follow"),
        ((16,), b"\0" * 8, 0, "only 8 bytes of binary data are left"),
        ((8,), b"\0" * 8, 10**6, "but the body has only"),
    ],
)
def test_binary_sizes_must_add_up(sizes, tail, length_delta, words) -> None:
    header = {
        "inputs": [
            {"name": "a", "shape": [2], "datatype": "FP32", "parameters": {"binary_data_size": s}}
            for s in sizes
        ]
    }
    body, length = _binary_body(header, tail)
    length = str(int(length) + length_delta).encode()
    assert words in _error(binary.parse_body, body, length)


def test_header_length_must_be_a_number() -> None:
    assert "non-negative integer" in _error(binary.parse_body, b"{}", b"-3")


def test_binary_data_size_without_binary_data() -> None:
    header = b'{"inputs":[{"name":"a","shape":[1],"datatype":"FP32",'
    header += b'"parameters":{"binary_data_size":4}}]}'
    assert "Inference-Header-Content-Length" in _error(binary.parse_body, header, None)


def test_response_in_json_binary_or_both() -> None:
    y = np.array([[2.5], [3.0]], np.float32)
    t = np.array([b"ok", b"\xff"], dtype=object)  # not UTF-8: goes binary even in JSON
    result = V2Result("m", "1", "r", [("y", y), ("t", t)])
    body, headers = binary.encode_response(V2Request([]), result)
    length = int(dict(headers)[binary.HEADER_LENGTH])
    document = v2_json.load_document(body[:length])
    assert document["outputs"][0] == {
        "name": "y",
        "datatype": "FP32",
        "shape": [2, 1],
        "data": [2.5, 3.0],
    }
    assert document["outputs"][1]["parameters"] == {"binary_data_size": 11}
    assert body[length:] == _bytes_payload(b"ok", b"\xff")
    assert document["id"] == "r"

    request = V2Request([], parameters={"binary_data_output": True})
    body, headers = binary.encode_response(request, V2Result("m", "1", "", [("y", y)]))
    assert dict(headers)[b"content-type"] == b"application/octet-stream"
    length = int(dict(headers)[binary.HEADER_LENGTH])
    assert body[length:] == struct.pack("<2f", 2.5, 3.0)


# -- gRPC messages ---------------------------------------------------------------------------------


def test_typed_and_raw_contents() -> None:
    request = pb.ModelInferRequest(model_name="m", id="q")
    tensor = request.inputs.add(name="n", datatype="INT8", shape=[2])
    tensor.contents.int_contents.extend([-1, 5])
    decoded = v2_proto.request_from_proto(request)
    assert decoded.inputs[0].array.dtype == np.int8
    assert decoded.inputs[0].array.tolist() == [-1, 5]

    tensor.contents.int_contents.append(1000)
    tensor.shape[:] = [3]
    assert "out of the range of INT8" in _error(v2_proto.request_from_proto, request)

    raw = pb.ModelInferRequest(model_name="m")
    raw.inputs.add(name="h", datatype="FP16", shape=[2])
    raw.raw_input_contents.append(np.array([1, 2], np.float16).tobytes())
    assert v2_proto.request_from_proto(raw).inputs[0].array.tolist() == [1, 2]
    raw.raw_input_contents.append(b"")
    assert "2 raw_input_contents for 1 inputs" in _error(v2_proto.request_from_proto, raw)


def test_typed_contents_count_must_match_the_shape() -> None:
    request = pb.ModelInferRequest(model_name="m")
    tensor = request.inputs.add(name="x", datatype="FP32", shape=[3])
    tensor.contents.int_contents.extend([1, 2, 3])  # the wrong field for FP32
    assert "0 elements in contents.fp32_contents" in _error(v2_proto.request_from_proto, request)


def test_response_answers_in_the_form_asked() -> None:
    y = np.array([1.5, 2], np.float32)
    result = V2Result("m", "3", "q", [("y", y)])
    typed = v2_proto.response_to_proto(result, raw=False)
    assert list(typed.outputs[0].contents.fp32_contents) == [1.5, 2]
    assert not typed.raw_output_contents
    raw = v2_proto.response_to_proto(result, raw=True)
    assert raw.raw_output_contents[0] == y.tobytes()
    half = v2_proto.response_to_proto(
        V2Result("m", "3", "", [("h", y.astype(np.float16))]), raw=False
    )
    assert half.raw_output_contents  # FP16 has no typed field


def test_empty_shapes_numpy_cannot_hold_are_refused() -> None:
    """Found by tests/fuzz/test_fuzz_v2.py: numpy refuses [0, 2^31, 2^31] even with no data."""
    from pyserving.codec.v2_json import decode_data

    with pytest.raises(ServingError, match="too large to hold"):
        decode_data("x", "UINT16", [0, 2**31, 2**31], [])
    assert decode_data("x", "UINT16", [0, 2**20], []).shape == (0, 2**20)


def test_json_outputs_of_any_layout_are_row_major() -> None:
    """A strided view (a column of a matrix, one whose reshape stays a view) is still written as
    JSON data in row-major order, not refused by the JSON writer."""
    array = np.arange(6, dtype=np.float32).reshape(3, 2)
    for variant in (array[:, 0], array[:, :1], array.T):
        result = V2Result("m", "1", "", [("y", variant)])
        body, _ = binary.encode_response(V2Request([]), result)
        output = v2_json.load_document(body)["outputs"][0]
        assert output["shape"] == list(variant.shape)
        assert output["data"] == np.ascontiguousarray(variant).ravel().tolist()
