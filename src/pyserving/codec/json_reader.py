"""A JSON reader with rapidjson 1.1.0's grammar, error messages and error offsets.

TF Serving parses request bodies with rapidjson (``kParseNanAndInfFlag``) and reports failures as
``JSON Parse error: <message> at offset: <byte offset>``. This reader reproduces that behaviour for
the bodies the fast parsers refuse; it is iterative, so nesting depth costs no Python stack.

Where it follows rapidjson beyond strict JSON:

* ``NaN``, ``Inf``, ``Infinity`` (and ``-`` forms) are numbers;
* a UTF-8 byte order mark (each of its bytes, as rapidjson's stream does) is skipped, and offsets
  still count it;
* a NUL byte ends the input, exactly like the end of the buffer;
* invalid UTF-8 inside strings is kept byte for byte (as ``surrogateescape`` characters);
* integers outside [-2**63, 2**64) become doubles; numbers beyond the double range are errors.

Where it differs, by decision: content after the top-level value is ignored, as pyserving's
reference specifies (rapidjson itself reports "The document root must not be followed by other
values." unless a NUL byte ends the document); nesting deeper than ``MAX_DEPTH`` is an error
(rapidjson would recurse until the stack overflows); duplicate object keys keep the last value
(rapidjson keeps all and lookups find the first), like every Python JSON parser.
"""

from __future__ import annotations

import re
from typing import Final

from pyserving.errors import ServingError, invalid_argument

MAX_DEPTH: Final = 1024
"""Deepest nesting of arrays/objects accepted (the same limit as orjson, the fast parser)."""

_WS: Final = b" \t\n\r"
_PLAIN: Final = re.compile(rb'[^"\\\x00-\x1f]*')
_DIGITS: Final = re.compile(rb"[0-9]*")
_SIMPLE_ESCAPES: Final = {
    ord('"'): b'"',
    ord("\\"): b"\\",
    ord("/"): b"/",
    ord("b"): b"\b",
    ord("f"): b"\f",
    ord("n"): b"\n",
    ord("r"): b"\r",
    ord("t"): b"\t",
}
_HEX: Final = frozenset(b"0123456789abcdefABCDEF")


class JsonSyntaxError(Exception):
    """A rapidjson parse error: its English message and the byte offset it reports."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message, offset)
        self.message = message
        self.offset = offset

    def to_serving_error(self) -> ServingError:
        return invalid_argument(f"JSON Parse error: {self.message} at offset: {self.offset}")


def content_bounds(data: bytes) -> tuple[int, int]:
    """Where rapidjson's input starts (after BOM bytes) and ends (first NUL, or the end)."""
    start = 0
    for bom_byte in (0xEF, 0xBB, 0xBF):
        if start < len(data) and data[start] == bom_byte:
            start += 1
    end = data.find(b"\0", start)
    return start, len(data) if end < 0 else end


def read_json(data: bytes) -> object:
    """Parse the first JSON value of ``data``; raises ``JsonSyntaxError`` like rapidjson."""
    return _Reader(data).document()


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos, self.end = content_bounds(data)

    def peek(self) -> int:
        return self.data[self.pos] if self.pos < self.end else 0

    def skip_ws(self) -> None:
        data, pos, end = self.data, self.pos, self.end
        while pos < end and data[pos] in _WS:
            pos += 1
        self.pos = pos

    def consume(self, char: str) -> bool:
        if self.peek() == ord(char):
            self.pos += 1
            return True
        return False

    def document(self) -> object:
        self.skip_ws()
        if self.pos >= self.end:
            raise JsonSyntaxError("The document is empty.", self.pos)
        containers: list[list[object] | dict[str, object]] = []
        keys: list[str] = []  # the pending member name of each open object
        while True:
            value = self.value(containers, keys)
            if value is _OPENED:
                continue
            # A value is complete: store it, then close every container it completes.
            while containers:
                top = containers[-1]
                if isinstance(top, list):
                    top.append(value)
                    self.skip_ws()
                    if self.consume(","):
                        self.skip_ws()
                        break
                    if not self.consume("]"):
                        raise JsonSyntaxError(
                            "Missing a comma or ']' after an array element.", self.pos
                        )
                else:
                    top[keys.pop()] = value
                    self.skip_ws()
                    if self.consume(","):
                        self.skip_ws()
                        keys.append(self.member_name())
                        break
                    if not self.consume("}"):
                        raise JsonSyntaxError(
                            "Missing a comma or '}' after an object member.", self.pos
                        )
                value = containers.pop()
            else:
                return value

    def value(self, containers: list[list[object] | dict[str, object]], keys: list[str]) -> object:
        """Parse a scalar or an empty container, or open a container and return ``_OPENED``."""
        char = self.peek()
        if char in (0x5B, 0x7B):  # '[' or '{'
            if len(containers) >= MAX_DEPTH:
                raise JsonSyntaxError(
                    f"The document is nested more than {MAX_DEPTH} levels deep.", self.pos
                )
            self.pos += 1
            self.skip_ws()
            if char == 0x5B:
                if self.consume("]"):
                    return []
                containers.append([])
                return _OPENED
            if self.consume("}"):
                return {}
            containers.append({})
            keys.append(self.member_name())
            return _OPENED
        if char == 0x22:  # '"'
            return self.string()
        if char in (0x6E, 0x74, 0x66):  # 'n', 't', 'f'
            return self.literal()
        return self.number()

    def member_name(self) -> str:
        if self.peek() != 0x22:
            raise JsonSyntaxError("Missing a name for object member.", self.pos)
        name = self.string()
        self.skip_ws()
        if not self.consume(":"):
            raise JsonSyntaxError("Missing a colon after a name of object member.", self.pos)
        self.skip_ws()
        return name

    def literal(self) -> object:
        word, value = {0x6E: ("null", None), 0x74: ("true", True), 0x66: ("false", False)}[
            self.peek()
        ]
        self.pos += 1
        for char in word[1:]:
            if not self.consume(char):
                raise JsonSyntaxError("Invalid value.", self.pos)
        return value

    def string(self) -> str:
        data, end = self.data, self.end
        self.pos += 1  # the opening quote
        parts: list[bytes] = []
        while True:
            match = _PLAIN.match(data, self.pos, end)
            assert match is not None  # the pattern matches the empty string
            parts.append(data[self.pos : match.end()])
            self.pos = match.end()
            char = self.peek()
            if char == 0x22:
                self.pos += 1
                return b"".join(parts).decode("utf-8", "surrogateescape")
            if char == 0x5C:  # backslash
                parts.append(self.escape())
            elif self.pos >= end:
                raise JsonSyntaxError("Missing a closing quotation mark in string.", self.pos)
            else:  # an unescaped control character
                raise JsonSyntaxError("Invalid encoding in string.", self.pos)

    def escape(self) -> bytes:
        start = self.pos
        self.pos += 1
        simple = _SIMPLE_ESCAPES.get(self.peek())
        if simple is not None:
            self.pos += 1
            return simple
        if not self.consume("u"):
            raise JsonSyntaxError("Invalid escape character in string.", start)
        code = self.hex4(start)
        if 0xD800 <= code <= 0xDBFF:
            if not (self.consume("\\") and self.consume("u")):
                raise JsonSyntaxError("The surrogate pair in string is invalid.", start)
            low = self.hex4(start)
            if not 0xDC00 <= low <= 0xDFFF:
                raise JsonSyntaxError("The surrogate pair in string is invalid.", start)
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        # rapidjson 1.1.0 encodes a lone low surrogate as its 3 (invalid UTF-8) bytes.
        return chr(code).encode("utf-8", "surrogatepass")

    def hex4(self, escape_offset: int) -> int:
        digits = self.data[self.pos : min(self.pos + 4, self.end)]
        for index, char in enumerate(digits):
            if char not in _HEX:
                self.pos += index
                break
        else:
            if len(digits) == 4:
                self.pos += 4
                return int(digits, 16)
        raise JsonSyntaxError("Incorrect hex digit after \\u escape in string.", escape_offset)

    def number(self) -> object:
        start = self.pos
        minus = self.consume("-")
        char = self.peek()
        special: float | None = None
        integer = b"0"
        if char == 0x30:  # '0'
            self.pos += 1
        elif 0x31 <= char <= 0x39:
            integer = self.digits()
        elif char in (0x49, 0x4E):  # 'I', 'N'
            special = self.nan_or_inf(minus)
        else:
            raise JsonSyntaxError("Invalid value.", self.pos)
        fraction = exponent = None
        if self.consume("."):
            if not 0x30 <= self.peek() <= 0x39:
                raise JsonSyntaxError("Miss fraction part in number.", self.pos)
            fraction = self.digits()
        if self.consume("e") or self.consume("E"):
            sign = b"-" if self.consume("-") else b"+" if self.consume("+") else b""
            if not 0x30 <= self.peek() <= 0x39:
                raise JsonSyntaxError("Miss exponent in number.", self.pos)
            exponent = sign + self.digits()
        if special is not None and fraction is None and exponent is None:
            return special
        result = rapid_number(minus, integer, fraction, exponent)
        if result is None:
            raise JsonSyntaxError("Number too big to be stored in double.", start)
        return result

    def digits(self) -> bytes:
        match = _DIGITS.match(self.data, self.pos, self.end)
        assert match is not None
        self.pos = match.end()
        return match.group()

    def nan_or_inf(self, minus: bool) -> float:
        if self.consume("N"):
            if self.consume("a") and self.consume("N"):
                return float("nan")
        elif self.consume("I") and self.consume("n") and self.consume("f"):
            if self.peek() == ord("i") and not all(self.consume(c) for c in "inity"):
                raise JsonSyntaxError("Invalid value.", self.pos)
            return float("-inf") if minus else float("inf")
        raise JsonSyntaxError("Invalid value.", self.pos)


_OPENED: Final = object()


def rapid_number(
    minus: bool, integer: bytes, fraction: bytes | None, exponent: bytes | None
) -> int | float | None:
    """The value rapidjson gives a number literal, or None for "Number too big" (its error).

    Integers in [-2**63, 2**64) stay integers (rapidjson's Int/Uint/Int64/Uint64); everything else
    is a double. rapidjson rejects a positive exponent above ``308 - expFrac`` (``expFrac`` counting
    the fraction digits it keeps) even when the value would fit, and any value overflowing double.
    """
    # (Digit counts are checked before int(): Python refuses to convert over 4300 digits.)
    if fraction is None and exponent is None and len(integer) <= 20:
        whole = int(integer)
        if whole <= (2**63 if minus else 2**64 - 1):
            return -whole if minus else whole
    if exponent is not None and exponent[:1] != b"-":
        digits = exponent.lstrip(b"+").lstrip(b"0") or b"0"
        limit = 308 - _exp_frac(minus, integer, fraction or b"")
        if len(digits) > 9 or int(digits) > limit:
            return None
    text = integer + (b"." + fraction if fraction is not None else b"")
    text += b"e" + exponent if exponent is not None else b""
    try:
        value = float(text)
    except OverflowError:  # pragma: no cover - float() of a literal saturates to inf instead
        return None
    if value == float("inf"):
        return None
    return -value if minus else value


def _exp_frac(minus: bool, integer: bytes, fraction: bytes) -> int:
    """rapidjson 1.1.0's ``expFrac``: minus the number of fraction digits it folds in."""
    whole = int(integer) if len(integer) <= 20 else 2**64
    if whole > (2**63 if minus else 2**64 - 1):
        return 0  # already a double with >= 19 significant digits: fraction digits are skipped
    significant = len(integer) - 1 if whole else 0
    exp_frac = 0
    index = 0
    while index < len(fraction) and whole <= 0x1FFFFFFFFFFFFF:
        whole = whole * 10 + fraction[index] - 0x30
        exp_frac -= 1
        significant += whole != 0
        index += 1
    nonzero = whole != 0
    for char in fraction[index:]:
        if significant < 17:
            nonzero = nonzero or char != 0x30
            exp_frac -= 1
            significant += nonzero
    return exp_frac
