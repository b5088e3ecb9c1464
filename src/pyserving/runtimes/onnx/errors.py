"""onnxruntime exceptions -> :class:`ServingError` with the matching canonical code."""

from __future__ import annotations

import re
from typing import Final

from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

from pyserving.errors import Code, ModelRunError, ServingError

_LOAD_CODES: Final[tuple[tuple[type[BaseException], Code], ...]] = (
    (ort_state.NoSuchFile, Code.NOT_FOUND),
    (ort_state.InvalidProtobuf, Code.DATA_LOSS),
    (ort_state.InvalidGraph, Code.INVALID_ARGUMENT),
    (ort_state.InvalidArgument, Code.INVALID_ARGUMENT),
    (ort_state.NotImplemented, Code.UNIMPLEMENTED),
)

# A failure while running is most often the request's fault (a shape an operator rejects):
# TensorFlow answers those INVALID_ARGUMENT too.
_RUN_CODES: Final[tuple[tuple[type[BaseException], Code], ...]] = (
    (ort_state.InvalidArgument, Code.INVALID_ARGUMENT),
    (ort_state.Fail, Code.INVALID_ARGUMENT),
    (ValueError, Code.INVALID_ARGUMENT),
    (ort_state.NotImplemented, Code.UNIMPLEMENTED),
)

_PREFIX: Final = re.compile(r"^\[ONNXRuntimeError\] : \d+ : [A-Z_]+ : ")


def message(exc: BaseException) -> str:
    """The exception's text without onnxruntime's ``[ONNXRuntimeError] : 2 : CODE :`` prefix."""
    return _PREFIX.sub("", str(exc)).strip()


def load_error(path: str, exc: BaseException) -> ServingError:
    code = next((c for t, c in _LOAD_CODES if isinstance(exc, t)), Code.UNKNOWN)
    return ServingError(code, f"Failed to load the ONNX model at {path}: {message(exc)}")


def run_error(exc: BaseException) -> ServingError:
    """A failed run: a :class:`ModelRunError`, so bad inputs are explained to the client."""
    code = next((c for t, c in _RUN_CODES if isinstance(exc, t)), Code.INTERNAL)
    return ModelRunError(code, message(exc))
