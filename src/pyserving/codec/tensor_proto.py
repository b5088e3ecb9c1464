"""``tensorflow.TensorProto`` <-> numpy, following TensorFlow core's ``Tensor::FromProto`` rules.

Decoding (:func:`decode_tensor`):

* the shape must be a valid, fully known TensorShape: no ``unknown_rank``, no negative dimension,
  an element count that fits int64, and at most :data:`MAX_RANK` dimensions (TF allows 254, numpy
  holds 64 since 2.0, 32 before);
* a non-empty ``tensor_content`` holds the raw little-endian row-major values and must be exactly
  ``elements * itemsize`` bytes (strings: TF's ``EncodeStringList`` layout, all varint32 lengths
  first, then the bytes). Numeric content becomes a zero-copy, read-only ``np.frombuffer`` view
  when the buffer is aligned and the host is little-endian;
* otherwise the typed field of the dtype (``float_val``, ``int_val``, ``half_val``...) is read with
  TF's rule: fewer values than elements -> the last value is repeated; no values -> zeros (``b""``
  for strings);
* what TF would silently accept but is almost certainly a client bug is rejected: values in a typed
  field that does not belong to the dtype, and more typed values than the shape has elements (TF
  drops the extra values);
* memory is bounded: the repeat/zero-fill rule may build at most :data:`MAX_EXPANDED_BYTES` per
  tensor, and no tensor may have more elements than ``--max_tensor_elements_per_request``
  (:mod:`~pyserving.codec.element_limit`): a shape claiming gigabytes with a handful of values is
  rejected before any allocation.
  Every other path allocates at most what the request message itself carries.

Every failure is a :class:`~pyserving.errors.ServingError`: INVALID_ARGUMENT with TF's message
``tensor parsing error: <alias>`` followed by the reason in parentheses, or UNIMPLEMENTED for dtypes
TF knows but numpy cannot hold (bfloat16, quantized, resource, variant...).

Encoding (:func:`encode_tensor`) writes the typed ``*_val`` fields (TF's ``AsProtoField``), or raw
``tensor_content`` when asked (``--enable_serialization_as_tensor_content``); strings always go to
``string_val``, which every client (``tf.make_ndarray`` included) can read.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from pyserving.codec.element_limit import max_elements, over_limit
from pyserving.dtypes import DataType, from_numpy
from pyserving.errors import Code, ServingError
from pyserving.protos import tensor_pb2

MAX_EXPANDED_BYTES: Final = 64 * 1024 * 1024
"""Largest tensor the repeat/zero-fill rule may build, in bytes (object pointers for strings)."""

MAX_RANK: Final = 64 if int(np.__version__.split(".")[0]) >= 2 else 32
_INT64_MAX: Final = 2**63 - 1
_LITTLE_ENDIAN: Final = sys.byteorder == "little"


@dataclass(frozen=True, slots=True)
class _Field:
    """Where a dtype's values live in a TensorProto and how to read them."""

    name: str
    values: np.dtype[Any]
    """The numpy type of the repeated field's values (before conversion to the tensor's dtype)."""
    per_element: int = 1
    """Field values per tensor element: 2 for complex numbers (real, imaginary)."""


_F32, _F64, _I32 = np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int32)

_FIELDS: Final[dict[DataType, _Field]] = {
    DataType.DT_FLOAT: _Field("float_val", _F32),
    DataType.DT_DOUBLE: _Field("double_val", _F64),
    DataType.DT_INT32: _Field("int_val", _I32),
    DataType.DT_UINT8: _Field("int_val", _I32),
    DataType.DT_INT16: _Field("int_val", _I32),
    DataType.DT_INT8: _Field("int_val", _I32),
    DataType.DT_UINT16: _Field("int_val", _I32),
    DataType.DT_STRING: _Field("string_val", np.dtype(object)),
    DataType.DT_COMPLEX64: _Field("scomplex_val", _F32, 2),
    DataType.DT_INT64: _Field("int64_val", np.dtype(np.int64)),
    DataType.DT_BOOL: _Field("bool_val", np.dtype(np.bool_)),
    DataType.DT_COMPLEX128: _Field("dcomplex_val", _F64, 2),
    DataType.DT_HALF: _Field("half_val", _I32),
    DataType.DT_UINT32: _Field("uint32_val", np.dtype(np.uint32)),
    DataType.DT_UINT64: _Field("uint64_val", np.dtype(np.uint64)),
}

# The numpy type of each decodable dtype (quantized types are left out on purpose: numpy would
# hold them as plain ints and the runtime would feed the wrong TensorFlow type).
_NUMPY: Final[dict[DataType, np.dtype[Any]]] = {
    DataType.DT_FLOAT: _F32,
    DataType.DT_DOUBLE: _F64,
    DataType.DT_INT32: _I32,
    DataType.DT_UINT8: np.dtype(np.uint8),
    DataType.DT_INT16: np.dtype(np.int16),
    DataType.DT_INT8: np.dtype(np.int8),
    DataType.DT_UINT16: np.dtype(np.uint16),
    DataType.DT_STRING: np.dtype(object),
    DataType.DT_COMPLEX64: np.dtype(np.complex64),
    DataType.DT_INT64: np.dtype(np.int64),
    DataType.DT_BOOL: np.dtype(np.bool_),
    DataType.DT_COMPLEX128: np.dtype(np.complex128),
    DataType.DT_HALF: np.dtype(np.float16),
    DataType.DT_UINT32: np.dtype(np.uint32),
    DataType.DT_UINT64: np.dtype(np.uint64),
}

_VALUE_FIELDS: Final = (
    "float_val",
    "double_val",
    "int_val",
    "string_val",
    "scomplex_val",
    "int64_val",
    "bool_val",
    "dcomplex_val",
    "half_val",
    "resource_handle_val",
    "variant_val",
    "uint32_val",
    "uint64_val",
)


class _Malformed(Exception):
    """A reason why a TensorProto cannot be decoded (becomes ``tensor parsing error``)."""

    def __init__(self, reason: str, code: Code = Code.INVALID_ARGUMENT) -> None:
        super().__init__(reason)
        self.code = code


def decode_tensor(proto: tensor_pb2.TensorProto, alias: str) -> np.ndarray:
    """The numpy array ``proto`` describes; ``alias`` names it in error messages."""
    try:
        return _decode(proto)
    except _Malformed as exc:
        raise ServingError(exc.code, f"tensor parsing error: {alias} ({exc})") from None


def _dtype(number: int) -> tuple[DataType, np.dtype[Any]]:
    try:
        dtype = DataType(number)
    except ValueError:
        raise _Malformed(f"unknown dtype {number}") from None
    if dtype is DataType.DT_INVALID:
        raise _Malformed("dtype is DT_INVALID")
    np_dtype = _NUMPY.get(dtype)
    if np_dtype is None:
        raise _Malformed(f"{dtype.name} tensors are not supported", Code.UNIMPLEMENTED)
    return dtype, np_dtype


def _shape(proto: tensor_pb2.TensorProto) -> tuple[tuple[int, ...], int]:
    """The dimensions and the element count of a fully defined shape."""
    shape_proto = proto.tensor_shape
    if shape_proto.unknown_rank:
        raise _Malformed("the shape has unknown rank")
    dims = tuple(int(d.size) for d in shape_proto.dim)
    if len(dims) > MAX_RANK:
        raise _Malformed(
            f"the shape has {len(dims)} dimensions, more than the {MAX_RANK} supported"
        )
    count = 1
    # numpy refuses a shape whose non-zero dimensions times the item size (up to 16 bytes)
    # overflow int64, even when another dimension is 0: refuse it here with a clear message.
    nonzero = 1
    for size in dims:
        if size < 0:
            raise _Malformed(f"the shape {_text(dims)} has a negative dimension")
        count *= size
        nonzero *= size or 1
    if count > _INT64_MAX:
        raise _Malformed(f"the shape {_text(dims)} has more than 2^63-1 elements")
    if nonzero * 16 > _INT64_MAX:
        raise _Malformed(f"the shape {_text(dims)} is too large to hold, even empty")
    return dims, count


def _text(dims: tuple[int, ...]) -> str:
    return "[" + ",".join(str(d) for d in dims) + "]"


def declared_elements(proto: tensor_pb2.TensorProto) -> int:
    """The element count ``proto``'s shape declares, without decoding it (0 for a shape
    :func:`decode_tensor` refuses anyway)."""
    try:
        return _shape(proto)[1]
    except _Malformed:
        return 0


def _decode(proto: tensor_pb2.TensorProto) -> np.ndarray:
    dtype, np_dtype = _dtype(proto.dtype)
    dims, count = _shape(proto)
    content = proto.tensor_content
    if content:
        if dtype is DataType.DT_STRING:
            return _decode_string_list(content, count).reshape(dims)
        return _from_content(content, np_dtype, dims, count)
    return _from_field(proto, dtype, np_dtype, dims, count)


def _from_content(
    content: bytes, np_dtype: np.dtype[Any], dims: tuple[int, ...], count: int
) -> np.ndarray:
    expected = count * np_dtype.itemsize
    if len(content) != expected:
        raise _Malformed(
            f"tensor_content holds {len(content)} bytes but shape {_text(dims)} "
            f"of {np_dtype.name} needs {expected}"
        )
    array = np.frombuffer(content, dtype=np_dtype.newbyteorder("<"))
    if not (_LITTLE_ENDIAN and array.flags.aligned):
        array = array.astype(np_dtype)  # byte-swapped or unaligned: one native copy
    return array.reshape(dims)


def _decode_string_list(content: bytes, count: int) -> np.ndarray:
    # Each length takes at least one byte, so a count above len(content) cannot be honest; checking
    # first keeps a gigabyte claim from allocating anything.
    if count > len(content):
        raise _Malformed(f"tensor_content of {len(content)} bytes cannot hold {count} strings")
    lengths: list[int] = []
    pos = 0
    for _ in range(count):
        length, pos = _varint32(content, pos)
        lengths.append(length)
    if sum(lengths) != len(content) - pos:
        raise _Malformed("tensor_content string lengths do not match its size")
    out = np.empty(count, dtype=object)
    for index, length in enumerate(lengths):
        out[index] = content[pos : pos + length]
        pos += length
    return out


def _varint32(data: bytes, pos: int) -> tuple[int, int]:
    result = 0
    for shift in range(0, 35, 7):
        if pos >= len(data):
            break
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result & 0xFFFFFFFF, pos
    raise _Malformed("tensor_content holds a truncated string length")


def _other_fields(proto: tensor_pb2.TensorProto, own: str) -> list[str]:
    return [name for name in _VALUE_FIELDS if name != own and len(getattr(proto, name))]


def _from_field(
    proto: tensor_pb2.TensorProto,
    dtype: DataType,
    np_dtype: np.dtype[Any],
    dims: tuple[int, ...],
    count: int,
) -> np.ndarray:
    field = _FIELDS[dtype]
    values = getattr(proto, field.name)
    others = _other_fields(proto, field.name)
    if others:
        raise _Malformed(
            f"a {dtype.name} tensor must carry its values in {field.name}, "
            f"not in {', '.join(others)}"
        )
    if len(values) % field.per_element:
        raise _Malformed(f"{field.name} holds an odd number of values")
    given = len(values) // field.per_element
    if given > count:
        raise _Malformed(
            f"{field.name} holds {given} values but shape {_text(dims)} has {count} elements"
        )
    if given < count:
        if count > max_elements():  # tensor_content and full fields are bounded by the message
            raise _Malformed(over_limit(f"shape {_text(dims)} has {count} elements"))
        itemsize = np_dtype.itemsize
        if count * itemsize > MAX_EXPANDED_BYTES:
            raise _Malformed(
                f"shape {_text(dims)} would repeat {given} value(s) into {count * itemsize} "
                f"bytes, more than the limit of {MAX_EXPANDED_BYTES}"
            )
    if given == 0:
        return _zeros(np_dtype, dims)
    flat = _convert(values, field, dtype, np_dtype)
    if given < count:
        filled = np.empty(count, dtype=np_dtype)
        filled[:given] = flat
        filled[given:] = flat[-1]
        flat = filled
    return flat.reshape(dims)


def _zeros(np_dtype: np.dtype[Any], dims: tuple[int, ...]) -> np.ndarray:
    if np_dtype.kind == "O":
        return np.full(dims, b"", dtype=object)
    return np.zeros(dims, dtype=np_dtype)


def _convert(values: Any, field: _Field, dtype: DataType, np_dtype: np.dtype[Any]) -> np.ndarray:
    """The repeated field's values as a flat array of the tensor's dtype."""
    if dtype is DataType.DT_STRING:
        out = np.empty(len(values), dtype=object)
        out[:] = list(values)
        return out
    raw = np.array(values, dtype=field.values)
    if dtype is DataType.DT_HALF:
        # half_val carries the IEEE bits in an int32; TF keeps the low 16 bits.
        return raw.astype(np.uint16).view(np.float16)
    if field.per_element == 2:
        return raw.view(np_dtype)
    if raw.dtype != np_dtype:
        # int_val for narrower integers: wraps like TF's static_cast.
        return raw.astype(np_dtype)
    return raw


# -- encoding ----------------------------------------------------------------------------------


def encode_tensor(
    array: np.ndarray, proto: tensor_pb2.TensorProto, *, as_content: bool = False
) -> None:
    """Fill the empty ``proto`` with ``array`` (dtype, shape and values).

    Raises INTERNAL for arrays no TensorProto can describe (a runtime returning, say, datetimes).
    """
    dtype = _encode_dtype(array.dtype)
    proto.dtype = int(dtype)  # type: ignore[assignment]
    dims = proto.tensor_shape.dim
    for size in array.shape:
        dims.add().size = size
    if dtype is DataType.DT_STRING:
        proto.string_val.extend(_as_bytes(v) for v in array.reshape(-1).tolist())
    elif as_content:
        proto.tensor_content = np.ascontiguousarray(
            array, dtype=array.dtype.newbyteorder("<")
        ).tobytes()
    elif dtype in (DataType.DT_HALF, DataType.DT_BFLOAT16):
        proto.half_val.extend(np.ascontiguousarray(array).view(np.uint16).reshape(-1).tolist())
    else:
        field = _FIELDS[dtype]
        flat = array.reshape(-1)
        if field.per_element == 2:
            flat = np.ascontiguousarray(flat).view(field.values)
        getattr(proto, field.name).extend(flat.tolist())


def _encode_dtype(np_dtype: np.dtype[Any]) -> DataType:
    dtype = from_numpy(np_dtype)
    if dtype is DataType.DT_INVALID and np_dtype.name == "bfloat16" and np_dtype.itemsize == 2:
        return DataType.DT_BFLOAT16  # ml_dtypes' bfloat16, as TensorFlow returns it
    if dtype is DataType.DT_INVALID or (dtype not in _FIELDS and dtype is not DataType.DT_HALF):
        raise ServingError(Code.INTERNAL, f"cannot encode a tensor of numpy dtype {np_dtype}")
    return dtype


def _as_bytes(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytearray, memoryview, np.bytes_)):
        return bytes(value)
    raise ServingError(Code.INTERNAL, f"cannot encode {type(value).__name__} in a string tensor")
