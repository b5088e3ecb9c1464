"""Raw V2 tensor data ⇄ numpy: the byte layout shared by the REST binary extension and gRPC's
``raw_input_contents`` / ``raw_output_contents``.

Numbers are little-endian, row-major, with no padding; BOOL is one byte per element; BYTES is each
element as a 4-byte little-endian length followed by its bytes. Decoding never allocates more than
the data it is given: sizes are checked against the data before anything is built, and a BYTES
tensor cannot have more elements than its data has 4-byte prefixes.
"""

from __future__ import annotations

import math
import struct
import sys
from collections.abc import Sequence
from typing import Final

import numpy as np

from pyserving.dtypes import V2_DATATYPES, v2_to_numpy
from pyserving.errors import ServingError, invalid_argument

_LENGTH: Final = struct.Struct("<I")
_INT64_MAX: Final = 2**63 - 1
# Each numeric V2 datatype's dtype as laid out on the wire (little-endian): what np.frombuffer
# reads, built once (a dtype built per request costs more than the read itself).
_WIRE: Final = {
    name: dtype.newbyteorder("<") for name, dtype in V2_DATATYPES.items() if dtype.kind != "O"
}
_LITTLE_ENDIAN_HOST: Final = sys.byteorder == "little"


def element_count(name: str, shape: Sequence[int]) -> int:
    """The number of elements ``shape`` declares; INVALID_ARGUMENT for a negative dimension, or
    for an empty shape numpy cannot hold (its non-zero dimensions times the largest item size,
    16 bytes, must fit in int64)."""
    count = math.prod(shape)
    if count > 0 and (not shape or min(shape) > 0):
        return count  # every dimension positive: the usual case, checked in C
    nonzero = 1
    for dim in shape:
        if dim < 0:
            raise invalid_argument(
                f"Input '{name}' has shape {list(shape)}: dimensions must be >= 0"
            )
        nonzero *= dim or 1
    if count == 0 and nonzero * 16 > _INT64_MAX:  # a non-empty one fails on its data's count
        raise invalid_argument(f"Input '{name}' has shape {list(shape)}, too large to hold")
    return count


def numpy_dtype(name: str, datatype: str) -> np.dtype[np.generic]:
    dtype = v2_to_numpy(datatype)
    if dtype is None:
        raise invalid_argument(
            f"Input '{name}' has datatype {datatype!r}, which is not a V2 datatype: use one "
            f"of {', '.join(V2_DATATYPES)}"
        )
    return dtype


def decode_raw(
    name: str, datatype: str, shape: Sequence[int], data: bytes | memoryview
) -> np.ndarray:
    """The tensor ``name`` from its raw bytes; INVALID_ARGUMENT when the byte count does not match
    ``shape`` and ``datatype``. Numeric tensors are read-only views of ``data`` (no copy)."""
    wire = _WIRE.get(datatype)
    if wire is None:  # BYTES, or not a V2 datatype (numpy_dtype says which)
        numpy_dtype(name, datatype)
        return _decode_bytes(name, shape, element_count(name, shape), data)
    count = element_count(name, shape)
    expected = count * wire.itemsize
    if len(data) != expected:
        raise invalid_argument(
            f"Input '{name}' has {len(data)} bytes of raw data, but shape {list(shape)} of "
            f"{datatype} needs {expected} bytes"
        )
    # A view of ``data`` in its shape at once (frombuffer then reshape costs twice as much).
    array = np.ndarray(shape, wire, data)
    if not _LITTLE_ENDIAN_HOST:  # numbers are little-endian on the wire
        array = array.astype(wire.newbyteorder("="))
    return array


def _decode_bytes(
    name: str, shape: Sequence[int], count: int, data: bytes | memoryview
) -> np.ndarray:
    view = memoryview(data)
    # Each element takes at least its 4-byte prefix: a larger count cannot be in the data.
    if count > len(view) // _LENGTH.size:
        raise invalid_argument(
            f"Input '{name}' has shape {list(shape)} ({count} BYTES elements), but its "
            f"{len(view)} bytes of raw data cannot hold that many length-prefixed elements"
        )
    out = np.empty(count, dtype=object)
    offset = 0
    for index in range(count):
        if offset + _LENGTH.size > len(view):
            raise _bytes_error(name, shape, index, "its length prefix is past the end of the data")
        (length,) = _LENGTH.unpack_from(view, offset)
        offset += _LENGTH.size
        if length > len(view) - offset:
            raise _bytes_error(
                name, shape, index, f"its length {length} runs past the end of the data"
            )
        out[index] = bytes(view[offset : offset + length])
        offset += length
    if offset != len(view):
        raise invalid_argument(
            f"Input '{name}' has {len(view) - offset} bytes of raw data left after the "
            f"{count} BYTES elements of shape {list(shape)}"
        )
    return out.reshape(shape)


def _bytes_error(name: str, shape: Sequence[int], index: int, what: str) -> ServingError:
    return invalid_argument(
        f"Input '{name}': BYTES element {index} of shape {list(shape)} is malformed: {what} "
        "(each element is a 4-byte little-endian length followed by that many bytes)"
    )


def encode_raw(array: np.ndarray) -> bytes:
    """The raw bytes of ``array`` (BYTES: length-prefixed elements; str elements as UTF-8)."""
    raw = raw_buffer(array)
    return raw if isinstance(raw, bytes) else raw.tobytes()


def raw_buffer(array: np.ndarray) -> bytes | memoryview:
    """The raw layout of ``array`` as a buffer (``bytes.join`` takes both kinds; the size is
    ``nbytes``): a numeric array already contiguous and little-endian is returned as is, so its
    data is copied once, into the response, and never through ``tobytes``."""
    if array.dtype.kind in ("O", "S", "U"):
        parts: list[bytes] = []
        for element in array.flat:
            raw = element.encode() if isinstance(element, str) else bytes(element)
            parts.append(_LENGTH.pack(len(raw)))
            parts.append(raw)
        return b"".join(parts)
    if array.dtype.byteorder == ">" or (array.dtype.byteorder == "=" and not _LITTLE_ENDIAN_HOST):
        array = array.astype(array.dtype.newbyteorder("<"))
    return np.ascontiguousarray(array).data
