"""Tensors to JSON text, value by value as TF Serving writes them (``AddTensorValues``).

Integers and booleans are written by orjson straight from the numpy buffer. Floats use
``format_float_array`` (TF's ``%g``/``.0`` spelling). Strings are UTF-8 text: TF Serving writes the
raw bytes, which is invalid JSON when they are not UTF-8, so we decode with U+FFFD replacing each
invalid sequence; clients that need the exact bytes name the output ``*_bytes`` and receive
``{"b64": "..."}`` (standard padded base64), as in TF Serving.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import orjson

from pyserving.codec.b64 import b64_encode
from pyserving.codec.float_format import format_float_array
from pyserving.codec.tensor_fill import type_name
from pyserving.dtypes import DataType, from_numpy
from pyserving.errors import ServingError, invalid_argument

_INTEGERS: Final = frozenset(
    {
        DataType.DT_INT32,
        DataType.DT_INT16,
        DataType.DT_INT8,
        DataType.DT_UINT8,
        DataType.DT_INT64,
        DataType.DT_UINT32,
        DataType.DT_UINT64,
        DataType.DT_BOOL,
    }
)
_FLOATS: Final = frozenset({DataType.DT_FLOAT, DataType.DT_DOUBLE})


def whole_text(array: np.ndarray, alias: str) -> str:
    """The JSON text of the whole tensor (a bare value for rank 0)."""
    dtype = _checked_dtype(array)
    if dtype in _INTEGERS:
        if array.ndim == 0:
            return orjson.dumps(array.item()).decode()
        return orjson.dumps(np.ascontiguousarray(array), option=orjson.OPT_SERIALIZE_NUMPY).decode()
    if dtype in _FLOATS and 0 < array.size <= _TEMPLATE_ELEMENTS and array.ndim:
        # A small float tensor: its texts into the brackets of its shape, one % format.
        shape = array.shape
        template = _TEMPLATES.get(shape)
        if template is None:
            template = _template(shape)
        return template % tuple(format_float_array(array.reshape(-1)))
    items = nest(_leaf_texts(array, dtype, alias), array.shape)
    return items[0] if array.ndim == 0 else "[" + ",".join(items) + "]"


# The bracket layout of small shapes ("[[%s],[%s]]" for (2, 1)), built once per shape: at most
# _TEMPLATES_KEPT of them (then all forgotten), each of at most _TEMPLATE_ELEMENTS elements.
_TEMPLATE_ELEMENTS: Final = 64
_TEMPLATES_KEPT: Final = 256
_TEMPLATES: dict[tuple[int, ...], str] = {}


def _template(shape: tuple[int, ...]) -> str:
    template = "[" + ",".join(nest(["%s"] * math.prod(shape), shape)) + "]"
    if len(_TEMPLATES) >= _TEMPLATES_KEPT:
        _TEMPLATES.clear()
    _TEMPLATES[shape] = template
    return template


def row_texts(array: np.ndarray, alias: str) -> list[str]:
    """The JSON text of each ``array[i]`` (``array`` has rank >= 1)."""
    dtype = _checked_dtype(array)
    if dtype in _INTEGERS:
        if array.ndim == 1:
            return [orjson.dumps(value).decode() for value in array.tolist()]
        option = orjson.OPT_SERIALIZE_NUMPY
        return [orjson.dumps(np.ascontiguousarray(row), option=option).decode() for row in array]
    return nest(_leaf_texts(array, dtype, alias), array.shape)


def nest(texts: list[str], shape: tuple[int, ...]) -> list[str]:
    """Group row-major leaf texts into the texts of the sub-tensors along axis 0."""
    items = texts
    for axis in range(len(shape) - 1, 0, -1):
        size = shape[axis]
        count = math.prod(shape[:axis])
        if size == 0:
            items = ["[]"] * count
        else:
            items = [
                "[" + ",".join(items[i : i + size]) + "]" for i in range(0, count * size, size)
            ]
    return items


def _checked_dtype(array: np.ndarray) -> DataType:
    dtype = from_numpy(array.dtype)
    supported = dtype in _INTEGERS or dtype in _FLOATS or dtype is DataType.DT_STRING
    if not supported and array.size:  # TF fails on the first value it cannot write
        raise _write_error(dtype)
    return dtype


def _write_error(dtype: DataType) -> ServingError:
    return invalid_argument(f"Failed to write JSON value for tensor type: {type_name(dtype)}")


def _leaf_texts(array: np.ndarray, dtype: DataType, alias: str) -> list[str]:
    flat = array.reshape(-1)
    if dtype in _FLOATS:
        return format_float_array(flat)
    if dtype is not DataType.DT_STRING:
        return []  # an empty tensor of a type JSON cannot express: nothing to write
    if alias.endswith("_bytes"):
        return ['{"b64":"' + b64_encode(_as_bytes(item)) + '"}' for item in flat.tolist()]
    return [
        orjson.dumps(_as_bytes(item).decode("utf-8", "replace")).decode() for item in flat.tolist()
    ]


def _as_bytes(item: object) -> bytes:
    if isinstance(item, bytes):
        return item
    if isinstance(item, str):
        return item.encode("utf-8", "surrogatepass")
    return str(item).encode("utf-8")
