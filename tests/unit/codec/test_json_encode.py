"""Response encoding: reference sections 2.6 (predict), 2.7 (results) and 2.8 (errors)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pyserving.codec.json_encode import (
    encode_classify_response,
    encode_error,
    encode_json,
    encode_predict_response,
    encode_regress_response,
)
from pyserving.codec.json_tensor import Format
from pyserving.codec.tensor_text import _checked_dtype, _leaf_texts, nest, whole_text
from pyserving.errors import Code, ServingError

ROW = Format.ROW
COLUMNAR = Format.COLUMNAR


def encode_error_of(fmt: Format, outputs: dict[str, np.ndarray]) -> ServingError:
    with pytest.raises(ServingError) as caught:
        encode_predict_response(fmt, outputs)
    return caught.value


INT_TENSOR = np.array([[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 0], [1, 2]]], dtype=np.int32)
STRINGS = np.array([[b"foo", b"bar"], [b"baz", b"bat"]], dtype=object)
BYTES = np.array([[b"hello", b"world"], [b"tf", b"serving"]], dtype=object)

ENCODED = [
    # golden example: half_plus_two on [2.0, 3.0, 4.0]
    (ROW, {"y": np.array([3.0, 3.5, 4.0], np.float32)}, b'{"predictions":[3.0,3.5,4.0]}'),
    (COLUMNAR, {"y": np.array([3.0, 3.5, 4.0], np.float32)}, b'{"outputs":[3.0,3.5,4.0]}'),
    (ROW, {"y": np.array([[3.0], [3.5]], np.float32)}, b'{"predictions":[[3.0],[3.5]]}'),
    (
        ROW,
        {"int_tensor": INT_TENSOR},
        b'{"predictions":[[[1,2],[3,4],[5,6]],[[7,8],[9,0],[1,2]]]}',
    ),
    (
        COLUMNAR,
        {"int_tensor": INT_TENSOR},
        b'{"outputs":[[[1,2],[3,4],[5,6]],[[7,8],[9,0],[1,2]]]}',
    ),
    (
        ROW,
        {"str_tensor_bytes": BYTES},
        b'{"predictions":[[{"b64":"aGVsbG8="},{"b64":"d29ybGQ="}],'
        b'[{"b64":"dGY="},{"b64":"c2VydmluZw=="}]]}',
    ),
    (
        ROW,
        {
            "double_scalar_tensor": np.array([8.0, 9.0]),
            "float_tensor": np.array([[1.0], [2.0]], np.float32),
            "int_tensor": INT_TENSOR,
            "str_tensor": STRINGS,
            "str_tensor_bytes": BYTES,
        },
        b'{"predictions":[{"double_scalar_tensor":8.0,"float_tensor":[1.0],'
        b'"int_tensor":[[1,2],[3,4],[5,6]],"str_tensor":["foo","bar"],'
        b'"str_tensor_bytes":[{"b64":"aGVsbG8="},{"b64":"d29ybGQ="}]},'
        b'{"double_scalar_tensor":9.0,"float_tensor":[2.0],"int_tensor":[[7,8],[9,0],[1,2]],'
        b'"str_tensor":["baz","bat"],"str_tensor_bytes":[{"b64":"dGY="},{"b64":"c2VydmluZw=="}]}]}',
    ),
    (
        COLUMNAR,
        {"double_scalar_tensor": np.array([8.0, 9.0]), "str_tensor": STRINGS},
        b'{"outputs":{"double_scalar_tensor":[8.0,9.0],"str_tensor":[["foo","bar"],["baz","bat"]]}}',
    ),
    # six-digit precision, exponent forms, ".0" on integral values
    (
        ROW,
        {"f": np.array([[9000000, 999999, 0.5], [0.0003, 0.00003, 555557.5]], np.float32)},
        b'{"predictions":[[9e+06,999999.0,0.5],[0.0003,3e-05,555557.5]]}',
    ),
    (
        ROW,
        {"f": np.array([[np.nan, np.inf], [3, -np.inf]], np.float32)},
        b'{"predictions":[[NaN,Infinity],[3.0,-Infinity]]}',
    ),
    (COLUMNAR, {"f": np.array([1 / 3, 0.1], np.float32)}, b'{"outputs":[0.333333343,0.1]}'),
    (COLUMNAR, {"d": np.array([1 / 3, 0.1])}, b'{"outputs":[0.33333333333333331,0.1]}'),
    # scalars are allowed in columnar responses
    (COLUMNAR, {"s": np.array(5, np.int64)}, b'{"outputs":5}'),
    (
        COLUMNAR,
        {"s": np.array(2.0, np.float32), "t": np.array(True)},
        b'{"outputs":{"s":2.0,"t":true}}',
    ),
    # zero rows, empty inner dimensions
    (ROW, {"a": np.zeros((0, 2), np.int32)}, b'{"predictions":[]}'),
    (ROW, {"a": np.zeros((0, 2), np.float32), "b": np.zeros((0,), object)}, b'{"predictions":[]}'),
    (ROW, {"a": np.zeros((2, 0, 3), np.float32)}, b'{"predictions":[[],[]]}'),
    (COLUMNAR, {"a": np.zeros((0, 3), np.uint16)}, b'{"outputs":[]}'),  # nothing to write
    # every integer width, booleans
    (
        ROW,
        {
            "i8": np.array([-1, 2], np.int8),
            "u8": np.array([255, 0], np.uint8),
            "u64": np.array([2**64 - 1, 0], np.uint64),
            "b": np.array([True, False]),
        },
        b'{"predictions":[{"i8":-1,"u8":255,"u64":18446744073709551615,"b":true},'
        b'{"i8":2,"u8":0,"u64":0,"b":false}]}',
    ),
    # strings: UTF-8 as is, escapes where JSON needs them, invalid UTF-8 replaced by U+FFFD
    (
        COLUMNAR,
        {"s": np.array(["café".encode(), b'q"\\\n', b"\xff"], dtype=object)},
        '{"outputs":["café","q\\"\\\\\\n","\ufffd"]}'.encode(),
    ),
    (COLUMNAR, {"s_bytes": np.array([b"\xff"], dtype=object)}, b'{"outputs":[{"b64":"/w=="}]}'),
    (COLUMNAR, {"s": np.array(["a", "b"])}, b'{"outputs":["a","b"]}'),
]


@pytest.mark.parametrize(("fmt", "outputs", "expected"), ENCODED)
def test_predict_responses(fmt: Format, outputs: dict[str, np.ndarray], expected: bytes) -> None:
    assert encode_predict_response(fmt, outputs) == expected


def test_responses_are_json_that_python_can_read() -> None:
    body = encode_predict_response(ROW, {"a": np.array([0.1, 2.0], np.float32), "b": STRINGS})
    assert json.loads(body) == {
        "predictions": [{"a": 0.1, "b": ["foo", "bar"]}, {"a": 2.0, "b": ["baz", "bat"]}]
    }


@pytest.mark.parametrize(
    ("fmt", "outputs", "message"),
    [
        (ROW, {}, "Cannot convert empty tensor map to JSON"),
        (ROW, {"s": np.array(1.0)}, "Tensor name: s has no shape information "),
        (
            ROW,
            {"int_tensor": np.zeros((2, 3)), "str_tensor": np.zeros((1, 3))},
            "Tensor name: str_tensor has inconsistent batch size: 1 expecting: 2",
        ),
        (
            COLUMNAR,
            {"c": np.array([1 + 2j], np.complex64)},
            "Failed to write JSON value for tensor type: complex64",
        ),
        (
            ROW,
            {"h": np.array([1.0], np.float16)},
            "Failed to write JSON value for tensor type: half",
        ),
        (
            COLUMNAR,
            {"u": np.array(1, np.uint16)},
            "Failed to write JSON value for tensor type: uint16",
        ),
    ],
)
def test_predict_response_errors(fmt: Format, outputs: dict[str, np.ndarray], message: str) -> None:
    error = encode_error_of(fmt, outputs)
    assert (error.code, error.message) == (Code.INVALID_ARGUMENT, message)


def test_columnar_responses_have_no_batch_constraint() -> None:
    body = encode_predict_response(COLUMNAR, {"a": np.zeros((2,), np.int32), "b": np.array(1.5)})
    assert body == b'{"outputs":{"a":[0,0],"b":1.5}}'


def test_classify_results() -> None:
    assert encode_classify_response([[(b"", 3.0)]]) == b'{"results":[[["",3.0]]]}'
    body = encode_classify_response([[(b"a", 0.1), (b"b", 0.9)], [(b"\xff", 1 / 3)]])
    assert body == '{"results":[[["a",0.1],["b",0.9]],[["\ufffd",0.333333343]]]}'.encode()
    with pytest.raises(ServingError) as caught:
        encode_classify_response([])
    assert caught.value.message == "Cannot convert empty ClassificationResults to JSON"


def test_regress_results() -> None:
    assert encode_regress_response([3.0]) == b'{"results":[3.0]}'
    assert encode_regress_response([0.1, 1e6, float("nan")]) == b'{"results":[0.1,1e+06,NaN]}'
    with pytest.raises(ServingError) as caught:
        encode_regress_response([])
    assert caught.value.message == "Cannot convert empty RegressionResults to JSON"


@pytest.mark.parametrize(
    ("message", "body"),
    [
        (
            "Servable not found for request: Latest(x)",
            b'{"error":"Servable not found for request: Latest(x)"}',
        ),
        ('JSON Value: "a\u0001"', b'{"error":"JSON Value: \\"a\\u0001\\""}'),
        ("raw \udcff byte", '{"error":"raw \ufffd byte"}'.encode()),
        ("caf\u00e9", '{"error":"café"}'.encode()),
    ],
)
def test_error_bodies(message: str, body: bytes) -> None:
    assert encode_error(message) == body


def test_generic_documents() -> None:
    assert encode_json({"model_version_status": [{"version": "1"}]}) == (
        b'{"model_version_status":[{"version":"1"}]}'
    )
    assert encode_json({"a": np.array([1, 2])}) == b'{"a":[1,2]}'


@pytest.mark.parametrize(
    "shape", [(1,), (3,), (3, 1), (2, 3), (2, 1, 3), (1, 64), (65,), (2, 0), (0,), ()]
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_small_float_tensors_spell_as_the_nested_writer_does(
    shape: tuple[int, ...], dtype: type
) -> None:
    # Small float tensors take the shape-template path; the texts and brackets must be what the
    # general (nested) writer produces, non-finite values and precisions included.
    values = np.array([0.1, 3.0, -2.5, np.nan, np.inf, -np.inf, 1e-7, 2.59000015, 123456789.0])
    array: np.ndarray = np.resize(values, shape).astype(dtype)
    text = whole_text(array, "y")
    nested = nest(_leaf_texts(array, _checked_dtype(array), "y"), array.shape)
    assert text == (nested[0] if array.ndim == 0 else "[" + ",".join(nested) + "]")
    assert whole_text(array, "y") == text  # the cached template gives the same
