"""Predict request decoding: every rule and message of the reference, section 2.5."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import pytest

from pyserving.codec import json_tensor, predict_rows
from pyserving.codec.json_parse import parse_json_body
from pyserving.codec.json_tensor import Format, decode_predict_inputs, request_signature_name
from pyserving.codec.tensor_fast import fast_tensor, may_hold_booleans
from pyserving.codec.tensor_fill import dense_shape, fill, to_array
from pyserving.dtypes import DataType
from pyserving.errors import Code, ServingError
from pyserving.signature import Signature, TensorSpec

F32 = DataType.DT_FLOAT
F64 = DataType.DT_DOUBLE
I32 = DataType.DT_INT32
I64 = DataType.DT_INT64
STR = DataType.DT_STRING
BOOL = DataType.DT_BOOL


def signature(**dtypes: DataType) -> Signature:
    return shaped_signature(None, dtypes)


def shaped_signature(shape: tuple[int, ...] | None, dtypes: dict[str, DataType]) -> Signature:
    inputs = {name: TensorSpec(f"{name}:0", dtype, shape) for name, dtype in dtypes.items()}
    outputs = {"y": TensorSpec("y:0", F32)}
    return Signature("serving_default", inputs, outputs)


def decode(body: bytes, sig: Signature) -> tuple[Format, dict[str, np.ndarray]]:
    document = parse_json_body(body)
    request_signature_name(document)
    assert isinstance(document, dict)
    return decode_predict_inputs(document, sig)


def decode_error(body: bytes, sig: Signature) -> ServingError:
    with pytest.raises(ServingError) as caught:
        decode(body, sig)
    return caught.value


@dataclass(frozen=True)
class T:
    """An expected tensor: numpy dtype name, shape, values (nested lists)."""

    dtype: str
    shape: tuple[int, ...]
    values: object


def check(tensors: dict[str, np.ndarray], expected: dict[str, T]) -> None:
    assert sorted(tensors) == sorted(expected)
    for name, want in expected.items():
        got = tensors[name]
        assert (got.dtype.name, got.shape) == (want.dtype, want.shape), name
        assert repr(got.tolist()) == repr(want.values), name


# --- the document -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "name"),
    [
        (b'{"inputs": [1]}', "serving_default"),
        (b'{"signature_name": "", "inputs": [1]}', "serving_default"),
        (b'{"signature_name": "predict_images", "inputs": [1]}', "predict_images"),
    ],
)
def test_signature_name(body: bytes, name: str) -> None:
    assert request_signature_name(parse_json_body(body)) == name


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[1]", "JSON Value: [\n    1\n] Is not object"),
        (b'"s"', 'JSON Value: "s" Is not object'),
        (b"2.5", "JSON Value: 2.5 Is not object"),
        (
            b'{"signature_name": 5}',
            'JSON Value: {\n    "signature_name": 5\n} not formatted correctly. '
            "'signature_name' key must be a string value.",
        ),
        (
            b'{"signature_name": null}',
            'JSON Value: {\n    "signature_name": null\n} not formatted correctly. '
            "'signature_name' key must be a string value.",
        ),
    ],
)
def test_document_errors(body: bytes, message: str) -> None:
    with pytest.raises(ServingError) as caught:
        request_signature_name(parse_json_body(body))
    assert (caught.value.code, caught.value.message) == (Code.INVALID_ARGUMENT, message)


DOCUMENT_ERRORS = [
    (
        b'{"instances": [1], "inputs": [1]}',
        'JSON Value: {\n    "instances": [\n        1\n    ],\n    "inputs": [\n        1\n    ]\n}'
        " Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist ",
    ),
    (b'{"signature_name": "x"}', "Missing 'inputs' or 'instances' key"),
    (
        b'{"instances": {"x": 1}}',
        'JSON Value: {\n    "instances": {\n        "x": 1\n    }\n}'
        " Expecting 'instances' to be an list/array",
    ),
    (
        b'{"instances": []}',
        "JSON Value: {\n    \"instances\": []\n} No values in 'instances' array",
    ),
]


@pytest.mark.parametrize(("body", "message"), DOCUMENT_ERRORS)
def test_layout_errors(body: bytes, message: str) -> None:
    error = decode_error(body, signature(x=F32))
    assert (error.code, error.message) == (Code.INVALID_ARGUMENT, message)


def test_signature_without_inputs_is_not_callable() -> None:
    empty = signature()
    assert decode_error(b'{"inputs": [1]}', empty).message == (
        "Failed to get input map for signature: DEFAULT"
    )
    named = b'{"signature_name": "init", "inputs": [1]}'
    assert decode_error(named, empty).message == "Failed to get input map for signature: init"


def test_other_keys_are_ignored() -> None:
    fmt, tensors = decode(b'{"instances": [1.5], "extra": {"a": [1, 2]}}', signature(x=F32))
    assert fmt is Format.ROW
    check(tensors, {"x": T("float32", (1,), [1.5])})


# --- golden examples (reference section 10) ----------------------------------------------------


def test_row_floats_are_not_checked_against_the_signature_shape() -> None:
    fmt, tensors = decode(b'{"instances": [2.0, 3.0, 4.0]}', shaped_signature((-1, 1), {"x": F32}))
    assert fmt is Format.ROW
    check(tensors, {"x": T("float32", (3,), [2.0, 3.0, 4.0])})


def test_columnar_floats() -> None:
    fmt, tensors = decode(b'{"inputs": [2.0, 3.0, 4.0]}', shaped_signature((-1, 1), {"x": F32}))
    assert fmt is Format.COLUMNAR
    check(tensors, {"x": T("float32", (3,), [2.0, 3.0, 4.0])})


# --- row format ---------------------------------------------------------------------------------

ROWS_OK = [
    (
        {"x": I32},
        b'{"instances": [[1,2],[3,4],[5,6]]}',
        {"x": T("int32", (3, 2), [[1, 2], [3, 4], [5, 6]])},
    ),
    (
        {"x": F32},
        b'{"instances": [1, 2.0, 3, 5.003, 0.0]}',
        {"x": T("float32", (5,), [1.0, 2.0, 3.0, 5.002999782562256, 0.0])},
    ),
    ({"x": F64}, b'{"instances": [1.0, 2, 0.662]}', {"x": T("float64", (3,), [1.0, 2.0, 0.662])}),
    (
        {"x": STR},
        b'{"instances": [{"b64": "aGVsbG8="}, {"b64": "d29ybGQ="}]}',
        {"x": T("object", (2,), [b"hello", b"world"])},
    ),
    (
        {"x": STR},
        b'{"instances": [[{"b64": "aGVsbG8="}], [{"b64": "d29ybGQ="}]]}',
        {"x": T("object", (2, 1), [[b"hello"], [b"world"]])},
    ),
    (
        {"x": STR},
        b'{"instances": [{"x": [[{"b64": "aGVsbG8="}], [{"b64": "d29ybGQ="}]]}]}',
        {"x": T("object", (1, 2, 1), [[[b"hello"], [b"world"]]])},
    ),
    (
        {"x": I32},
        b'{"instances": [{"x": [1, 2]}, {"x": [3, 4]}]}',
        {"x": T("int32", (2, 2), [[1, 2], [3, 4]])},
    ),
    ({"x": BOOL}, b'{"instances": [true, false]}', {"x": T("bool", (2,), [True, False])}),
    ({"x": F32}, b'{"instances": [[], []]}', {"x": T("float32", (2, 0), [[], []])}),
    (
        {"int_tensor": I32, "str_tensor": STR, "float_tensor": F32, "dbl_tensor": F64},
        b'{"instances": [{"int_tensor": [[1,2],[3,4],[5,6]], "str_tensor": ["foo", "bar"],'
        b' "float_tensor": [1.0, NaN], "dbl_tensor": [NaN]},'
        b' {"int_tensor": [[7,8],[9,0],[1,2]], "str_tensor": ["baz", "bat"],'
        b' "float_tensor": [2.0, Infinity], "dbl_tensor": [2.0]}]}',
        {
            "int_tensor": T(
                "int32", (2, 3, 2), [[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 0], [1, 2]]]
            ),
            "str_tensor": T("object", (2, 2), [[b"foo", b"bar"], [b"baz", b"bat"]]),
            "float_tensor": T("float32", (2, 2), [[1.0, float("nan")], [2.0, float("inf")]]),
            "dbl_tensor": T("float64", (2, 1), [[float("nan")], [2.0]]),
        },
    ),
]


@pytest.mark.parametrize(("dtypes", "body", "expected"), ROWS_OK)
def test_rows(dtypes: dict[str, DataType], body: bytes, expected: dict[str, T]) -> None:
    fmt, tensors = decode(body, signature(**dtypes))
    assert fmt is Format.ROW
    check(tensors, expected)


def test_row_objects_must_name_inputs_that_have_defaults_too() -> None:
    sig = Signature(
        "serving_default",
        {"a": TensorSpec("a:0", F32), "b": TensorSpec("b:0", F32)},
        {},
        defaults={"b": np.array(1.0, np.float32)},
    )
    error = decode_error(b'{"instances": [{"a": 1.0}]}', sig)
    assert error.message == (
        "Failed to process element: 0 of 'instances' list. JSON object: "
        '{\n    "a": 1.0\n} keys must be equal to: a,b'
    )


ROWS_ERR = [
    (
        {"a": I32, "b": I32},
        b'{"instances": [1, 2]}',
        "instances is a plain list, but expecting list of objects as multiple input tensors "
        "required as per tensorinfo_map",
    ),
    (
        {"a": I32, "b": STR},
        b'{"instances": [{"a": [1], "b": ["x"]}, [1, 20, 30]]}',
        "Expecting object but got list at item 1 of input list",
    ),
    (
        {"x": STR},
        b'{"instances": [["baz"], {"x": ["bat"]}]}',
        "Expecting value/list but got object at item 1 of input list",
    ),
    (
        {"a": I32, "b": I32},
        b'{"instances": [{"a": 1, "b": 2}, {"a": 3}]}',
        "Failed to process element: 1 of 'instances' list. JSON object: "
        '{\n    "a": 3\n} keys must be equal to: a,b',
    ),
    (
        {"a": I32, "b": I32},
        b'{"instances": [{"a": 1, "c": 2, "b": 3}]}',
        "Failed to process element: 0 key: c of 'instances' list. Error: INVALID_ARGUMENT: "
        "JSON object: does not have named input: c",
    ),
    (
        {"x": I32},
        b'{"instances": [[1,2],[3,4],[5,6,7]]}',
        "Failed to process element: 2 of 'instances' list. Error: INVALID_ARGUMENT: "
        "Expecting tensor size: 2 but got: 3",
    ),
    (
        {"x": I32},
        b'{"instances": [[1,2],[3,4],[[5,6]]]}',
        "Failed to process element: 2 of 'instances' list. Error: INVALID_ARGUMENT: "
        "Expecting shape [2] but got: [1,2]",
    ),
    (
        {"x": I32},
        b'{"instances": [1, [1]]}',
        "Failed to process element: 1 of 'instances' list. Error: INVALID_ARGUMENT: "
        "Expecting shape [] but got: [1]",
    ),
    (
        {"int_tensor": I32, "str_tensor": STR},
        b'{"instances": [{"int_tensor": [[1,2],[3,4],[5,6]], "str_tensor": ["foo"]},'
        b' {"int_tensor": [[[7,8],[9,0],[1,2]]], "str_tensor": ["baz"]}]}',
        "Failed to process element: 1 key: int_tensor of 'instances' list. Error: "
        "INVALID_ARGUMENT: Expecting shape [3,2] but got: [1,3,2]",
    ),
    (
        {"x": I32},
        b'{"instances": [[1,2],["a","b"]]}',
        "Failed to process element: 1 of 'instances' list. Error: INVALID_ARGUMENT: "
        'JSON Value: "a" Type: String is not of expected type: int32',
    ),
    (
        {"a": F32, "b": I64},
        b'{"instances": [{"a": 1.5, "b": 2.5}]}',
        "Failed to process element: 0 key: b of 'instances' list. Error: INVALID_ARGUMENT: "
        "JSON Value: 2.5 Type: Number is not of expected type: int64",
    ),
    (
        {"x": STR},
        b'{"instances": [{"b64": "a"}]}',
        "Failed to process element: 0 of 'instances' list. Error: INVALID_ARGUMENT: "
        "Unable to base64 decode",
    ),
    (
        {"x": DataType.DT_HALF},
        b'{"instances": [1.0]}',
        "Failed to process element: 0 of 'instances' list. Error: UNIMPLEMENTED: "
        "Conversion of JSON Value: 1.0 to type: half",
    ),
    (
        {"x": F32},
        b'{"instances": [true, 1.0]}',
        "Failed to process element: 0 of 'instances' list. Error: INVALID_ARGUMENT: "
        "JSON Value: true Type: True is not of expected type: float",
    ),
]


@pytest.mark.parametrize(("dtypes", "body", "message"), ROWS_ERR)
def test_row_errors(dtypes: dict[str, DataType], body: bytes, message: str) -> None:
    error = decode_error(body, signature(**dtypes))
    assert (error.code, error.message) == (Code.INVALID_ARGUMENT, message)


# --- columnar format ----------------------------------------------------------------------------

COLUMNS_OK = [
    (
        {"x": I32},
        b'{"inputs": {"x": [[[1,2],[3,4],[5,6]]]}}',
        {"x": T("int32", (1, 3, 2), [[[1, 2], [3, 4], [5, 6]]])},
    ),
    (
        {"x": I32},
        b'{"inputs": [[[1,2],[3,4],[5,6]]]}',
        {"x": T("int32", (1, 3, 2), [[[1, 2], [3, 4], [5, 6]]])},
    ),
    ({"x": F32}, b'{"inputs": 2.5}', {"x": T("float32", (), 2.5)}),
    ({"x": STR}, b'{"inputs": {"b64": "aGVsbG8="}}', {"x": T("object", (), b"hello")}),
    ({"x": STR}, b'{"inputs": "caf\xc3\xa9"}', {"x": T("object", (), "café".encode())}),
    ({"x": STR}, b'{"inputs": ["\xff\xfe"]}', {"x": T("object", (1,), [b"\xff\xfe"])}),  # raw bytes
    (
        {"a": I32, "b": STR, "c": STR},
        b'{"inputs": {"a": [[1,2]], "b": ["foo", "bar"], "c": {"b64": "aGVsbG8="}, "ignored": 1}}',
        {
            "a": T("int32", (1, 2), [[1, 2]]),
            "b": T("object", (2,), [b"foo", b"bar"]),
            "c": T("object", (), b"hello"),
        },
    ),
    ({"x": F32}, b'{"inputs": []}', {"x": T("float32", (0,), [])}),
    ({"x": DataType.DT_HALF}, b'{"inputs": []}', {"x": T("float16", (0,), [])}),
]


@pytest.mark.parametrize(("dtypes", "body", "expected"), COLUMNS_OK)
def test_columns(dtypes: dict[str, DataType], body: bytes, expected: dict[str, T]) -> None:
    fmt, tensors = decode(body, signature(**dtypes))
    assert fmt is Format.COLUMNAR
    check(tensors, expected)


COLUMNS_ERR = [
    (
        {"a": I32, "b": I32},
        b'{"inputs": [1]}',
        "inputs is a plain value/list, but expecting an object as multiple input tensors "
        "required as per tensorinfo_map",
    ),
    (
        {"a": I32, "b": I32},
        b'{"inputs": {"a": [1], "c": [2]}}',
        "Missing named input: b in 'inputs' object.",
    ),
    ({"x": I32}, b'{"inputs": {"y": [1]}}', "Missing named input: x in 'inputs' object."),
    (
        {"x": I32},
        b'{"inputs": [[1,2],[3]]}',
        "Encountered list at unexpected size: 1 at level: 1 expected size: 2",
    ),
    ({"x": I32}, b'{"inputs": [1, [2]]}', "Encountered list at unexpected level: 1 expected < 1"),
    (
        {"x": I32},
        b'{"inputs": [[1,2], 3]}',
        "JSON Value: 3 found at incorrect level: 2 in the JSON DOM. Expected at level: 2",
    ),
    (
        {"x": STR},
        b'{"inputs": [{"b64": "eA==", "x": 1}]}',
        'JSON Value: {\n    "b64": "eA==",\n    "x": 1\n} not formatted correctly for base64 data',
    ),
    (
        {"x": STR},
        b'{"inputs": [{"b64": 5}]}',
        'JSON Value: {\n    "b64": 5\n} not formatted correctly for base64 data',
    ),
    (
        {"x": DataType.DT_HALF},
        b'{"inputs": [{"a": 1}]}',
        'JSON Value: {\n    "a": 1\n} Type: Object is not of expected type: half',
    ),
]


@pytest.mark.parametrize(("dtypes", "body", "message"), COLUMNS_ERR)
def test_column_errors(dtypes: dict[str, DataType], body: bytes, message: str) -> None:
    error = decode_error(body, signature(**dtypes))
    assert (error.code, error.message) == (Code.INVALID_ARGUMENT, message)


# --- JSON values to dtypes ---------------------------------------------------------------------

VALUES_OK = [
    (F32, b"[1, 2]", T("float32", (2,), [1.0, 2.0])),
    (F32, b"[16777217]", T("float32", (1,), [16777216.0])),  # silent precision loss
    (F32, b"[1e39, -1e39, 1.5]", T("float32", (3,), [float("inf"), float("-inf"), 1.5])),
    (
        F32,
        b"[NaN, Infinity, -Infinity]",
        T("float32", (3,), [float("nan"), float("inf"), float("-inf")]),
    ),
    (F64, b"[1e39, 0.1]", T("float64", (2,), [1e39, 0.1])),
    (F64, b"[18446744073709551615]", T("float64", (1,), [1.8446744073709552e19])),
    (I32, b"[2147483647, -2147483648]", T("int32", (2,), [2147483647, -2147483648])),
    (DataType.DT_INT16, b"[40000, -1]", T("int16", (2,), [-25536, -1])),  # TF truncates int32
    (DataType.DT_INT8, b"[200]", T("int8", (1,), [-56])),
    (DataType.DT_UINT8, b"[300, -1]", T("uint8", (2,), [44, 255])),
    (I64, b"[9223372036854775807, -9223372036854775808]", T("int64", (2,), [2**63 - 1, -(2**63)])),
    (DataType.DT_UINT32, b"[4294967295, 0]", T("uint32", (2,), [2**32 - 1, 0])),
    (DataType.DT_UINT64, b"[18446744073709551615, 1]", T("uint64", (2,), [2**64 - 1, 1])),
    (BOOL, b"[[true], [false]]", T("bool", (2, 1), [[True], [False]])),
    (STR, b'["a", {"b64": "YQ"}, {"b64": " Y Q = = "}]', T("object", (3,), [b"a", b"a", b"a"])),
]


@pytest.mark.parametrize(("dtype", "value", "expected"), VALUES_OK)
def test_values(dtype: DataType, value: bytes, expected: T) -> None:
    for body in (b'{"inputs": ' + value + b"}", b'{"instances": ' + value + b"}"):
        _, tensors = decode(body, signature(x=dtype))
        check(tensors, {"x": expected})


VALUES_ERR = [
    (F32, b'"1.0"', 'JSON Value: "1.0" Type: String is not of expected type: float'),
    (F32, b"null", "JSON Value: null Type: Null is not of expected type: float"),
    (F32, b"true", "JSON Value: true Type: True is not of expected type: float"),
    (F64, b"false", "JSON Value: false Type: False is not of expected type: double"),
    (I32, b"1.0", "JSON Value: 1.0 Type: Number is not of expected type: int32"),
    (I32, b"1.5", "JSON Value: 1.5 Type: Number is not of expected type: int32"),
    (I32, b"2147483648", "JSON Value: 2147483648 Type: Number is not of expected type: int32"),
    (I32, b"NaN", "JSON Value: NaN Type: Number is not of expected type: int32"),
    (
        DataType.DT_INT8,
        b"3000000000",
        "JSON Value: 3000000000 Type: Number is not of expected type: int8",
    ),
    (
        I64,
        b"9223372036854775808",
        "JSON Value: 9223372036854775808 Type: Number is not of expected type: int64",
    ),
    (I64, b"true", "JSON Value: true Type: True is not of expected type: int64"),
    (DataType.DT_UINT32, b"-1", "JSON Value: -1 Type: Number is not of expected type: uint32"),
    (
        DataType.DT_UINT32,
        b"4294967296",
        "JSON Value: 4294967296 Type: Number is not of expected type: uint32",
    ),
    (DataType.DT_UINT64, b"-1", "JSON Value: -1 Type: Number is not of expected type: uint64"),
    (BOOL, b"1", "JSON Value: 1 Type: Number is not of expected type: bool"),
    (BOOL, b'"true"', 'JSON Value: "true" Type: String is not of expected type: bool'),
    (STR, b"1", "JSON Value: 1 Type: Number is not of expected type: string"),
    (F32, b'{"a": 1}', 'JSON Value: {\n    "a": 1\n} Type: Object is not of expected type: float'),
    (STR, b'{"b64": "a"}', "Unable to base64 decode"),
    (STR, b'{"b64": "YQ=x"}', "Unable to base64 decode"),
    (STR, b'{"b64": "YQ="}', "Unable to base64 decode"),  # padding must be exactly right
]


@pytest.mark.parametrize(("dtype", "value", "message"), VALUES_ERR)
def test_value_errors(dtype: DataType, value: bytes, message: str) -> None:
    # A bare value is a scalar; inside a list it is one element: the message is the same.
    for body in (b'{"inputs": [' + value + b"]}", b'{"inputs": ' + value + b"}"):
        if body == b'{"inputs": {"a": 1}}':
            continue  # an object there names inputs, see the columnar tests
        error = decode_error(body, signature(x=dtype))
        assert (error.code, error.message) == (Code.INVALID_ARGUMENT, message)


@pytest.mark.parametrize(
    ("dtype", "message"),
    [
        (DataType.DT_HALF, "Conversion of JSON Value: 1.5 to type: half"),
        (DataType.DT_BFLOAT16, "Conversion of JSON Value: 1.5 to type: bfloat16"),
        (DataType.DT_COMPLEX64, "Conversion of JSON Value: 1.5 to type: complex64"),
        (DataType.DT_COMPLEX128, "Conversion of JSON Value: 1.5 to type: complex128"),
        (DataType.DT_QINT8, "Conversion of JSON Value: 1.5 to type: qint8"),
        (DataType.DT_RESOURCE, "Conversion of JSON Value: 1.5 to type: resource"),
    ],
)
def test_unsupported_dtypes_are_unimplemented(dtype: DataType, message: str) -> None:
    error = decode_error(b'{"inputs": [1.5]}', signature(x=dtype))
    assert (error.code, error.message) == (Code.UNIMPLEMENTED, message)


def test_dim_zero_may_differ_between_columnar_inputs() -> None:
    _, tensors = decode(b'{"inputs": {"a": [1, 2, 3], "b": [[1.5]]}}', signature(a=I64, b=F32))
    check(tensors, {"a": T("int64", (3,), [1, 2, 3]), "b": T("float32", (1, 1), [[1.5]])})


# --- the vectorized path ------------------------------------------------------------------------


def _forbid_slow_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object) -> None:
        raise AssertionError("element-by-element path used")

    monkeypatch.setattr(json_tensor, "fill", forbidden)
    monkeypatch.setattr(predict_rows, "fill", forbidden)


def test_big_flat_arrays_take_the_vectorized_path(monkeypatch: pytest.MonkeyPatch) -> None:
    _forbid_slow_path(monkeypatch)
    values = np.random.default_rng(5).random(200_000)
    body = b'{"instances": [' + b",".join(repr(v).encode() for v in values.tolist()) + b"]}"
    _, tensors = decode(body, signature(x=F32))
    np.testing.assert_array_equal(tensors["x"], values.astype(np.float32))
    _, tensors = decode(body.replace(b"instances", b"inputs"), signature(x=F64))
    np.testing.assert_array_equal(tensors["x"], values)


def test_named_rows_of_numbers_take_the_vectorized_path(monkeypatch: pytest.MonkeyPatch) -> None:
    _forbid_slow_path(monkeypatch)
    rows = b",".join(b'{"a": [%d, %d], "b": %d.5}' % (i, i + 1, i) for i in range(1000))
    _, tensors = decode(b'{"instances": [' + rows + b"]}", signature(a=I64, b=F32))
    assert tensors["a"].shape == (1000, 2) and tensors["a"][999].tolist() == [999, 1000]
    assert tensors["b"].dtype == np.float32 and tensors["b"][10] == 10.5


@pytest.mark.parametrize(
    ("dtype", "value"),
    [
        (F32, b"[1.0, true, 2.0]"),  # numpy would read true as 1.0
        (F32, b"[[0.5, 1], [false, 2]]"),
        (I32, b"[1, 2, true]"),  # numpy would read true as 1
        (I32, b"[1, 2.0]"),
        (F32, b'["1.0", 2.0]'),  # numpy would convert the string
        (I32, b"[1, 2147483648]"),
        (DataType.DT_UINT8, b"[1, -2147483649]"),
        (DataType.DT_UINT64, b"[18446744073709551615, -1]"),
        (BOOL, b"[true, 0]"),
        (F32, b"[[1.0], [2.0, 3.0]]"),
    ],
)
def test_the_vectorized_path_never_accepts_what_tf_rejects(dtype: DataType, value: bytes) -> None:
    error = decode_error(b'{"inputs": ' + value + b"}", signature(x=dtype))
    assert error.code is Code.INVALID_ARGUMENT


def _exact(value: object, dtype: DataType) -> np.ndarray | None:
    shape = dense_shape(value)
    leaves: list[object] = []
    try:
        fill(value, shape, dtype, leaves)
        return to_array(leaves, shape, dtype)
    except ServingError:
        return None


ATOMS: list[object] = [0, 1, -1, 7, 2**31, -(2**31) - 1, 2**32, 2**63, 2**64 - 1, -(2**63)]
ATOMS += [0.0, 1.0, -0.0, 0.5, 1e39, float("nan"), float("inf"), True, False, None, "1", {}]


@pytest.mark.parametrize(
    "dtype", [F32, F64, I32, I64, DataType.DT_INT8, DataType.DT_UINT8, DataType.DT_UINT64, BOOL]
)
def test_the_vectorized_path_agrees_with_the_exact_path(dtype: DataType) -> None:
    rng = random.Random(int(dtype))
    for _ in range(3000):
        width = rng.randint(1, 3)
        if rng.random() < 0.5:
            value: object = [rng.choice(ATOMS) for _ in range(width)]
        else:
            value = [
                [rng.choice(ATOMS) for _ in range(rng.choice((width, width, 2)))] for _ in range(2)
            ]
        exact = _exact(value, dtype)
        # A caller may say "no booleans" only when the document holds none.
        bool_free = _bool_free(value)
        for fast in [
            fast_tensor(value, dtype),
            *([fast_tensor(value, dtype, booleans=False)] * bool_free),
        ]:
            if fast is None:
                continue  # undecided: the exact path decides
            assert exact is not None, value
            assert (fast.dtype, fast.shape) == (exact.dtype, exact.shape), value
            np.testing.assert_array_equal(fast, exact)


def _bool_free(value: object) -> bool:
    if isinstance(value, list):
        return all(map(_bool_free, value))
    return type(value) is not bool


@pytest.mark.parametrize("dtype", [F32, F64])
def test_float_rows_agree_with_the_exact_path_at_every_width(dtype: DataType) -> None:
    """The packed path (rank 1 and 2 float lists) on values numpy and struct could round or
    overflow differently: ints up to 2**64, doubles beyond float32, tiny and negative values."""
    rng = random.Random(7)
    atoms: list[object] = [2**64 - 1, -(2**63), 2**53 + 1, 16777217, 3.4028235e38, 3.5e38]
    atoms += [-1e39, 1e-46, -0.0, 0.1, 1 / 3, float("inf"), float("nan"), 5e-324]
    for width in (1, 2, 63, 64, 65, 784):
        for rows in (0, 1, 3):
            leaves = [rng.choice(atoms) if rng.random() < 0.3 else rng.uniform(-9, 9)]
            leaves += [
                rng.choice(atoms) if rng.random() < 0.3 else rng.random()
                for _ in range(width * max(rows, 1) - 1)
            ]
            value: object = (
                leaves if rows == 0 else [leaves[r * width : (r + 1) * width] for r in range(rows)]
            )
            exact = _exact(value, dtype)
            assert exact is not None
            for booleans in (True, False):
                fast = fast_tensor(value, dtype, booleans=booleans)
                assert fast is not None, (width, rows)
                assert (fast.dtype, fast.shape) == (exact.dtype, exact.shape)
                np.testing.assert_array_equal(fast, exact)


@pytest.mark.parametrize(
    ("document", "possible"),
    [
        (b'{"instances": [[1.0, 2e-5, -3E+2]]}', False),
        (b'{"inputs": {"a": [1], "b": [2]}}', False),
        (b'{"instances": [true]}', True),
        (b'{"instances": [false]}', True),
        (b'{"signature_name": "serving_default", "instances": [1]}', True),  # r, u: cannot tell
        (b'{"instances": [{"f": 1, "l": 2}]}', True),
    ],
)
def test_may_hold_booleans(document: bytes, possible: bool) -> None:
    assert may_hold_booleans(document) is possible


def test_a_boolean_among_floats_is_rejected_on_the_packed_path() -> None:
    for value in ([1.0] * 100 + [True], [[0.5] * 70, [0.5] * 69 + [False]]):
        assert fast_tensor(value, F32) is None
        assert _exact(value, F32) is None
