"""``{"b64": "..."}`` values: decoding with Abseil's rules, encoding with standard base64.

TF Serving decodes with ``absl::Base64Unescape``, which is more lenient than Python's strict mode:
ASCII whitespace anywhere is ignored, padding (``=`` or ``.``) may be omitted, but when present it
must be exactly the right amount and nothing but whitespace and padding may follow the data.
Leftover bits in the last character are not checked.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Final

from pyserving.errors import invalid_argument

_WHITESPACE: Final = {ord(c): None for c in " \t\n\v\f\r"}
_SHAPE: Final = re.compile(r"([A-Za-z0-9+/]*)([=.]*)")
# Padding expected for each length of the last group (a lone sixth bit group is invalid).
_EXPECTED_PADDING: Final = {0: 0, 2: 2, 3: 1}


def b64_decode(text: str) -> bytes:
    """The bytes ``text`` encodes, or INVALID_ARGUMENT ``Unable to base64 decode``."""
    data = text.translate(_WHITESPACE) if not text.isalnum() else text
    match = _SHAPE.fullmatch(data)
    if match is not None:
        body, padding = match.groups()
        expected = _EXPECTED_PADDING.get(len(body) % 4)
        if expected is not None and len(padding) in (0, expected):
            return binascii.a2b_base64(body + "=" * expected)
    raise invalid_argument("Unable to base64 decode")


def b64_encode(data: bytes) -> str:
    """Standard, padded base64 (``absl::Base64Escape``)."""
    return base64.b64encode(data).decode("ascii")


def is_b64_object(value: object) -> bool:
    """TF's ``IsValBase64Object``: an object whose only member is ``"b64"`` with a string value."""
    return type(value) is dict and len(value) == 1 and isinstance(value.get("b64"), str)
