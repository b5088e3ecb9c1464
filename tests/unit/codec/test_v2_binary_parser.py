"""The binary extension's parser that remembers headers: the same answers and errors as
``binary.parse_body``, request after request, and bounded memory."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import pytest

from pyserving.api.v2 import binary
from pyserving.codec import v2_json
from pyserving.codec.v2_request import V2Request
from pyserving.errors import ServingError


def _body(header: dict[str, Any], tail: bytes) -> tuple[bytes, bytes]:
    text = v2_json.dumps(header)
    return text + tail, str(len(text)).encode()


def _header(*sizes: int, **extra: Any) -> dict[str, Any]:
    inputs = [
        {
            "name": f"x{i}",
            "shape": [size // 4],
            "datatype": "FP32",
            "parameters": {"binary_data_size": size},
        }
        for i, size in enumerate(sizes)
    ]
    return {"inputs": inputs, **extra}


def _same(one: V2Request, other: V2Request) -> None:
    assert [(i.name, i.datatype) for i in one.inputs] == [
        (i.name, i.datatype) for i in other.inputs
    ]
    for mine, theirs in zip(one.inputs, other.inputs, strict=True):
        assert mine.array.dtype == theirs.array.dtype
        assert mine.array.shape == theirs.array.shape
        assert mine.array.flags.writeable == theirs.array.flags.writeable
        np.testing.assert_array_equal(mine.array, theirs.array)
    assert (one.outputs, one.id, one.parameters) == (other.outputs, other.id, other.parameters)


def _outcome(parse: Any, body: bytes, length: bytes) -> V2Request | str:
    try:
        result: V2Request = parse(body, length)
    except ServingError as error:
        return f"{error.code.name}: {error.message}"
    return result


def test_a_remembered_header_reads_each_request_own_data() -> None:
    parser = binary.BinaryParser()
    header = _header(
        8,
        12,
        outputs=[{"name": "y", "parameters": {"binary_data": True}}],
        id="same",
        parameters={"binary_data_output": True},
    )
    for first in (1.0, 2.0, -3.5):
        body, length = _body(header, struct.pack("<5f", first, 0, 7, 8, 9))
        request = parser.parse_body(body, length)
        _same(request, binary.parse_body(body, length))
        assert request.inputs[0].array.tolist() == [first, 0]
        assert request.inputs[1].array.tolist() == [7, 8, 9]


@pytest.mark.parametrize(
    "tail",
    [b"\0" * 12, b"\0" * 4, b"", b"\0" * 24, b"\0" * 20],
    ids=["short", "shorter", "none", "long", "exact"],
)
def test_errors_after_a_remembered_header_are_parse_body_errors(tail: bytes) -> None:
    parser = binary.BinaryParser()
    header = _header(8, 12)
    good, length = _body(header, b"\0" * 20)
    parser.parse_body(good, length)  # remembered now
    body = good[: int(length)] + tail
    mine, theirs = (
        _outcome(parser.parse_body, body, length),
        _outcome(binary.parse_body, body, length),
    )
    if isinstance(theirs, str):
        assert mine == theirs
    else:
        assert isinstance(mine, V2Request)
        _same(mine, theirs)


@pytest.mark.parametrize(
    "length",
    [b"-1", b"x", b"100000", b"10"],
    ids=["negative", "not a number", "past the body", "cuts the JSON"],
)
def test_bad_header_lengths_answer_as_parse_body(length: bytes) -> None:
    parser = binary.BinaryParser()
    good, good_length = _body(_header(8), b"\0" * 8)
    parser.parse_body(good, good_length)
    for _ in range(2):
        assert _outcome(parser.parse_body, good, length) == _outcome(
            binary.parse_body, good, length
        )


def test_headers_with_bytes_or_json_data_are_parsed_every_time() -> None:
    """BYTES elements and JSON ``data`` depend on more than the header's bytes."""
    parser = binary.BinaryParser()
    header = {
        "inputs": [
            {"name": "a", "shape": [2], "datatype": "FP32", "parameters": {"binary_data_size": 8}},
            {"name": "t", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": 6}},
        ]
    }
    for word in (b"hi", b"yo"):
        body, length = _body(header, struct.pack("<2f", 1, 2) + struct.pack("<I", 2) + word)
        assert parser.parse_body(body, length).inputs[1].array.tolist() == [word]
    bad, length = _body(header, struct.pack("<2f", 1, 2) + struct.pack("<I", 9) + b"hi")
    assert "runs past the end" in str(_outcome(parser.parse_body, bad, length))

    mixed = {
        "inputs": [
            {"name": "a", "shape": [1], "datatype": "FP32", "parameters": {"binary_data_size": 4}},
            {"name": "b", "shape": [1], "datatype": "INT64", "data": [7]},
        ]
    }
    body, length = _body(mixed, struct.pack("<f", 1))
    for _ in range(2):
        request = parser.parse_body(body, length)
        assert request.inputs[1].array.tolist() == [7]
        request.inputs[1].array[0] = 8  # each request's own array
    assert parser._layouts == {}


def test_a_request_cannot_change_what_the_next_one_gets() -> None:
    parser = binary.BinaryParser()
    body, length = _body(_header(4, parameters={"signature_name": "s"}), b"\0" * 4)
    parser.parse_body(body, length)  # remembered now
    first = parser.parse_body(body, length)
    first.outputs.append(first.outputs[0] if first.outputs else None)  # type: ignore[arg-type]
    first.parameters["signature_name"] = "changed"  # type: ignore[index]
    again = parser.parse_body(body, length)
    assert again.outputs == [] and again.parameters == {"signature_name": "s"}


def test_memory_is_bounded_whatever_clients_send() -> None:
    parser = binary.BinaryParser()
    for index in range(parser.REMEMBERED + 10):
        body, length = _body(_header(4, id=f"r{index}"), b"\0" * 4)
        assert parser.parse_body(body, length).id == f"r{index}"
        assert len(parser._layouts) <= parser.REMEMBERED
    big = _header(4, id="x" * parser.MAX_HEADER)
    body, length = _body(big, b"\0" * 4)
    parser._layouts.clear()
    assert parser.parse_body(body, length).id == big["id"]
    assert parser._layouts == {}


def test_json_bodies_pass_through() -> None:
    parser = binary.BinaryParser()
    body = b'{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1,2]}]}'
    assert parser.parse_body(body, None).inputs[0].array.tolist() == [1, 2]
    assert "not valid JSON" in str(_outcome(parser.parse_body, b"{", None))  # type: ignore[arg-type]
