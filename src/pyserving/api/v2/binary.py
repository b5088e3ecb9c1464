"""Triton's binary tensor data extension on REST, both ways.

Request: the body is a JSON header of ``Inference-Header-Content-Length`` bytes followed by the
raw data of the inputs whose ``parameters`` have ``binary_data_size``, in the order of
``inputs``; the sizes must add up to exactly the bytes after the header. Response: outputs asked
for in binary (``binary_data`` on the output, or ``binary_data_output`` for all) carry
``binary_data_size`` instead of ``data`` and their raw bytes follow the JSON header, whose length
is then given in the response's ``Inference-Header-Content-Length`` (content type
``application/octet-stream``). Raw layout: :mod:`pyserving.codec.v2_raw`.
"""

from __future__ import annotations

from typing import Final

from pyserving.codec import v2_json
from pyserving.codec.v2_raw import raw_buffer
from pyserving.codec.v2_request import V2Request, V2Result
from pyserving.errors import invalid_argument

HEADER_LENGTH: Final = b"inference-header-content-length"
JSON_TYPE: Final = b"application/json"
BINARY_TYPE: Final = b"application/octet-stream"


class BinaryReader:
    """The binary part of a request body, handed out input by input."""

    def __init__(self, data: memoryview) -> None:
        self._data = data
        self._offset = 0

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
    text = header_length.strip()
    if not text.isdigit():
        raise invalid_argument(
            f"Inference-Header-Content-Length must be a non-negative integer, not {text!r}"
        )
    length = int(text)
    if length > len(body):
        raise invalid_argument(
            f"Inference-Header-Content-Length is {length}, but the body has only {len(body)} bytes"
        )
    view = memoryview(body)
    reader = BinaryReader(view[length:])
    request = v2_json.parse_request(view[:length], reader.take)
    reader.finish()
    return request


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
    header = v2_json.dumps(response)
    if not chunks:
        return header, _JSON_HEADERS
    headers = [(b"content-type", BINARY_TYPE), (HEADER_LENGTH, str(len(header)).encode())]
    return b"".join([header, *chunks]), headers


_JSON_HEADERS: Final = [(b"content-type", JSON_TYPE)]
