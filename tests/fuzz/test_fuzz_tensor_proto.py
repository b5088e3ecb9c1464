"""The TensorProto decoder (gRPC Predict inputs, warmup and request-log records)."""

from __future__ import annotations

import numpy as np
from google.protobuf.message import DecodeError
from hypothesis import given
from hypothesis import strategies as st

from pyserving.codec.tensor_proto import MAX_EXPANDED_BYTES, decode_tensor, encode_tensor
from pyserving.dtypes import DataType
from pyserving.errors import ServingError
from pyserving.protos import tensor_pb2
from tests.fuzz.conftest import FUZZ, allocation_limit

_SLACK = 1 << 20


def _limit(message_bytes: int) -> int:
    # Decoded values are at most a few times the wire form (varints widen to 8 bytes, strings
    # become Python objects), or the documented fill-rule cap.
    return MAX_EXPANDED_BYTES + _SLACK + 64 * message_bytes


def _decode(proto: tensor_pb2.TensorProto) -> np.ndarray | None:
    try:
        return decode_tensor(proto, "x")
    except ServingError:
        return None


@FUZZ
@given(wire=st.binary(max_size=400))
def test_arbitrary_wire_bytes(wire: bytes) -> None:
    try:
        proto = tensor_pb2.TensorProto.FromString(wire)
    except DecodeError:
        return  # grpc's deserializer fails the call before any handler runs
    with allocation_limit(_limit(len(wire))):
        _decode(proto)


_dtypes = st.sampled_from([int(d) for d in DataType] + [99, -1])
_dims = st.lists(st.one_of(st.integers(-2, 6), st.integers(2**20, 2**62), st.just(0)), max_size=5)


@st.composite
def _protos(draw: st.DrawFn) -> tensor_pb2.TensorProto:
    proto = tensor_pb2.TensorProto(dtype=draw(_dtypes))  # type: ignore[arg-type]
    for size in draw(_dims):
        proto.tensor_shape.dim.add(size=size)
    proto.tensor_shape.unknown_rank = draw(st.booleans()) and draw(st.booleans())
    field = draw(
        st.sampled_from(
            [
                "float_val",
                "int_val",
                "int64_val",
                "string_val",
                "bool_val",
                "double_val",
                "half_val",
                "uint32_val",
                "content",
                "none",
            ]
        )
    )
    values = draw(st.integers(0, 8))
    if field == "content":
        proto.tensor_content = draw(st.binary(max_size=64))
    elif field == "float_val":
        proto.float_val.extend(draw(st.lists(st.floats(width=32), max_size=values)))
    elif field == "double_val":
        proto.double_val.extend(draw(st.lists(st.floats(), max_size=values)))
    elif field in ("int_val", "half_val"):
        getattr(proto, field).extend(
            draw(st.lists(st.integers(-(2**31), 2**31 - 1), max_size=values))
        )
    elif field == "int64_val":
        proto.int64_val.extend(draw(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=values)))
    elif field == "uint32_val":
        proto.uint32_val.extend(draw(st.lists(st.integers(0, 2**32 - 1), max_size=values)))
    elif field == "string_val":
        proto.string_val.extend(draw(st.lists(st.binary(max_size=8), max_size=values)))
    elif field == "bool_val":
        proto.bool_val.extend(draw(st.lists(st.booleans(), max_size=values)))
    return proto


@FUZZ
@given(proto=_protos())
def test_structured_tensors(proto: tensor_pb2.TensorProto) -> None:
    wire = proto.SerializeToString()
    with allocation_limit(_limit(len(wire))):
        array = _decode(proto)
    if array is None:
        return
    count = 1
    for dim in proto.tensor_shape.dim:
        count *= dim.size
    assert array.size == count
    assert array.nbytes <= MAX_EXPANDED_BYTES or array.nbytes <= len(wire) * 8


_numeric = st.sampled_from(
    [
        np.float32,
        np.float64,
        np.int32,
        np.int64,
        np.uint8,
        np.int8,
        np.int16,
        np.uint16,
        np.uint32,
        np.uint64,
        np.bool_,
        np.float16,
    ]
)


@FUZZ
@given(
    dtype=_numeric,
    shape=st.lists(st.integers(0, 4), max_size=3),
    content=st.booleans(),
    data=st.data(),
)
def test_numeric_round_trip(
    dtype: type, shape: list[int], content: bool, data: st.DataObject
) -> None:
    count = int(np.prod(shape)) if shape else 1
    raw = data.draw(
        st.binary(
            min_size=count * np.dtype(dtype).itemsize, max_size=count * np.dtype(dtype).itemsize
        )
    )
    if dtype is np.bool_:  # only 0/1 bytes are bools
        array = (np.frombuffer(raw, dtype=np.uint8) % 2 == 1).reshape(shape)
    else:
        array = np.frombuffer(raw, dtype=dtype).reshape(shape)
    proto = tensor_pb2.TensorProto()
    encode_tensor(array, proto, as_content=content)
    back = decode_tensor(tensor_pb2.TensorProto.FromString(proto.SerializeToString()), "x")
    assert back.dtype == array.dtype and back.shape == array.shape
    if array.dtype.kind == "f":
        # Values, signs (-0.0) and NaN-ness survive; a signalling NaN's payload may be quieted
        # by the proto's float fields, as in TensorFlow.
        np.testing.assert_array_equal(back, array)
        assert np.array_equal(np.signbit(back), np.signbit(array))
    else:
        assert back.tobytes() == array.tobytes()


@FUZZ
@given(values=st.lists(st.binary(max_size=10), max_size=6))
def test_string_round_trip(values: list[bytes]) -> None:
    array = np.array(values, dtype=object).reshape(len(values))
    proto = tensor_pb2.TensorProto()
    encode_tensor(array, proto)
    back = decode_tensor(proto, "x")
    assert list(back) == values
