"""The cap on tensor elements per request (``--max_tensor_elements_per_request``).

Nothing a client sends may make the server allocate without bound. Request bodies and messages
are bounded in bytes, but a few encodings expand: a TensorProto's typed field repeats its last
value (or zeros) to fill its shape, and a shape is a handful of bytes whatever it claims. So the
elements of one request's input tensors are capped, for every protocol:

* where a decoder could build more than the message carries, it checks first: the gRPC Predict
  decoder adds up the shapes of all inputs before decoding any (:func:`check_request`), and the
  TensorProto fill rule refuses a shape over the cap (:func:`over_limit`). Elsewhere (TF
  Serving's JSON, V2 JSON, the V2 binary extension, V2 gRPC contents) every element is in the
  body or message, whose size bounds the allocation, and a shape must match the data's count
  before anything is built;
* the core checks the total of every request's decoded inputs before the model runs
  (:func:`check_request`, in :class:`pyserving.service.calls.PredictCall`), so the cap means
  the same on every protocol.

Beyond the cap the request gets INVALID_ARGUMENT (HTTP 400): the client must send a smaller
request, as for any other malformed one (a retry of the same request cannot succeed, so not
RESOURCE_EXHAUSTED, which HTTP maps to 429 "retry later"). The cap is process-wide, set once at
start-up (:func:`set_max_elements`); the default equals the default REST body limit in bytes, as
a JSON or binary body cannot carry more elements than it has bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from pyserving.errors import ServingError, invalid_argument

FLAG: Final = "--max_tensor_elements_per_request"
DEFAULT_MAX_ELEMENTS: Final = 64 * 1024 * 1024

_max_elements = DEFAULT_MAX_ELEMENTS


def set_max_elements(limit: int) -> None:
    """Set the cap (at start-up; tests may set it too)."""
    global _max_elements
    if limit <= 0:
        raise ValueError(f"the tensor element cap must be positive, not {limit}")
    _max_elements = limit


def max_elements() -> int:
    return _max_elements


def check_request(counts: Iterable[int]) -> None:
    """Refuse a request whose input tensors hold more than the cap together."""
    check_total(sum(counts))


def check_total(total: int) -> None:
    """Refuse a request whose input tensors hold ``total`` elements together, if over the cap."""
    if total > _max_elements:
        raise _over(f"The request's input tensors have {total} elements")


def over_limit(what: str) -> str:
    """The message for ``what`` ("Input 'x' has 9 elements") being over the cap."""
    return (
        f"{what}, more than the limit of {_max_elements} elements per request "
        f"({FLAG}); send fewer or smaller tensors per request, or raise the limit"
    )


def _over(what: str) -> ServingError:
    return invalid_argument(over_limit(what))
