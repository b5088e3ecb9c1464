"""The exact, element-by-element conversion of one JSON value into tensor values.

This is TF Serving's ``GetDenseTensorShape`` + ``FillTensorProto``: the shape comes from the first
element at each nesting level, then a depth-first walk checks every list's level and size and every
leaf's type, stopping at the first problem with TF's message. ``tensor_fast`` handles the common
valid cases without it; this module decides everything else and produces every error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import numpy as np

from pyserving.codec.b64 import b64_decode, is_b64_object
from pyserving.codec.json_text import json_type_name, value_text
from pyserving.dtypes import DataType, to_numpy
from pyserving.errors import ServingError, invalid_argument, unimplemented

# numpy cannot hold more dimensions than this; TF would build the tensor, we reject it cleanly.
MAX_RANK: Final = 32

_INT32: Final = (-(2**31), 2**31 - 1)
INT_RANGES: Final[dict[DataType, tuple[int, int]]] = {
    # The JSON integers TF accepts for each integer type (rapidjson's IsInt/IsInt64/IsUint...).
    DataType.DT_INT32: _INT32,
    DataType.DT_INT16: _INT32,  # TF takes any int32, then truncates to the narrow type
    DataType.DT_INT8: _INT32,
    DataType.DT_UINT8: _INT32,
    DataType.DT_INT64: (-(2**63), 2**63 - 1),
    DataType.DT_UINT32: (0, 2**32 - 1),
    DataType.DT_UINT64: (0, 2**64 - 1),
}


def type_name(dtype: DataType) -> str:
    """TF's ``DataTypeString`` (``float``, ``int32``, ``half``...; ``INVALID`` for DT_INVALID)."""
    return "INVALID" if dtype is DataType.DT_INVALID else dtype.short_name


def type_error(value: object, dtype: DataType) -> ServingError:
    return invalid_argument(
        f"JSON Value: {value_text(value)} Type: {json_type_name(value)} "
        f"is not of expected type: {type_name(dtype)}"
    )


def to_bytes(text: str) -> bytes:
    """The bytes of a parsed JSON string (invalid UTF-8 from the body is kept as surrogates)."""
    return text.encode("utf-8", "surrogateescape")


def dense_shape(value: object) -> list[int]:
    """TF's ``GetDenseTensorShape``: the sizes along the chain of first elements."""
    shape: list[int] = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return shape


def _converter(dtype: DataType) -> Callable[[object], object]:
    """A function checking one non-list leaf and returning its Python value for the tensor."""
    if dtype in (DataType.DT_FLOAT, DataType.DT_DOUBLE):

        def number(value: object) -> object:
            if type(value) is float or type(value) is int:
                return value
            raise type_error(value, dtype)

        return number
    if dtype in INT_RANGES:
        low, high = INT_RANGES[dtype]

        def integer(value: object) -> object:
            if type(value) is int and low <= value <= high:
                return value
            raise type_error(value, dtype)

        return integer
    if dtype is DataType.DT_BOOL:

        def boolean(value: object) -> object:
            if type(value) is bool:
                return value
            raise type_error(value, dtype)

        return boolean
    if dtype is DataType.DT_STRING:

        def string(value: object) -> object:
            if isinstance(value, str):
                return to_bytes(value)
            if isinstance(value, dict):
                return b64_value(value)
            raise type_error(value, dtype)

        return string

    def unsupported(value: object) -> object:
        if isinstance(value, dict):
            raise type_error(value, dtype)  # TF checks objects before the dtype switch
        raise unimplemented(
            f"Conversion of JSON Value: {value_text(value)} to type: {type_name(dtype)}"
        )

    return unsupported


def b64_value(value: dict[str, object]) -> bytes:
    """TF's ``JsonDecodeBase64Object`` for an object found where a string is expected."""
    if not is_b64_object(value):
        raise invalid_argument(
            f"JSON Value: {value_text(value)} not formatted correctly for base64 data"
        )
    text = value["b64"]
    assert isinstance(text, str)
    return b64_decode(text)


def fill(value: object, shape: list[int], dtype: DataType, out: list[object]) -> None:
    """Append the leaves of ``value`` to ``out`` after TF's level, size and type checks."""
    convert = _converter(dtype)
    rank = len(shape)
    if rank > MAX_RANK:
        raise invalid_argument(f"Tensor rank {rank} exceeds the maximum supported rank {MAX_RANK}")
    _fill(value, 0, rank, shape, convert, out)


def _fill(
    value: object,
    level: int,
    rank: int,
    shape: list[int],
    convert: Callable[[object], object],
    out: list[object],
) -> None:
    if not isinstance(value, list):
        if level != rank:
            raise invalid_argument(
                f"JSON Value: {value_text(value)} found at incorrect level: {level + 1} "
                f"in the JSON DOM. Expected at level: {rank}"
            )
        out.append(convert(value))
        return
    if level >= rank:
        raise invalid_argument(f"Encountered list at unexpected level: {level} expected < {rank}")
    if len(value) != shape[level]:
        raise invalid_argument(
            f"Encountered list at unexpected size: {len(value)} at level: {level} "
            f"expected size: {shape[level]}"
        )
    if level + 1 == rank:
        # Innermost level: check the leaves in one loop instead of one call each.
        for item in value:
            if isinstance(item, list):
                raise invalid_argument(
                    f"Encountered list at unexpected level: {rank} expected < {rank}"
                )
            out.append(convert(item))
        return
    for item in value:
        _fill(item, level + 1, rank, shape, convert, out)


def to_array(values: list[object], shape: list[int], dtype: DataType) -> np.ndarray:
    """The tensor of ``dtype`` holding the checked leaves ``values`` in row-major ``shape``."""
    if dtype is DataType.DT_STRING:
        array = np.empty(len(values), dtype=object)
        array[:] = values
        return array.reshape(shape)
    target = to_numpy(dtype)
    if target is None:
        # Only reachable without leaves (a leaf would have failed the conversion): TF would build
        # an empty tensor of a type numpy cannot represent, so there is nothing we could feed.
        raise unimplemented(f"Conversion of JSON Value: [] to type: {type_name(dtype)}")
    if dtype in (DataType.DT_INT16, DataType.DT_INT8, DataType.DT_UINT8):
        # TF stores these in int32 fields and truncates them to the narrow type.
        return np.array(values, dtype=np.int32).astype(target).reshape(shape)
    if dtype is DataType.DT_FLOAT:
        # JSON numbers are doubles first (like rapidjson's GetFloat); overflow becomes +-inf.
        with np.errstate(over="ignore"):
            return np.array(values, dtype=np.float64).astype(np.float32).reshape(shape)
    return np.array(values, dtype=target).reshape(shape)
