"""The vectorized path for the common request: rectangular lists of numbers (or of booleans).

``fast_tensor`` converts with one ``np.asarray`` and checks the result's kind and range instead of
each element. It must never accept what TF Serving rejects, so it declines (returns None) whenever
the array is ragged, holds anything but numbers/booleans, or could hide a rejected element:

* numpy turns ``[True, 1.0]`` into ``[1.0, 1.0]``: booleans among numbers are looked for whenever
  the array contains a 0 or a 1 (the only values a boolean becomes);
* floats never become integers (``[1.0]`` for int32 is rejected by TF), integers must fit the
  JSON range TF checks (int32 for the narrow types), strings never become numbers.

Float tensors of rank 1 or 2 (the common request: rows of numbers) skip numpy's type discovery:
``struct`` packs each row straight into the result, converting like a C cast from the double each
JSON number became (an overflow gives +-inf, as rapidjson's GetFloat); any element that is not a
number (a string, null, a list where a number belongs) makes it decline.

A declined value goes through ``tensor_fill``, which produces the result or TF's exact error.
Callers that know the document holds no JSON boolean (:func:`may_hold_booleans` of its bytes) say
so with ``booleans=False``, which skips the search for booleans.
"""

from __future__ import annotations

import struct
from itertools import chain
from typing import Final

import numpy as np

from pyserving.codec.tensor_fill import INT_RANGES, MAX_RANK
from pyserving.dtypes import DataType, to_numpy

_FLOATS: Final = (DataType.DT_FLOAT, DataType.DT_DOUBLE)
_SMALL: Final = 64
_STRUCT_CODES: Final = {DataType.DT_FLOAT: "f", DataType.DT_DOUBLE: "d"}


def may_hold_booleans(document: bytes) -> bool:
    """Whether the JSON text ``document`` can hold a ``true`` or ``false`` literal. False only if
    it cannot: a byte of ``true`` (r, u) and one of ``false`` (f, l) are missing (``instances``
    and ``inputs`` spell none of r, f, l). Two to four ``memchr`` scans of the body."""
    return (b"r" in document and b"u" in document) or (b"f" in document and b"l" in document)


def fast_tensor(value: object, dtype: DataType, *, booleans: bool = True) -> np.ndarray | None:
    """``value`` as a tensor of ``dtype`` if it is a plain numeric case, else None (undecided).

    ``booleans=False``: the caller knows ``value`` holds no boolean."""
    code = _STRUCT_CODES.get(dtype)
    if code is not None and type(value) is list:
        packed = _packed_floats(value, code)
        if packed is not None:
            if booleans and _has_hidden_bool(value, packed):
                return None
            return packed
    if dtype not in _FLOATS and dtype not in INT_RANGES and dtype is not DataType.DT_BOOL:
        return None
    target = to_numpy(dtype)
    assert target is not None
    try:
        array = np.asarray(value)
    except (ValueError, TypeError, OverflowError):  # ragged, or numpy refuses the mixture
        return None
    kind = array.dtype.kind
    if array.ndim > MAX_RANK or kind not in "biuf":
        return None
    if array.size == 0:
        return np.zeros(array.shape, dtype=target)  # no leaves: nothing TF could reject
    if dtype is DataType.DT_BOOL:
        return array if kind == "b" else None
    if kind == "b" or (kind == "f" and dtype not in _FLOATS):
        return None
    if booleans and _has_hidden_bool(value, array):
        return None
    if dtype in _FLOATS:
        with np.errstate(over="ignore"):  # like rapidjson's GetFloat: overflow gives +-inf
            return array.astype(np.float64, copy=False).astype(target, copy=False)
    low, high = INT_RANGES[dtype]
    if array.min() < low or array.max() > high:  # numpy compares mixed int64/uint64 exactly
        return None
    if dtype in (DataType.DT_INT16, DataType.DT_INT8, DataType.DT_UINT8):
        array = array.astype(np.int32)  # TF keeps int32 values, then truncates like a C cast
    return array.astype(target, copy=False)


def _packed_floats(value: list[object], code: str) -> np.ndarray | None:
    """A non-empty list of numbers, or of equally long non-empty lists of numbers, as a float
    tensor (``code``: struct's ``f`` or ``d``); None for anything else. A boolean passes as 1.0
    or 0.0: the caller looks for booleans."""
    if not value:
        return None
    first = value[0]
    try:
        if type(first) is not list:
            out = np.empty(len(value), dtype=code)
            struct.pack_into(f"{len(value)}{code}", out.data, 0, *value)
            return out
        width = len(first)
        if not width:
            return None
        for row in value:
            if type(row) is not list or len(row) != width:
                return None
        out = np.empty((len(value), width), dtype=code)
        packer = struct.Struct(f"{width}{code}")
        step = packer.size
        for index, row in enumerate(value):
            packer.pack_into(out.data, index * step, *row)  # type: ignore[misc]
        return out
    except struct.error:  # an element that is not a number (or an int beyond a double)
        return None


def _has_hidden_bool(value: object, array: np.ndarray) -> bool:
    """Whether ``value`` (converted to ``array``) holds a boolean."""
    # Small tensors: looking at the leaves' types is cheaper than two numpy comparisons.
    return (array.size < _SMALL or _may_hide_bool(array)) and _has_bool(value, array.ndim)


def _may_hide_bool(array: np.ndarray) -> bool:
    # ndarray.any() and one reduction: half the cost of np.any() twice (5 us on 784 floats).
    return bool(((array == 0) | (array == 1)).any())


def _has_bool(value: object, ndim: int) -> bool:
    """Whether a leaf of the rectangular ``ndim``-deep nested list ``value`` is a JSON boolean."""
    if ndim == 0:
        return type(value) is bool
    leaves: object = value
    for _ in range(ndim - 1):
        leaves = chain.from_iterable(leaves)  # type: ignore[arg-type]
    return bool in set(map(type, leaves))  # type: ignore[call-overload]
