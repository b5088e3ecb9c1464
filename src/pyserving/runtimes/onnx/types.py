"""ONNX tensor types (``tensor(float)``...) <-> :class:`DataType`, and string tensor conversion.

ONNX strings are UTF-8 text; pyserving's string tensors are ``bytes`` (TensorFlow's convention),
so inputs are decoded and outputs encoded here, and a non-UTF-8 input is INVALID_ARGUMENT.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from pyserving.dtypes import DataType
from pyserving.errors import invalid_argument

ONNX_TENSOR_TYPES: Final[dict[str, DataType]] = {
    "tensor(float)": DataType.DT_FLOAT,
    "tensor(double)": DataType.DT_DOUBLE,
    "tensor(float16)": DataType.DT_HALF,
    "tensor(int8)": DataType.DT_INT8,
    "tensor(int16)": DataType.DT_INT16,
    "tensor(int32)": DataType.DT_INT32,
    "tensor(int64)": DataType.DT_INT64,
    "tensor(uint8)": DataType.DT_UINT8,
    "tensor(uint16)": DataType.DT_UINT16,
    "tensor(uint32)": DataType.DT_UINT32,
    "tensor(uint64)": DataType.DT_UINT64,
    "tensor(bool)": DataType.DT_BOOL,
    "tensor(string)": DataType.DT_STRING,
    "tensor(complex64)": DataType.DT_COMPLEX64,
    "tensor(complex128)": DataType.DT_COMPLEX128,
}
"""Every ONNX tensor type numpy can hold (bfloat16, float8 and int4 cannot: unsupported)."""


def data_type(onnx_type: str) -> DataType | None:
    """The DataType of an ONNX type string; None for types pyserving cannot serve."""
    return ONNX_TENSOR_TYPES.get(onnx_type)


def shape_of(dims: list[int | str | None]) -> tuple[int, ...]:
    """ONNX dims (ints, symbolic names, None) -> a TensorSpec shape (-1 for unknown)."""
    return tuple(d if isinstance(d, int) and d >= 0 else -1 for d in dims)


def to_onnx_strings(name: str, array: np.ndarray) -> np.ndarray:
    """A bytes object array as the str object array onnxruntime takes."""
    flat = array.ravel()
    out = np.empty(flat.shape, dtype=object)
    for i, value in enumerate(flat):
        if isinstance(value, bytes):
            try:
                out[i] = value.decode("utf-8")
            except UnicodeDecodeError:
                raise invalid_argument(
                    f"Input {name} is an ONNX string tensor, which holds UTF-8 text; element {i} "
                    "is not valid UTF-8 (send binary data as a uint8 tensor instead)"
                ) from None
        else:
            out[i] = str(value)
    return out.reshape(array.shape)


def from_onnx_strings(array: np.ndarray) -> np.ndarray:
    """onnxruntime's str object array as a bytes object array."""
    flat = array.ravel()
    out = np.empty(flat.shape, dtype=object)
    for i, value in enumerate(flat):
        out[i] = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return out.reshape(array.shape)
