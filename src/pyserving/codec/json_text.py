"""How TF Serving prints a parsed JSON value inside its error messages.

Messages such as ``JSON Value: <v> Type: String is not of expected type: float`` embed the value as
rapidjson's ``PrettyWriter`` prints it (4-space indent, ``"key": value``), except that a top-level
decimal number goes through the same formatter as tensor outputs (``format_float``). Inside arrays
and objects doubles use rapidjson's shortest form (``0.1``, ``1.0``, ``1e30``); a NaN or infinity
there makes rapidjson stop writing, so the text ends just before it, as in TF Serving.

Parsed values are the Python objects of ``json_parse``: dict, list, str, int, float, bool, None.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Final

from pyserving.codec.float_format import format_float

# rapidjson's Value::IsFloat(): a double inside this range prints at float precision.
_FLOAT_RANGE: Final = 3.4028234e38
_INDENT: Final = "    "

_ESCAPES: Final[dict[int, str]] = {code: f"\\u{code:04X}" for code in range(0x20)}
_ESCAPES.update({0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"})
_ESCAPES.update({ord('"'): '\\"', ord("\\"): "\\\\"})


def json_type_name(value: object) -> str:
    """rapidjson's type of ``value`` as TF names it: Null, False, True, Object, Array, String..."""
    if value is None:
        return "Null"
    if value is True:
        return "True"
    if value is False:
        return "False"
    if isinstance(value, dict):
        return "Object"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, str):
        return "String"
    return "Number"


def quote(text: str) -> str:
    """A JSON string literal escaped as rapidjson's writer does (other characters kept raw)."""
    return '"' + text.translate(_ESCAPES) + '"'


def value_text(value: object) -> str:
    """TF Serving's ``JsonValueToString``: the text a message shows for ``value``."""
    if type(value) is float:
        return format_float(value, single=-_FLOAT_RANGE <= value <= _FLOAT_RANGE)
    out: list[str] = []
    # rapidjson refuses NaN/Infinity inside a document and stops writing there.
    with contextlib.suppress(_NonFiniteError):
        _write_pretty(value, out)
    return "".join(out)


class _NonFiniteError(Exception):
    pass


def _scalar_text(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict | list):
        return "{}" if isinstance(value, dict) else "[]"  # only empty containers get here
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return quote(value)
    if type(value) is float:
        return _shortest_double(value)
    return str(value)


def _write_pretty(root: object, out: list[str]) -> None:
    # Iterative so that documents nested up to the parser's depth cap print without recursion.
    frames: list[tuple[Iterator[tuple[str | None, object]], str]] = []  # members, closing bracket
    counts: list[int] = []  # members written so far, per open container
    value = root
    while True:
        if isinstance(value, dict) and value:
            out.append("{")
            frames.append((iter(value.items()), "}"))
            counts.append(0)
        elif isinstance(value, list) and value:
            out.append("[")
            frames.append((((None, item) for item in value), "]"))
            counts.append(0)
        else:
            out.append(_scalar_text(value))
        while True:  # move to the next member to write, closing finished containers
            if not frames:
                return
            members, closing = frames[-1]
            member = next(members, None)
            if member is None:
                frames.pop()
                counts.pop()
                out.append("\n" + _INDENT * len(frames) + closing)
                continue
            key, value = member
            out.append(("," if counts[-1] else "") + "\n" + _INDENT * len(frames))
            counts[-1] += 1
            if key is not None:
                out.append(quote(key) + ": ")
            if type(value) is float and not math.isfinite(value):
                raise _NonFiniteError
            break


def _shortest_double(value: float) -> str:
    """rapidjson's ``Writer::Double`` (Grisu shortest digits, its own exponent spelling)."""
    if value == 0.0:
        return "-0.0" if str(value)[0] == "-" else "0.0"
    sign = "-" if value < 0 else ""
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    stripped = digits.rstrip("0")
    k = int(exponent or 0) - len(fraction) + (len(digits) - len(stripped))
    digits, length = stripped, len(stripped)
    kk = length + k  # 10^(kk-1) <= value < 10^kk
    if k >= 0 and kk <= 21:
        text = digits + "0" * k + ".0"
    elif 0 < kk <= 21:
        text = digits[:kk] + "." + digits[kk:]
    elif -6 < kk <= 0:
        text = "0." + "0" * -kk + digits
    elif length == 1:
        text = digits + "e" + str(kk - 1)
    else:
        text = digits[0] + "." + digits[1:] + "e" + str(kk - 1)
    return sign + text
