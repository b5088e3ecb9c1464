"""TF Serving's REST JSON decoders (row, columnar, b64) under arbitrary bodies."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyserving.codec.json_encode import encode_predict_response
from pyserving.codec.json_parse import parse_json_body
from pyserving.codec.json_tensor import (
    Format,
    decode_predict_inputs,
    decode_tensor,
    request_signature_name,
)
from pyserving.dtypes import DataType
from pyserving.errors import ServingError
from pyserving.signature import Signature, TensorSpec
from tests.fuzz.conftest import FUZZ, allocation_limit


def _signature(**inputs: DataType) -> Signature:
    specs = {name: TensorSpec(f"{name}:0", dtype) for name, dtype in inputs.items()}
    return Signature("serving_default", specs, {"y": TensorSpec("y:0", DataType.DT_FLOAT)})


SIGNATURES = [
    _signature(x=DataType.DT_FLOAT),
    _signature(x=DataType.DT_DOUBLE),
    _signature(x=DataType.DT_INT32),
    _signature(x=DataType.DT_INT64),
    _signature(x=DataType.DT_UINT8),
    _signature(x=DataType.DT_BOOL),
    _signature(x=DataType.DT_STRING),
    _signature(x=DataType.DT_HALF),
    _signature(x=DataType.DT_FLOAT, tokens=DataType.DT_STRING),
]

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.builds(lambda s: {"b64": s}, st.sampled_from(["", "AAEC", "aGVsbG8=", "!!", "a"]))
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=40,
)
_keys = st.sampled_from(["instances", "inputs", "signature_name", "x", "tokens", "y"])
_documents = st.dictionaries(_keys, _values, max_size=3) | _values


def _render(document: object, cut: int, junk: bytes) -> bytes:
    text = json.dumps(document, allow_nan=True).encode()
    if cut:
        text = text[: max(0, len(text) - cut)] + junk
    return text


def _decode(body: bytes, signature: Signature) -> tuple[Format, dict[str, np.ndarray]] | None:
    try:
        document = parse_json_body(body)
        request_signature_name(document)
        assert isinstance(document, dict)
        return decode_predict_inputs(document, signature)
    except ServingError:
        return None


def _limit(body: bytes) -> int:
    # Python floats/ints while the JSON is parsed, plus the arrays built from them.
    return 1 << 20 | 96 * len(body)


@FUZZ
@given(body=st.binary(max_size=300), which=st.integers(0, len(SIGNATURES) - 1))
def test_arbitrary_bytes_only_raise_serving_errors(body: bytes, which: int) -> None:
    with allocation_limit(_limit(body)):
        _decode(body, SIGNATURES[which])


@FUZZ
@given(
    document=_documents,
    which=st.integers(0, len(SIGNATURES) - 1),
    cut=st.integers(0, 3),
    junk=st.sampled_from([b"", b"]", b"}", b",", b"\x00", b"\xff", b"NaN", b'{"b64":']),
)
def test_json_shaped_bodies_only_raise_serving_errors(
    document: object, which: int, cut: int, junk: bytes
) -> None:
    body = _render(document, cut, junk)
    with allocation_limit(_limit(body)):
        _decode(body, SIGNATURES[which])


_float_tensors = st.recursive(
    st.floats(width=32, allow_nan=True, allow_infinity=True),
    lambda inner: st.lists(inner, min_size=1, max_size=4),
    max_leaves=30,
)


@FUZZ
@given(value=_float_tensors)
def test_float_tensors_round_trip(value: object) -> None:
    body = json.dumps({"inputs": value}, allow_nan=True).encode()
    decoded = _decode(body, SIGNATURES[0])
    if decoded is None:
        return  # ragged nesting: refused with TF's message, nothing to round-trip
    fmt, tensors = decoded
    assert fmt is Format.COLUMNAR
    sent = tensors["x"]
    answer = parse_json_body(encode_predict_response(fmt, {"y": sent}))
    assert isinstance(answer, dict)
    back = decode_tensor(answer["outputs"], DataType.DT_FLOAT)
    assert back.shape == sent.shape
    np.testing.assert_array_equal(back, sent)  # NaN == NaN for assert_array_equal


@FUZZ
@given(values=st.lists(st.binary(max_size=12), min_size=1, max_size=6))
def test_b64_strings_round_trip(values: list[bytes]) -> None:
    import base64

    body = json.dumps({"instances": [{"b64": base64.b64encode(v).decode()} for v in values]})
    decoded = _decode(body.encode(), SIGNATURES[6])
    assert decoded is not None
    fmt, tensors = decoded
    answer = parse_json_body(encode_predict_response(fmt, {"y_bytes": tensors["x"]}))
    assert isinstance(answer, dict)
    returned = [base64.b64decode(item["b64"]) for item in answer["predictions"]]
    assert returned == values


@pytest.mark.parametrize("depth", [10, 1000, 100_000])
def test_deep_nesting_is_refused_without_recursion(depth: int) -> None:
    body = b'{"inputs": ' + b"[" * depth + b"1.0" + b"]" * depth + b"}"
    with allocation_limit(_limit(body)):
        result = _decode(body, SIGNATURES[0])
    if depth > 1000:
        assert result is None


def test_nan_literal_is_a_float() -> None:
    decoded = _decode(b'{"inputs": [NaN, Infinity]}', SIGNATURES[0])
    assert decoded is not None
    assert math.isnan(decoded[1]["x"][0])
