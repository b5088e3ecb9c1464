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
