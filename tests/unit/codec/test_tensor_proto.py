"""TensorProto <-> numpy against the real TensorFlow: ``tf.make_tensor_proto`` / ``tf.make_ndarray``
(Python) and ``tf.io.parse_tensor`` (TF core's C++ ``Tensor::FromProto``) are the references."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf
from tensorflow.core.framework import tensor_pb2 as tf_tensor_pb2

from pyserving.codec.tensor_proto import (
    MAX_EXPANDED_BYTES,
    MAX_RANK,
    decode_tensor,
    encode_tensor,
)
from pyserving.errors import Code, ServingError
from pyserving.protos import tensor_pb2, tensor_shape_pb2

ARRAYS: dict[str, np.ndarray] = {
    "float32": np.array([[1.5, -2.0, 3.25], [0.0, np.inf, -np.inf]], dtype=np.float32),
    "float64": np.array([1e300, -2.5, 0.1], dtype=np.float64),
    "int8": np.array([-128, 0, 127], dtype=np.int8),
    "int16": np.array([[-32768, 7], [8, 32767]], dtype=np.int16),
    "int32": np.array([-(2**31), 0, 2**31 - 1], dtype=np.int32),
    "int64": np.array([-(2**63), 1, 2**63 - 1], dtype=np.int64),
    "uint8": np.array([0, 200, 255], dtype=np.uint8),
    "uint16": np.array([0, 65535], dtype=np.uint16),
    "uint32": np.array([0, 2**32 - 1], dtype=np.uint32),
    "uint64": np.array([0, 2**64 - 1], dtype=np.uint64),
    "bool": np.array([[True, False], [False, True]]),
    "complex64": np.array([1 + 2j, -3.5j], dtype=np.complex64),
    "complex128": np.array([[1e200 + 1j], [0 - 2j]], dtype=np.complex128),
    "float16": np.array([0.5, -1.0, 65504.0, 6e-8], dtype=np.float16),
    "string": np.array([[b"a", b""], [b"\x00\xff", "é".encode()]], dtype=object),
    "scalar": np.array(7.0, dtype=np.float32),
    "empty": np.zeros((0, 3), dtype=np.float32),
}


def ours(proto: tf_tensor_pb2.TensorProto) -> tensor_pb2.TensorProto:
    converted = tensor_pb2.TensorProto()
    converted.ParseFromString(proto.SerializeToString())
    return converted


def theirs(proto: tensor_pb2.TensorProto) -> tf_tensor_pb2.TensorProto:
    converted = tf_tensor_pb2.TensorProto()
    converted.ParseFromString(proto.SerializeToString())
    return converted


def tf_core_decode(proto: tensor_pb2.TensorProto, dtype: tf.DType) -> np.ndarray:
    return np.asarray(tf.io.parse_tensor(proto.SerializeToString(), dtype).numpy())


def assert_same(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.shape == expected.shape
    if expected.dtype == object:
        assert actual.dtype == object
        assert actual.tolist() == expected.tolist()
    else:
        assert actual.dtype == expected.dtype
        np.testing.assert_array_equal(actual, expected)


@pytest.mark.parametrize("key", list(ARRAYS))
def test_decodes_what_tf_make_tensor_proto_builds(key: str) -> None:
    array = ARRAYS[key]
    assert_same(decode_tensor(ours(tf.make_tensor_proto(array)), "x"), array)


@pytest.mark.parametrize("as_content", [False, True], ids=["typed", "content"])
@pytest.mark.parametrize("key", list(ARRAYS))
def test_tf_reads_what_we_encode(key: str, as_content: bool) -> None:
    array = ARRAYS[key]
    proto = tensor_pb2.TensorProto()
    encode_tensor(array, proto, as_content=as_content)
    assert_same(tf.make_ndarray(theirs(proto)), array)
    assert_same(decode_tensor(proto, "x"), array)
    if array.dtype != object:  # TF core (C++) parses the same bytes to the same values
        assert_same(tf_core_decode(proto, tf.as_dtype(array.dtype)), array)


def test_encoding_uses_typed_fields_by_default_and_content_on_request() -> None:
    typed, content = tensor_pb2.TensorProto(), tensor_pb2.TensorProto()
    encode_tensor(np.array([3.0], dtype=np.float32), typed)
    encode_tensor(np.array([3.0], dtype=np.float32), content, as_content=True)
    assert list(typed.float_val) == [3.0] and not typed.tensor_content
    assert content.tensor_content == np.float32(3.0).tobytes() and not content.float_val
    strings = tensor_pb2.TensorProto()
    encode_tensor(np.array(["é", "b"]), strings, as_content=True)
    assert list(strings.string_val) == ["é".encode(), b"b"]


def test_half_travels_as_bits_in_half_val() -> None:
    proto = tensor_pb2.TensorProto()
    encode_tensor(np.array([1.0, -2.0], dtype=np.float16), proto)
    assert list(proto.half_val) == [0x3C00, 0xC000]


def typed(dtype: int, dims: list[int], **fields: object) -> tensor_pb2.TensorProto:
    proto = tensor_pb2.TensorProto(dtype=dtype, **fields)  # type: ignore[arg-type]
    for size in dims:
        proto.tensor_shape.dim.add().size = size
    return proto


@pytest.mark.parametrize(
    ("proto", "tf_dtype"),
    [
        (typed(1, [4], float_val=[1.0, 2.0]), tf.float32),  # last value repeated
        (typed(1, [2, 2], float_val=[5.0]), tf.float32),
        (typed(3, [3]), tf.int32),  # no values: zeros
        (typed(7, [3], string_val=[b"a", b"b"]), tf.string),
        (typed(7, [2]), tf.string),
        (typed(19, [3], half_val=[0x3C00]), tf.float16),
        (typed(8, [2], scomplex_val=[1.0, 2.0]), tf.complex64),
        (typed(6, [2], int_val=[300, -129]), tf.int8),  # wraps like TF's static_cast
        (typed(10, [3], bool_val=[True]), tf.bool),
    ],
)
def test_typed_field_rules_match_tf_core(proto: tensor_pb2.TensorProto, tf_dtype: tf.DType) -> None:
    expected = tf_core_decode(proto, tf_dtype)
    if tf_dtype == tf.string:
        expected = expected.astype(object)
    assert_same(decode_tensor(proto, "x"), expected)
    # tf.make_ndarray (Python) zero-fills strings with str "" and cannot wrap ints: C++ only there.
    if (proto.string_val or tf_dtype != tf.string) and not proto.int_val:
        assert_same(decode_tensor(proto, "x"), tf.make_ndarray(theirs(proto)))


def test_tensor_content_is_zero_copy() -> None:
    proto = tensor_pb2.TensorProto()
    encode_tensor(np.arange(1024, dtype=np.float32), proto, as_content=True)
    decoded = decode_tensor(proto, "x")
    assert not decoded.flags.owndata
    assert not decoded.flags.writeable
    np.testing.assert_array_equal(decoded, np.arange(1024, dtype=np.float32))


def test_string_tensor_content_uses_tf_string_list_encoding() -> None:
    values = [b"", b"abc", b"x" * 300]
    content = bytes([0, 3, 0xAC, 0x02]) + b"abc" + b"x" * 300  # varint lengths 0, 3, 300
    decoded = decode_tensor(typed(7, [3], tensor_content=content), "x")
    assert decoded.tolist() == values


GIB = 1 << 30

MALFORMED = {
    "content_too_short": typed(1, [2], tensor_content=b"abc"),
    "content_too_long": typed(1, [1], tensor_content=b"abcdefgh"),
    "content_for_empty_shape": typed(1, [0], tensor_content=b"abcd"),
    "dt_invalid": typed(0, [1], float_val=[1.0]),
    "unknown_dtype": typed(99, [1]),
    "ref_dtype": typed(101, [1], float_val=[1.0]),
    "negative_dim": typed(1, [-1], float_val=[1.0]),
    "unknown_rank": tensor_pb2.TensorProto(
        dtype=1,  # type: ignore[arg-type]
        float_val=[1.0],
        tensor_shape=tensor_shape_pb2.TensorShapeProto(unknown_rank=True),
    ),
    "too_many_dims": typed(1, [1] * 255, float_val=[1.0]),
    "more_dims_than_numpy": typed(1, [1] * (MAX_RANK + 1), float_val=[1.0]),
    "int64_overflow": typed(1, [2**62, 4], float_val=[1.0]),
    # Found by tests/fuzz: numpy refuses such a shape even though it holds no element.
    "empty_with_huge_dims": typed(1, [0, 2**20, 2**41]),
    "gigabytes_repeated": typed(1, [GIB], float_val=[1.0]),
    "gigabytes_zero_filled": typed(1, [GIB, 8]),
    "gigabytes_of_strings": typed(7, [GIB], string_val=[b"a"]),
    "gigabytes_content": typed(1, [GIB], tensor_content=b"abcd"),
    "gigabytes_of_string_content": typed(7, [GIB], tensor_content=b"\x01a"),
    "more_values_than_elements": typed(1, [2], float_val=[1.0, 2.0, 3.0]),
    "wrong_field": typed(1, [1], int_val=[1]),
    "extra_field": typed(1, [1], float_val=[1.0], double_val=[1.0]),
    "odd_complex": typed(8, [1], scomplex_val=[1.0, 2.0, 3.0]),
    "truncated_string_length": typed(7, [1], tensor_content=b"\xff"),
    "string_lengths_mismatch": typed(7, [2], tensor_content=b"\x01\x05ab"),
}


@pytest.mark.parametrize("key", list(MALFORMED))
def test_malformed_tensors_are_invalid_argument(key: str) -> None:
    with pytest.raises(ServingError) as caught:
        decode_tensor(MALFORMED[key], "my_input")
    assert caught.value.code == Code.INVALID_ARGUMENT
    assert caught.value.message.startswith("tensor parsing error: my_input (")


@pytest.mark.parametrize("key", ["content_too_short", "negative_dim", "dt_invalid"])
def test_tf_core_rejects_them_too(key: str) -> None:
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf_core_decode(MALFORMED[key], tf.float32)


def test_highest_rank_decodes() -> None:
    assert decode_tensor(typed(1, [1] * MAX_RANK, float_val=[1.0]), "x").ndim == MAX_RANK


def test_expansion_limit_allows_what_fits() -> None:
    elements = MAX_EXPANDED_BYTES // 4
    assert decode_tensor(typed(1, [elements], float_val=[2.0]), "x").shape == (elements,)
    with pytest.raises(ServingError):
        decode_tensor(typed(1, [elements + 1], float_val=[2.0]), "x")


@pytest.mark.parametrize("dtype", [14, 11, 12, 13, 15, 16, 20, 21])
def test_types_numpy_cannot_hold_are_unimplemented(dtype: int) -> None:
    with pytest.raises(ServingError) as caught:
        decode_tensor(typed(dtype, [1]), "x")
    assert caught.value.code == Code.UNIMPLEMENTED
    assert caught.value.message.startswith("tensor parsing error: x (")


def test_arrays_no_tensor_proto_describes_are_internal_errors() -> None:
    with pytest.raises(ServingError) as caught:
        encode_tensor(np.array(["2020-01-01"], dtype="datetime64[D]"), tensor_pb2.TensorProto())
    assert caught.value.code == Code.INTERNAL


@pytest.mark.parametrize("as_content", [False, True], ids=["typed", "content"])
def test_bfloat16_outputs_encode_like_tf(as_content: bool) -> None:
    array = np.array([1.0, -2.5], dtype=tf.bfloat16.as_numpy_dtype)  # what TF models return
    proto = tensor_pb2.TensorProto()
    encode_tensor(array, proto, as_content=as_content)
    assert proto.dtype == tf.bfloat16.as_datatype_enum
    decoded = tf.make_ndarray(theirs(proto))
    assert decoded.dtype == array.dtype
    np.testing.assert_array_equal(decoded.astype(np.float32), [1.0, -2.5])
