"""TensorFlow errors -> :class:`ServingError`.

``tf.errors.OpError.error_code`` uses the ``tensorflow.error.Code`` numbering, which is also
:class:`Code`'s, so the code passes through unchanged and the message stays TensorFlow's own, as
TensorFlow Serving reports it.
"""

from __future__ import annotations

from typing import Any

from pyserving.errors import Code, ServingError


def from_op_error(error: Any) -> ServingError:
    """The ServingError for a ``tf.errors.OpError`` (UNKNOWN if its code is not a known one)."""
    try:
        code = Code(int(error.error_code))
    except (TypeError, ValueError):
        code = Code.UNKNOWN
    if code is Code.OK:  # An error object claiming success: never report it as one.
        code = Code.UNKNOWN
    return ServingError(code, str(error.message))


def describe(error: BaseException) -> str:
    """``"TypeName: message"``, for errors that are not TensorFlow's: keeps their origin visible."""
    return f"{type(error).__name__}: {error}"
