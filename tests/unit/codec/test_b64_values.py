"""{"b64": ...} values: Abseil's lenient decoding rules, standard padded encoding."""

from __future__ import annotations

import pytest

from pyserving.codec.b64 import b64_decode, b64_encode, is_b64_object
from pyserving.errors import Code, ServingError


@pytest.mark.parametrize(
    ("text", "data"),
    [
        ("aGVsbG8=", b"hello"),
        ("aGVsbG8", b"hello"),  # padding may be omitted
        ("aGVsbA==", b"hell"),
        ("aGVsbA", b"hell"),
        ("aGVs", b"hel"),
        ("", b""),
        (" aGV\nsbG8 = ", b"hello"),  # whitespace anywhere
        ("aGVsbA..", b"hell"),  # '.' pads like '='
        ("+/+/", b"\xfb\xff\xbf"),
        ("QR==", b"A"),  # leftover bits are not checked
    ],
)
def test_decode(text: str, data: bytes) -> None:
    assert b64_decode(text) == data


@pytest.mark.parametrize(
    "text",
    [
        "a",  # a lone six-bit group
        "aGVsbG8==",  # too much padding
        "aGVsbA=",  # too little padding (when present it must be exact)
        "aGVs=",  # padding after a full group
        "aG=Vs",  # data after padding
        "-_-_",  # web-safe alphabet is not accepted
        "aGVs\u00e9",
        "aGVs\udcff",
    ],
)
def test_decode_errors(text: str) -> None:
    with pytest.raises(ServingError) as caught:
        b64_decode(text)
    assert (caught.value.code, caught.value.message) == (
        Code.INVALID_ARGUMENT,
        "Unable to base64 decode",
    )


def test_encode_is_standard_and_padded() -> None:
    assert b64_encode(b"serving") == "c2VydmluZw=="
    assert b64_encode(b"\xfb\xff\xbf") == "+/+/"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"b64": "eA=="}, True),
        ({"b64": 1}, False),
        ({"b64": "eA==", "x": 1}, False),
        ({"B64": "eA=="}, False),
        (["b64"], False),
        ("b64", False),
    ],
)
def test_is_b64_object(value: object, expected: bool) -> None:
    assert is_b64_object(value) is expected
