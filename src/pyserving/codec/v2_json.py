"""Open Inference Protocol (V2) JSON ⇄ numpy: the inference request and response documents.

Request tensors are ``{"name", "shape", "datatype", "data", "parameters"}`` with ``data`` flat or
nested (row-major); it must hold exactly as many elements as ``shape`` declares, of the kind the
datatype names (booleans for BOOL, integers for the integer types, numbers for FP*, strings for
BYTES). Nothing is allocated from what ``shape`` claims: sizes are compared with the data first.
A tensor whose ``parameters`` carry ``binary_data_size`` takes its data from the binary
extension instead (``take_binary``, see :mod:`pyserving.api.v2.binary`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from math import prod
from typing import Any, Final

import numpy as np
import orjson

from pyserving.codec.v2_raw import decode_raw, element_count, numpy_dtype
from pyserving.codec.v2_request import Parameters, V2Input, V2Output, V2Request
from pyserving.dtypes import V2_DATATYPES, v2_from_numpy
from pyserving.errors import invalid_argument, unimplemented

BINARY_DATA_SIZE: Final = "binary_data_size"
BINARY_DATA: Final = "binary_data"
BINARY_DATA_OUTPUT: Final = "binary_data_output"

TakeBinary = Callable[[str, int], memoryview]
"""``take(input_name, size)``: the next ``size`` bytes of the binary extension."""

# Which kinds of JSON data numpy infers are accepted for each kind of numpy dtype.
_ACCEPTED_KINDS: Final = {"b": "b", "i": "iu", "u": "iu", "f": "iuf"}
_KIND_WORDS: Final = {"b": "booleans", "i": "integers", "u": "integers", "f": "numbers"}
_INT_TYPE: Final = frozenset({int})  # a shape's dimensions: ints, not bools nor floats


def load_document(header: bytes | memoryview) -> dict[str, Any]:
    try:
        document = orjson.loads(header)
    except orjson.JSONDecodeError as exc:
        raise invalid_argument(f"The request is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise invalid_argument(_NOT_AN_OBJECT)
    return document


_NOT_AN_OBJECT: Final = "The request must be a JSON object with an 'inputs' array"


def parse_request(header: bytes | memoryview, take_binary: TakeBinary | None) -> V2Request:
    """The inference request in ``header`` (the whole body without the binary extension)."""
    try:  # load_document, inline: one call less per request
        document = orjson.loads(header)
    except orjson.JSONDecodeError as exc:
        raise invalid_argument(f"The request is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise invalid_argument(_NOT_AN_OBJECT)
    inputs = document.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise invalid_argument("The request must have a non-empty 'inputs' array")
    request_id = document.get("id", "")
    if not isinstance(request_id, str):
        raise invalid_argument(f"'id' must be a string, not {request_id!r}")
    outputs = document.get("outputs", _NO_OUTPUTS)
    if not isinstance(outputs, list):
        raise invalid_argument("'outputs' must be an array of {\"name\": ...} objects")
    # Loops, not comprehensions: each comprehension is one more function call per request.
    tensors = []
    for tensor in inputs:
        tensors.append(_input(tensor, take_binary))
    wanted = []
    for tensor in outputs:
        wanted.append(_output(tensor))
    params = document.get("parameters")
    if params is None:
        params = {}
    elif not isinstance(params, dict):
        raise invalid_argument("'parameters' of the request must be an object")
    return V2Request(tensors, wanted, request_id, params)


_NO_OUTPUTS: Final[list[object]] = []  # never mutated


def parameters(value: object, where: str) -> Parameters:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid_argument(f"'parameters' of {where} must be an object")
    return value


def _input(tensor: object, take_binary: TakeBinary | None) -> V2Input:
    if not isinstance(tensor, dict):
        raise invalid_argument("Each of 'inputs' must be an object with name, shape, datatype")
    name = tensor.get("name")
    if not isinstance(name, str) or not name:
        raise invalid_argument("Each of 'inputs' needs a 'name' string")
    datatype = tensor.get("datatype")
    if not isinstance(datatype, str):
        raise invalid_argument(f"Input '{name}' needs a 'datatype' string (FP32, INT64, BYTES...)")
    shape = tensor.get("shape")
    if not isinstance(shape, list) or not _INT_TYPE.issuperset(map(type, shape)):
        raise invalid_argument(f"Input '{name}' needs a 'shape' array of integers")
    params = tensor.get("parameters")
    size = None
    if params is not None:
        if not isinstance(params, dict):
            raise invalid_argument(f"'parameters' of input '{name}' must be an object")
        size = params.get(BINARY_DATA_SIZE)
    if size is not None:
        if type(size) is not int or size < 0:
            raise invalid_argument(
                f"Input '{name}': '{BINARY_DATA_SIZE}' must be a non-negative integer"
            )
        if "data" in tensor:
            raise invalid_argument(
                f"Input '{name}' has both 'data' and '{BINARY_DATA_SIZE}': send one of them"
            )
        if take_binary is None:
            raise invalid_argument(
                f"Input '{name}' has '{BINARY_DATA_SIZE}' but the request has no binary data "
                "(set the Inference-Header-Content-Length header to the JSON header's length)"
            )
        return V2Input(name, datatype, decode_raw(name, datatype, shape, take_binary(name, size)))
    if "data" not in tensor:
        raise invalid_argument(f"Input '{name}' has no 'data' (nor '{BINARY_DATA_SIZE}')")
    return V2Input(name, datatype, decode_data(name, datatype, shape, tensor["data"]))


def _output(tensor: object) -> V2Output:
    if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
        raise invalid_argument("Each of 'outputs' must be an object with a 'name' string")
    name: str = tensor["name"]
    params = parameters(tensor.get("parameters"), f"output '{name}'")
    binary = params.get(BINARY_DATA)
    if binary is not None and not isinstance(binary, bool):
        raise invalid_argument(f"Output '{name}': '{BINARY_DATA}' must be true or false")
    if "classification" in params:
        raise invalid_argument(
            f"Output '{name}': the classification extension is not supported; "
            "ask for the output without it"
        )
    return V2Output(name, binary)


def decode_data(name: str, datatype: str, shape: Sequence[int], data: object) -> np.ndarray:
    """The tensor ``name`` from its JSON ``data`` (flat or nested, row-major)."""
    dtype = V2_DATATYPES.get(datatype)
    if dtype is None:
        dtype = numpy_dtype(name, datatype)  # its error
    count = prod(shape)
    if count <= 0 or (shape and min(shape) <= 0):
        count = element_count(name, shape)  # its errors, or the count of an empty tensor
    if dtype.kind == "O":
        return _decode_strings(name, shape, count, data)
    try:
        array = np.asarray(data)
    except (ValueError, TypeError):
        raise invalid_argument(
            f"Input '{name}' has nested 'data' of uneven lengths: send it flat, or nested as "
            "its shape"
        ) from None
    if array.size != count:
        raise _count_error(name, shape, count, array.size)
    kind = array.dtype.kind
    if dtype.kind in "iu" and kind in "fO" and count:
        # Integers numpy could not fit in one machine type (uint64 mixed with negatives becomes
        # float64, beyond int64 becomes object): check them as Python ints, losing nothing.
        array = np.array(data, dtype=object)
        if all(type(v) is int for v in array.flat):
            return _big_integers(name, datatype, array, dtype).reshape(shape)
    if kind != dtype.kind or array.dtype != dtype:
        if count and kind not in _ACCEPTED_KINDS[dtype.kind]:
            raise invalid_argument(
                f"Input '{name}' has datatype {datatype}, but its 'data' are not all "
                f"{_KIND_WORDS[dtype.kind]}"
            )
        if dtype.kind in "iu" and count:
            _check_range(name, datatype, array, dtype)
        array = array.astype(dtype)
    return array.reshape(shape)


def _big_integers(name: str, datatype: str, array: np.ndarray, dtype: np.dtype[Any]) -> np.ndarray:
    """Python ints as ``dtype``, or INVALID_ARGUMENT when one is out of its range."""
    try:
        return array.astype(dtype)
    except OverflowError:
        info = np.iinfo(dtype)
        raise invalid_argument(
            f"Input '{name}' has values out of the range of {datatype} [{info.min}, {info.max}]"
        ) from None


def _check_range(name: str, datatype: str, array: np.ndarray, dtype: np.dtype[Any]) -> None:
    info = np.iinfo(dtype)
    low, high = array.min(), array.max()
    if low < info.min or high > info.max:
        raise invalid_argument(
            f"Input '{name}' has values out of the range of {datatype} [{info.min}, {info.max}]"
        )


def _decode_strings(name: str, shape: Sequence[int], count: int, data: object) -> np.ndarray:
    flat: list[bytes] = []
    _flatten_strings(name, data, flat)
    if len(flat) != count:
        raise _count_error(name, shape, count, len(flat))
    out = np.empty(count, dtype=object)
    out[:] = flat
    return out.reshape(shape)


def _flatten_strings(name: str, data: object, into: list[bytes]) -> None:
    """Append the strings of ``data`` (a string or nested lists of them) in row-major order;
    iterative, so nesting depth costs no stack."""
    stack: list[Iterator[object]] = [iter([data])]
    while stack:
        item = next(stack[-1], _END)
        if item is _END:
            stack.pop()
        elif isinstance(item, str):
            into.append(item.encode())
        elif isinstance(item, list):
            stack.append(iter(item))
        else:
            raise invalid_argument(
                f"Input '{name}' has datatype BYTES, but its 'data' are not all strings"
            )


_END: Final = object()


def _count_error(name: str, shape: Sequence[int], count: int, got: int) -> Exception:
    return invalid_argument(
        f"Input '{name}' has shape {list(shape)} ({count} elements), but its 'data' has {got}"
    )


# -- response -------------------------------------------------------------------------------------


def output_json(name: str, array: np.ndarray) -> tuple[dict[str, Any], bool]:
    """The JSON output tensor for ``array`` with its ``data``; the bool says whether the data could
    be written as JSON (BYTES that are not UTF-8 text cannot: send those in binary)."""
    datatype = datatype_of(name, array)
    document: dict[str, Any] = {"name": name, "datatype": datatype, "shape": list(array.shape)}
    if datatype == "BYTES":
        try:
            document["data"] = [e.decode() if isinstance(e, bytes) else str(e) for e in array.flat]
        except UnicodeDecodeError:
            return document, False
    else:
        # orjson writes C-contiguous arrays only; a contiguous array is not copied.
        document["data"] = np.ascontiguousarray(array).reshape(-1)
    return document, True


def datatype_of(name: str, array: np.ndarray) -> str:
    datatype = v2_from_numpy(array.dtype)
    if datatype is None and not array.dtype.isnative:  # big-endian numbers: the same datatype
        datatype = v2_from_numpy(array.dtype.newbyteorder("="))
    if datatype is None:
        raise unimplemented(
            f"Output '{name}' has dtype {array.dtype}, which no V2 datatype can carry"
        )
    return datatype


def dumps(document: dict[str, Any]) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY)
