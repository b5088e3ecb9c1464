"""Triton's binary tensor data extension on REST, both ways.

Request: the body is a JSON header of ``Inference-Header-Content-Length`` bytes followed by the
raw data of the inputs whose ``parameters`` have ``binary_data_size``, in the order of
``inputs``; the sizes must add up to exactly the bytes after the header. Response: outputs asked
for in binary (``binary_data`` on the output, or ``binary_data_output`` for all) carry
``binary_data_size`` instead of ``data`` and their raw bytes follow the JSON header, whose length
is then given in the response's ``Inference-Header-Content-Length`` (content type
``application/octet-stream``). Raw layout: :mod:`pyserving.codec.v2_raw`. The REST endpoint
parses with a :class:`BinaryParser`, which remembers headers it has seen (a client sends the same
one with every request of a kind).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import orjson

from pyserving.codec import v2_json
from pyserving.codec.v2_raw import raw_buffer
from pyserving.codec.v2_request import Parameters, V2Input, V2Output, V2Request, V2Result
from pyserving.errors import invalid_argument

HEADER_LENGTH: Final = b"inference-header-content-length"
JSON_TYPE: Final = b"application/json"
BINARY_TYPE: Final = b"application/octet-stream"


class BinaryReader:
    """The binary part of a request body, handed out input by input."""

    __slots__ = ("_data", "_offset", "sizes")

    def __init__(self, data: memoryview) -> None:
        self._data = data
        self._offset = 0
        self.sizes: list[int] = []
        """The sizes taken, in order."""

    def take(self, name: str, size: int) -> memoryview:
        left = len(self._data) - self._offset
        if size > left:
            raise invalid_argument(
                f"Input '{name}' has binary_data_size {size}, but only {left} bytes of binary "
                "data are left in the body: the binary_data_size values must add up to the "
                "body length minus Inference-Header-Content-Length"
            )
        start = self._offset
        self._offset += size
        self.sizes.append(size)
        return self._data[start : self._offset]

    def finish(self) -> None:
        left = len(self._data) - self._offset
        if left:
            raise invalid_argument(
                f"{left} bytes of binary data follow the inputs' binary_data_size values: "
                "the sizes must add up to the body length minus Inference-Header-Content-Length"
            )


def parse_body(body: bytes, header_length: bytes | None) -> V2Request:
    """The request in ``body``; ``header_length`` is the Inference-Header-Content-Length header
    (None without one: the whole body is JSON)."""
    if header_length is None:
        return v2_json.parse_request(body, None)
    length = _header_length(header_length, len(body))
    return _parse_binary(memoryview(body), length)[0]


def _header_length(header_length: bytes, body_length: int) -> int:
    text = header_length.strip()
    if not text.isdigit():
        raise invalid_argument(
            f"Inference-Header-Content-Length must be a non-negative integer, not {text!r}"
        )
    length = int(text)
    if length > body_length:
        raise invalid_argument(
            f"Inference-Header-Content-Length is {length}, but the body has only {body_length} "
            "bytes"
        )
    return length


def _parse_binary(view: memoryview, length: int) -> tuple[V2Request, BinaryReader]:
    reader = BinaryReader(view[length:])
    request = v2_json.parse_request(view[:length], reader.take)
    reader.finish()
    return request, reader


@dataclass(slots=True)
class _Layout:
    """What a binary request's JSON header says, when every input's data is numbers in the
    binary part: per input its name, datatype, shape, wire dtype and size (checked to match)."""

    inputs: list[tuple[str, str, tuple[int, ...], np.dtype[Any], int]]
    outputs: list[V2Output]
    id: str
    parameters: Parameters
    binary_size: int
    """The sizes of the inputs together: what the binary part of the body must hold."""


class BinaryParser:
    """:func:`parse_body` that remembers the JSON headers of binary requests it has parsed.

    A client of the binary extension sends the same header with every request of a kind (the
    tensors' names, datatypes, shapes and sizes; the data follows it), so a header seen before
    needs no JSON parse and no checks: each input is a view of its bytes in the declared shape.
    The answer, errors included, is the same as :func:`parse_body`'s: only headers that parsed
    without error are remembered, and then the only checks left that depend on more than the
    header's bytes are the sizes against the binary part, done as :func:`parse_body` does them.
    Remembered: headers of at most ``MAX_HEADER`` bytes whose inputs are all numbers in the
    binary part (BYTES elements and JSON ``data`` depend on more than the header), at most
    ``REMEMBERED`` of them (past it, everything is forgotten and learnt again), so the memory
    is bounded whatever clients send.
    """

    MAX_HEADER: Final = 4096
    REMEMBERED: Final = 256

    def __init__(self) -> None:
        self._layouts: dict[bytes, _Layout] = {}

    def parse_body(self, body: bytes, header_length: bytes | None) -> V2Request:
        if header_length is None:
            return v2_json.parse_request(body, None)
        size = len(body)
        length = int(header_length) if header_length.isdigit() else -1
        if not 0 <= length <= size:  # the usual header passes _header_length's checks inline
            length = _header_length(header_length, size)
        view = memoryview(body)
        if length > self.MAX_HEADER or not _LITTLE_ENDIAN_HOST:
            return _parse_binary(view, length)[0]
        key = body[:length]
        layout = self._layouts.get(key)
        if layout is None:
            request, reader = _parse_binary(view, length)
            self._remember(key, request, reader.sizes)
            return request
        if size - length != layout.binary_size:
            reader = BinaryReader(view[length:])  # the sizes do not add up: the reader's error
            for name, _, _, _, input_size in layout.inputs:
                reader.take(name, input_size)
            reader.finish()
        # Every input's bytes are where the header says (BinaryReader.take without its calls).
        inputs = []
        start = length
        for name, datatype, shape, dtype, input_size in layout.inputs:
            end = start + input_size
            inputs.append(V2Input(name, datatype, np.ndarray(shape, dtype, view[start:end])))
            start = end
        return V2Request(inputs, list(layout.outputs), layout.id, dict(layout.parameters))

    def _remember(self, key: bytes, request: V2Request, sizes: list[int]) -> None:
        if len(sizes) != len(request.inputs):
            return  # some inputs have their data in the JSON header
        layout: list[tuple[str, str, tuple[int, ...], np.dtype[Any], int]] = []
        for tensor, size in zip(request.inputs, sizes, strict=True):
            array = tensor.array
            if array.dtype.kind not in _NUMBERS or array.nbytes != size:
                return  # BYTES: their layout depends on the data
            layout.append((tensor.name, tensor.datatype, array.shape, array.dtype, size))
        if len(self._layouts) >= self.REMEMBERED:
            self._layouts.clear()
        self._layouts[key] = _Layout(
            layout, list(request.outputs), request.id, dict(request.parameters), sum(sizes)
        )


_NUMBERS: Final = frozenset("biuf")
_LITTLE_ENDIAN_HOST: Final = sys.byteorder == "little"


def encode_response(
    request: V2Request, result: V2Result
) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The response body and its headers (content type, and the header length when binary).

    The returned header list may be shared between responses: callers must not change it."""
    params = request.parameters
    default = bool(params.get(v2_json.BINARY_DATA_OUTPUT, False)) if params else False
    wanted = {o.name: o.binary for o in request.outputs} if request.outputs else None
    tensors: list[dict[str, object]] = []
    chunks: list[bytes | memoryview] = []
    for name, array in result.outputs:
        binary = wanted.get(name) if wanted is not None else None
        if not (default if binary is None else binary):
            document, as_text = v2_json.output_json(name, array)
            if as_text:
                tensors.append(document)
                continue
            # BYTES that are not UTF-8 cannot be JSON strings: they go binary (losing nothing).
        raw = raw_buffer(array)
        tensors.append(
            {
                "name": name,
                "datatype": v2_json.datatype_of(name, array),
                "shape": list(array.shape),
                "parameters": {
                    v2_json.BINARY_DATA_SIZE: raw.nbytes
                    if isinstance(raw, memoryview)
                    else len(raw)
                },
            }
        )
        chunks.append(raw)
    response: dict[str, object] = {
        "model_name": result.model_name,
        "model_version": result.model_version,
    }
    if result.id:
        response["id"] = result.id
    response["outputs"] = tensors
    header = orjson.dumps(response, option=orjson.OPT_SERIALIZE_NUMPY)  # v2_json.dumps, inline
    if not chunks:
        return header, _JSON_HEADERS
    headers = [(b"content-type", BINARY_TYPE), (HEADER_LENGTH, str(len(header)).encode())]
    return b"".join([header, *chunks]), headers


_JSON_HEADERS: Final = [(b"content-type", JSON_TYPE)]
