"""Property-based fuzzing of the decoders that read what clients send.

Each target runs ``PYSERVING_FUZZ_EXAMPLES`` cases (a few thousand in ``make test``; ``make fuzz``
sets 10^5). The invariants, for every input:

* the decoder answers or raises :class:`pyserving.errors.ServingError` (or the documented
  format error of a file reader) — never another exception;
* it allocates no more than a small multiple of the input's size (plus the documented cap on
  what a TensorProto's fill rule may expand to);
* what decodes, encodes back to the same values.
"""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("PYSERVING_FUZZ_EXAMPLES", "1000"))

settings.register_profile(
    "fuzz",
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("PYSERVING_FUZZ_RANDOM", "") == "",
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
FUZZ = settings.get_profile("fuzz")

T = TypeVar("T")


@contextmanager
def allocation_limit(limit_bytes: int) -> Iterator[None]:
    """Fail if the block's peak traced allocation exceeds ``limit_bytes``."""
    tracemalloc.start()
    try:
        yield
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= limit_bytes, f"peak allocation {peak} B > limit {limit_bytes} B"


def bounded(limit_bytes: int, call: Callable[[], T]) -> T:
    with allocation_limit(limit_bytes):
        return call()
