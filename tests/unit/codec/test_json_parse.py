"""parse_json_body: what TF Serving's rapidjson accepts, and its exact errors and byte offsets."""

from __future__ import annotations

import math

import pytest

from pyserving.codec import json_parse
from pyserving.codec.json_parse import parse_json_body
from pyserving.codec.json_reader import MAX_DEPTH, read_json
from pyserving.errors import Code, ServingError


def parse_error(body: bytes) -> str:
    with pytest.raises(ServingError) as caught:
        parse_json_body(body)
    assert caught.value.code is Code.INVALID_ARGUMENT
    return caught.value.message


def same(left: object, right: object) -> bool:
    """Equal values of equal types, NaN equal to NaN, -0.0 distinct from 0.0, in key order."""
    return repr(left) == repr(right)


ACCEPTED = [
    # plain JSON (orjson tier)
    (b'{"instances": [1, 2.5, "a", true, null]}', {"instances": [1, 2.5, "a", True, None]}),
    (b" \t\r\n[1]\n", [1]),
    (b"[-0]", [0]),
    (b"[1E+2, 1e-2]", [100.0, 0.01]),
    # integers: 64-bit ranges stay ints, beyond become doubles (rapidjson stores them as double)
    (b"[18446744073709551615, -9223372036854775808]", [2**64 - 1, -(2**63)]),
    (b"[18446744073709551616]", [1.8446744073709552e19]),
    (b"[-9223372036854775809]", [-9.223372036854776e18]),
    # NaN and infinities, in rapidjson's spellings (standard-library and reader tiers)
    (b"[NaN, Infinity, -Infinity]", [math.nan, math.inf, -math.inf]),
    (b"[Inf, -Inf, -NaN]", [math.inf, -math.inf, math.nan]),
    (b'{"a": NaN}', {"a": math.nan}),
    # bytes after the top-level value are ignored
    (b'{"a": 1} trailing', {"a": 1}),
    (b"[1] [2]", [1]),
    (b'{"a": 1}\x00{"b"', {"a": 1}),
    # byte order mark (each byte skipped, like rapidjson's UTF-8 stream)
    (b'\xef\xbb\xbf{"a": 1}', {"a": 1}),
    # invalid UTF-8 is kept byte for byte (surrogateescape characters)
    (b'["\xff\xfe"]', ["\udcff\udcfe"]),
    # a surrogate pair escape is one character; a lone low surrogate is kept (rapidjson 1.1.0)
    (b'["\\ud83d\\ude00"]', ["\U0001f600"]),
    (b'["\\udc00"]', ["\udced\udcb0\udc80"]),
    # numbers at the edge of the double range
    (b"[1.7976931348623157e308, 5e-324, 1e-400]", [1.7976931348623157e308, 5e-324, 0.0]),
    (b"[0.001e310, NaN]", [1e307, math.nan]),
    (b"[1e-" + b"9" * 5000 + b", NaN]", [0.0, math.nan]),
    # duplicate keys: the last value wins (document position of the first)
    (b'{"a": 1, "b": 2, "a": 3}', {"a": 3, "b": 2}),
]


@pytest.mark.parametrize(("body", "expected"), ACCEPTED)
def test_accepted_bodies(body: bytes, expected: object) -> None:
    assert same(parse_json_body(body), expected)


@pytest.mark.parametrize(("body", "expected"), ACCEPTED)
def test_exact_reader_agrees_with_fast_tiers(body: bytes, expected: object) -> None:
    assert same(read_json(body), expected)


REJECTED = [
    (b"", "JSON Parse error: The document is empty"),
    (b"   ", "JSON Parse error: The document is empty. at offset: 3"),
    (b"\x00", "JSON Parse error: The document is empty. at offset: 0"),
    (b"\xef\xbb\xbf ", "JSON Parse error: The document is empty. at offset: 4"),
    (b"x", "JSON Parse error: Invalid value. at offset: 0"),
    (b"[1,]", "JSON Parse error: Invalid value. at offset: 3"),
    (b"[-]", "JSON Parse error: Invalid value. at offset: 2"),
    (b"[nul]", "JSON Parse error: Invalid value. at offset: 4"),
    (b"[tru", "JSON Parse error: Invalid value. at offset: 4"),
    (b"[fals e]", "JSON Parse error: Invalid value. at offset: 5"),
    (b"[Nax]", "JSON Parse error: Invalid value. at offset: 3"),
    (b"[Infinit]", "JSON Parse error: Invalid value. at offset: 8"),
    (b"[1 2]", "JSON Parse error: Missing a comma or ']' after an array element. at offset: 3"),
    (b"[01]", "JSON Parse error: Missing a comma or ']' after an array element. at offset: 2"),
    (b"[1", "JSON Parse error: Missing a comma or ']' after an array element. at offset: 2"),
    (b"{1: 2}", "JSON Parse error: Missing a name for object member. at offset: 1"),
    (b'{"a": 1,}', "JSON Parse error: Missing a name for object member. at offset: 8"),
    (b'{"a" 1}', "JSON Parse error: Missing a colon after a name of object member. at offset: 5"),
    (
        b'{"a": 1 "b": 2}',
        "JSON Parse error: Missing a comma or '}' after an object member. at offset: 8",
    ),
    (b'{"a": 1', "JSON Parse error: Missing a comma or '}' after an object member. at offset: 7"),
    (b'"abc', "JSON Parse error: Missing a closing quotation mark in string. at offset: 4"),
    (b'"ab\x00c"', "JSON Parse error: Missing a closing quotation mark in string. at offset: 3"),
    (b'"a\x01"', "JSON Parse error: Invalid encoding in string. at offset: 2"),
    (b'"a\\x"', "JSON Parse error: Invalid escape character in string. at offset: 2"),
    (
        b'"\\u12g4"',
        "JSON Parse error: Incorrect hex digit after \\u escape in string. at offset: 1",
    ),
    (b'"\\u12', "JSON Parse error: Incorrect hex digit after \\u escape in string. at offset: 1"),
    (b'["\\ud800"]', "JSON Parse error: The surrogate pair in string is invalid. at offset: 2"),
    (
        b'["\\ud800\\u0041"]',
        "JSON Parse error: The surrogate pair in string is invalid. at offset: 2",
    ),
    (b"[1.]", "JSON Parse error: Miss fraction part in number. at offset: 3"),
    (b"[1.e5]", "JSON Parse error: Miss fraction part in number. at offset: 3"),
    (b"[1e]", "JSON Parse error: Miss exponent in number. at offset: 3"),
    (b"[1e+]", "JSON Parse error: Miss exponent in number. at offset: 4"),
    (b"[1e309]", "JSON Parse error: Number too big to be stored in double. at offset: 1"),
    (b"[ -2e308]", "JSON Parse error: Number too big to be stored in double. at offset: 2"),
    (b"[NaN, 1e400]", "JSON Parse error: Number too big to be stored in double. at offset: 6"),
    (
        b"[NaN, 1" + b"0" * 309 + b"]",
        "JSON Parse error: Number too big to be stored in double. at offset: 6",
    ),
    # literals longer than Python's int() digit limit still get rapidjson's answer
    (
        b"[" + b"1" * 5000 + b"]",
        "JSON Parse error: Number too big to be stored in double. at offset: 1",
    ),
    (
        b"[1e" + b"9" * 5000 + b"]",
        "JSON Parse error: Number too big to be stored in double. at offset: 1",
    ),
    # offsets count the byte order mark, as rapidjson's stream does
    (b"\xef\xbb\xbf[1,]", "JSON Parse error: Invalid value. at offset: 6"),
]


@pytest.mark.parametrize(("body", "message"), REJECTED)
def test_rejected_bodies(body: bytes, message: str) -> None:
    assert parse_error(body) == message


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        b"[NaN," * 100_000,
    ],
)
def test_deep_nesting_is_a_clean_error(body: bytes) -> None:
    message = parse_error(body)
    assert message.startswith(
        f"JSON Parse error: The document is nested more than {MAX_DEPTH} levels deep. at offset: "
    )


def test_nesting_up_to_the_cap_is_accepted() -> None:
    value = parse_json_body(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH)
    for _ in range(MAX_DEPTH - 1):
        assert isinstance(value, list) and len(value) == 1
        value = value[0]
    assert value == []
    assert read_json(b"[" * MAX_DEPTH + b"1" + b"]" * MAX_DEPTH) is not None
    assert parse_error(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1)).endswith(
        f"at offset: {MAX_DEPTH}"
    )


def test_huge_flat_array_with_nan_is_parsed_by_the_c_scanner(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(data: bytes) -> object:
        raise AssertionError("the pure-Python reader must not run for this body")

    monkeypatch.setattr(json_parse, "read_json", refuse)
    values = [float(index) / 7 for index in range(200_000)]
    body = b"[" + b",".join(repr(value).encode() for value in values) + b",NaN]"
    parsed = parse_json_body(body)
    assert isinstance(parsed, list)
    assert parsed[:-1] == values
    assert math.isnan(parsed[-1])


def test_integers_past_64_bits_become_doubles_in_every_tier() -> None:
    big = b"[123456789012345678901234]"
    assert parse_json_body(big) == [1.2345678901234568e23]
    with_nan = parse_json_body(big[:-1] + b", NaN]")
    assert isinstance(with_nan, list) and with_nan[0] == 1.2345678901234568e23
    assert read_json(big) == [1.2345678901234568e23]
