"""TensorFlow ``DataType`` numbers and their numpy equivalents.

Strings (``DT_STRING``) are numpy ``object`` arrays whose elements are ``bytes``: TensorFlow strings
are byte strings of any length, which fixed-width numpy ``S`` arrays cannot hold without padding
ambiguity.
"""

from __future__ import annotations

import enum
from typing import Final

import numpy as np


class DataType(enum.IntEnum):
    DT_INVALID = 0
    DT_FLOAT = 1
    DT_DOUBLE = 2
    DT_INT32 = 3
    DT_UINT8 = 4
    DT_INT16 = 5
    DT_INT8 = 6
    DT_STRING = 7
    DT_COMPLEX64 = 8
    DT_INT64 = 9
    DT_BOOL = 10
    DT_QINT8 = 11
    DT_QUINT8 = 12
    DT_QINT32 = 13
    DT_BFLOAT16 = 14
    DT_QINT16 = 15
    DT_QUINT16 = 16
    DT_UINT16 = 17
    DT_COMPLEX128 = 18
    DT_HALF = 19
    DT_RESOURCE = 20
    DT_VARIANT = 21
    DT_UINT32 = 22
    DT_UINT64 = 23

    @property
    def short_name(self) -> str:
        """TensorFlow's ``DataTypeString``: ``DT_FLOAT`` -> ``float``."""
        return _SHORT_NAMES.get(self, self.name[3:].lower())


_SHORT_NAMES: Final = {
    DataType.DT_HALF: "half",
    DataType.DT_BFLOAT16: "bfloat16",
}

# DataType -> numpy dtype, for every type numpy can hold exactly.
NUMPY_DTYPES: Final[dict[DataType, np.dtype[np.generic]]] = {
    DataType.DT_FLOAT: np.dtype(np.float32),
    DataType.DT_DOUBLE: np.dtype(np.float64),
    DataType.DT_INT32: np.dtype(np.int32),
    DataType.DT_UINT8: np.dtype(np.uint8),
    DataType.DT_INT16: np.dtype(np.int16),
    DataType.DT_INT8: np.dtype(np.int8),
    DataType.DT_STRING: np.dtype(object),
    DataType.DT_COMPLEX64: np.dtype(np.complex64),
    DataType.DT_INT64: np.dtype(np.int64),
    DataType.DT_BOOL: np.dtype(np.bool_),
    DataType.DT_QINT8: np.dtype(np.int8),
    DataType.DT_QUINT8: np.dtype(np.uint8),
    DataType.DT_QINT32: np.dtype(np.int32),
    DataType.DT_QINT16: np.dtype(np.int16),
    DataType.DT_QUINT16: np.dtype(np.uint16),
    DataType.DT_UINT16: np.dtype(np.uint16),
    DataType.DT_COMPLEX128: np.dtype(np.complex128),
    DataType.DT_HALF: np.dtype(np.float16),
    DataType.DT_UINT32: np.dtype(np.uint32),
    DataType.DT_UINT64: np.dtype(np.uint64),
}

_FROM_NUMPY: Final[dict[np.dtype[np.generic], DataType]] = {
    np.dtype(np.float32): DataType.DT_FLOAT,
    np.dtype(np.float64): DataType.DT_DOUBLE,
    np.dtype(np.int32): DataType.DT_INT32,
    np.dtype(np.uint8): DataType.DT_UINT8,
    np.dtype(np.int16): DataType.DT_INT16,
    np.dtype(np.int8): DataType.DT_INT8,
    np.dtype(object): DataType.DT_STRING,
    np.dtype(np.complex64): DataType.DT_COMPLEX64,
    np.dtype(np.int64): DataType.DT_INT64,
    np.dtype(np.bool_): DataType.DT_BOOL,
    np.dtype(np.uint16): DataType.DT_UINT16,
    np.dtype(np.complex128): DataType.DT_COMPLEX128,
    np.dtype(np.float16): DataType.DT_HALF,
    np.dtype(np.uint32): DataType.DT_UINT32,
    np.dtype(np.uint64): DataType.DT_UINT64,
}


def to_numpy(dtype: DataType) -> np.dtype[np.generic] | None:
    """The numpy dtype for ``dtype``, or None when numpy cannot hold it (bfloat16, resource...)."""
    return NUMPY_DTYPES.get(dtype)


def from_numpy(dtype: np.dtype[np.generic]) -> DataType:
    """The DataType of a numpy array; bytes/str arrays (``S``/``U``) map to DT_STRING."""
    found = _FROM_NUMPY.get(dtype)
    if found is not None:
        return found
    if dtype.kind in ("S", "U", "O"):
        return DataType.DT_STRING
    return DataType.DT_INVALID


# The Open Inference Protocol's datatypes and their numpy dtypes: the one table every V2 adapter
# uses. BYTES tensors are object arrays of ``bytes``, like DT_STRING ones.
V2_DATATYPES: Final[dict[str, np.dtype[np.generic]]] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
    "BYTES": np.dtype(object),
}

_V2_FROM_NUMPY: Final[dict[np.dtype[np.generic], str]] = {
    dtype: name for name, dtype in V2_DATATYPES.items()
}


def v2_to_numpy(datatype: str) -> np.dtype[np.generic] | None:
    """The numpy dtype of a V2 ``datatype`` (``FP32`` -> float32), None when there is none."""
    return V2_DATATYPES.get(datatype)


def v2_from_numpy(dtype: np.dtype[np.generic]) -> str | None:
    """The V2 datatype of a numpy dtype; bytes/str arrays are BYTES; None when V2 has none
    (complex numbers)."""
    found = _V2_FROM_NUMPY.get(dtype)
    if found is None and dtype.kind in ("S", "U", "O"):
        return "BYTES"
    return found


def v2_from_tf(dtype: DataType) -> str | None:
    """The V2 datatype of a TensorFlow DataType (DT_STRING -> BYTES), None when V2 has none."""
    numpy_dtype = NUMPY_DTYPES.get(dtype)
    if numpy_dtype is None or dtype in _QUANTIZED:
        return None
    return v2_from_numpy(numpy_dtype)


_QUANTIZED: Final = frozenset(
    {
        DataType.DT_QINT8,
        DataType.DT_QUINT8,
        DataType.DT_QINT16,
        DataType.DT_QUINT16,
        DataType.DT_QINT32,
    }
)
