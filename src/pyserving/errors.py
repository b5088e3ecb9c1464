"""The one error type of pyserving.

Every failure that reaches a client is a :class:`ServingError` carrying a canonical :class:`Code`
(the numbering of ``tensorflow.error.Code`` and of gRPC status codes, which agree) and the message
TensorFlow Serving would give. Adapters map the code to HTTP or gRPC with a table at the edge; the
core, the lifecycle and the runtimes never know which protocol a request came from.
"""

from __future__ import annotations

import enum


class Code(enum.IntEnum):
    """Canonical error codes: ``tensorflow.error.Code`` == ``grpc.StatusCode`` numbering."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


class ServingError(Exception):
    """A failure with a canonical code and a client-facing message."""

    __slots__ = ("code", "message")

    def __init__(self, code: Code, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"ServingError({self.code.name}, {self.message!r})"

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}"


class ModelRunError(ServingError):
    """A failure of the model call itself, reported by the runtime (the graph rejected its
    inputs, an op failed...), as opposed to one found before or around the call (a bad request,
    a full batch queue). Only these are explained in terms of the request's inputs."""

    __slots__ = ()


def invalid_argument(message: str) -> ServingError:
    return ServingError(Code.INVALID_ARGUMENT, message)


def not_found(message: str) -> ServingError:
    return ServingError(Code.NOT_FOUND, message)


def failed_precondition(message: str) -> ServingError:
    return ServingError(Code.FAILED_PRECONDITION, message)


def unavailable(message: str) -> ServingError:
    return ServingError(Code.UNAVAILABLE, message)


def internal(message: str) -> ServingError:
    return ServingError(Code.INTERNAL, message)


def unimplemented(message: str) -> ServingError:
    return ServingError(Code.UNIMPLEMENTED, message)


def deadline_exceeded(message: str) -> ServingError:
    return ServingError(Code.DEADLINE_EXCEEDED, message)
