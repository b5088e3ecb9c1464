"""The Open Inference Protocol's request decoders under arbitrary input: the V2 JSON document and
the binary tensor data extension (JSON header + raw bytes)."""

from __future__ import annotations

import contextlib
import json

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from pyserving.api.v2.binary import parse_body
from pyserving.codec import v2_json
from pyserving.codec.v2_raw import encode_raw
from pyserving.errors import ServingError
from tests.fuzz.conftest import FUZZ, allocation_limit

DATATYPES = [
    "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
    "FP16", "FP32", "FP64", "BYTES", "BF16", "fp32", "",
]  # fmt: skip

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
)
_data = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=5), max_leaves=30)
_shapes = st.lists(
    st.integers(min_value=-2, max_value=6) | st.sampled_from([2**31, 2**40, 2**62]), max_size=4
)
_inputs = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["x", "", "y"]),
        "shape": _shapes,
        "datatype": st.sampled_from(DATATYPES),
    },
    optional={
        "data": _data,
        "parameters": st.dictionaries(
            st.sampled_from(["binary_data_size", "other"]),
            st.integers(min_value=-1, max_value=64) | st.text(max_size=3),
            max_size=2,
        ),
    },
)
_documents = st.fixed_dictionaries(
    {"inputs": st.lists(_inputs, max_size=3)},
    optional={
        "id": st.text(max_size=4) | st.integers(),
        "outputs": st.lists(
            st.fixed_dictionaries(
                {"name": st.text(max_size=3)},
                optional={"parameters": st.dictionaries(st.text(max_size=12), _scalars)},
            ),
            max_size=2,
        ),
        "parameters": st.dictionaries(st.text(max_size=4), _scalars, max_size=2) | st.integers(),
    },
)


def _limit(body: bytes) -> int:
    return 1 << 20 | 96 * len(body)


def _parse(body: bytes, header_length: bytes | None) -> None:
    with contextlib.suppress(ServingError):
        parse_body(body, header_length)


@FUZZ
@given(body=st.binary(max_size=300))
def test_arbitrary_json_bodies_only_raise_serving_errors(body: bytes) -> None:
    with allocation_limit(_limit(body)):
        _parse(body, None)


@FUZZ
@given(document=_documents)
def test_v2_documents_only_raise_serving_errors(document: object) -> None:
    body = json.dumps(document).encode()
    with allocation_limit(_limit(body)):
        _parse(body, None)


@FUZZ
@given(
    document=_documents,
    binary=st.binary(max_size=200),
    header_length=st.none() | st.integers(min_value=-5, max_value=600),
    junk=st.sampled_from([b"", b"x", b" 12", b"1e3", b"-1"]),
)
def test_binary_extension_bodies_only_raise_serving_errors(
    document: object, binary: bytes, header_length: int | None, junk: bytes
) -> None:
    header = json.dumps(document).encode()
    body = header + binary
    length = str(len(header) if header_length is None else header_length).encode() + junk
    with allocation_limit(_limit(body)):
        _parse(body, length)


_arrays = st.sampled_from(
    ["float32", "float64", "int8", "int32", "int64", "uint8", "bool"]
).flatmap(
    lambda dtype: st.lists(
        st.integers(0, 1) if dtype == "bool" else st.integers(0 if dtype == "uint8" else -100, 100),
        min_size=0,
        max_size=12,
    ).map(lambda values: np.array(values, dtype=dtype))
)


@FUZZ
@given(arrays=st.lists(_arrays, min_size=1, max_size=3), binary=st.lists(st.booleans(), min_size=3))
def test_decoded_tensors_round_trip(arrays: list[np.ndarray], binary: list[bool]) -> None:
    """JSON and binary inputs decode to the arrays they were encoded from."""
    inputs, raw = [], b""
    for index, array in enumerate(arrays):
        document, _ = v2_json.output_json(f"in{index}", array)
        if binary[index]:
            chunk = encode_raw(array)
            del document["data"]
            document["parameters"] = {"binary_data_size": len(chunk)}
            raw += chunk
        inputs.append(document)
    header = v2_json.dumps({"inputs": inputs})
    request = parse_body(header + raw, str(len(header)).encode())
    for array, decoded in zip(arrays, request.inputs, strict=True):
        assert decoded.array.dtype == array.dtype
        np.testing.assert_array_equal(decoded.array, array)
