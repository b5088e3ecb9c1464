"""Request bodies to Python values, accepting and rejecting what TF Serving's rapidjson does.

Three tiers, each used only when the previous one refuses the body:

1. ``orjson`` — strict JSON, fast. Its results agree with rapidjson's on the bodies it accepts
   (integers beyond 64 bits become doubles in both; its depth limit is ``MAX_DEPTH`` too), with
   one exception not worth a scan of every body: a zero mantissa with an exponent above 308
   (``0e400``) is 0.0 here where rapidjson reports "Number too big to be stored in double.".
2. the standard library's C scanner — handles ``NaN``/``Infinity``/``-Infinity``, bytes after the
   top-level value, invalid UTF-8 and a byte order mark at C speed. Bodies where it would disagree
   with rapidjson (lone surrogate escapes, out-of-range numbers, recursion) fall through.
3. ``json_reader`` — a full re-creation of rapidjson: decides the remaining bodies and produces
   every ``JSON Parse error: <message> at offset: <n>``.

Values are dict (document order, last duplicate wins), list, str, int, float, bool and None.
Strings keep invalid UTF-8 bytes as ``surrogateescape`` characters (``tensor_fill.to_bytes``).
"""

from __future__ import annotations

import json
import math
import re
from typing import Final

import orjson

from pyserving.codec.json_reader import JsonSyntaxError, content_bounds, rapid_number, read_json
from pyserving.errors import invalid_argument

_SURROGATE_ESCAPE: Final = re.compile(rb"\\u[dD][89a-fA-F]")
# Python's float() silently gives inf where rapidjson reports "Number too big": that needs an
# exponent of 3+ digits or 309+ integer digits. Bodies without either skip the float hook.
_BIG_EXPONENTS: Final = (re.compile(rb"e\+?[0-9]{3}"), re.compile(rb"E\+?[0-9]{3}"))
_DIGIT_MASK: Final = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_DIGITS: Final = b"0" * 309
_NUMBER: Final = re.compile(r"(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?(?:[eE]([-+]?[0-9]+))?")


class _Refused(Exception):
    """The standard-library tier cannot decide this body like rapidjson."""


def parse_json_body(body: bytes) -> object:
    """The JSON value at the start of ``body``; INVALID_ARGUMENT with TF's message otherwise."""
    if not body:
        raise invalid_argument("JSON Parse error: The document is empty")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return _stdlib_parse(body)
    except (_Refused, ValueError, RecursionError):
        pass
    try:
        return read_json(body)
    except JsonSyntaxError as error:
        raise error.to_serving_error() from None


def _stdlib_parse(body: bytes) -> object:
    start, end = content_bounds(body)
    if _SURROGATE_ESCAPE.search(body, start, end):
        raise _Refused  # rapidjson rejects unpaired surrogate escapes the C scanner accepts
    text = body[start:end].decode("utf-8", "surrogateescape")
    index = len(text) - len(text.lstrip(" \t\n\r"))
    risky = any(pattern.search(body, start, end) for pattern in _BIG_EXPONENTS)
    risky = risky or body.translate(_DIGIT_MASK).find(_LONG_DIGITS, start, end) >= 0
    decoder = _CHECKED_DECODER if risky else _DECODER
    value, _ = decoder.raw_decode(text, index)  # content after the value is ignored
    return value


def _parse_number(text: str) -> int | float:
    match = _NUMBER.fullmatch(text)
    if match is None:  # pragma: no cover - the scanner only hands over JSON number literals
        raise _Refused
    minus, integer, fraction, exponent = match.groups()
    value = rapid_number(
        minus == "-",
        integer.encode(),
        None if fraction is None else fraction.encode(),
        None if exponent is None else exponent.encode(),
    )
    if value is None:
        raise _Refused  # "Number too big": the reader reports it with its offset
    return value


def _parse_int(text: str) -> int | float:
    value = int(text)
    return value if -(2**63) <= value < 2**64 else _parse_number(text)


def _parse_constant(name: str) -> float:
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[name]


_DECODER: Final = json.JSONDecoder(parse_int=_parse_int, parse_constant=_parse_constant)
_CHECKED_DECODER: Final = json.JSONDecoder(
    parse_float=_parse_number, parse_int=_parse_number, parse_constant=_parse_constant
)
