"""Request and result types of the core service."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pyserving.signature import Signature


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """Which servable a request addresses: ``version`` and ``label`` are mutually exclusive;
    neither means the highest AVAILABLE version. An empty ``signature_name`` means the default."""

    name: str
    version: int | None = None
    label: str | None = None
    signature_name: str = ""


# Decodes request inputs once the servable is resolved, because some wire formats (REST JSON) need
# the signature's dtypes to build tensors. Receives the servable's signatures.
InputDecoder = Callable[[Mapping[str, Signature]], Mapping[str, np.ndarray]]


# The results below are built per request: plain (not frozen) slotted dataclasses, as a frozen
# dataclass's __init__ costs twice or more a plain one's. Nothing mutates them.


@dataclass(slots=True)
class ResolvedSpec:
    """The model_spec echoed in responses: request name, resolved signature, served version."""

    name: str
    version: int
    signature_name: str


@dataclass(slots=True)
class PredictResult:
    spec: ResolvedSpec
    outputs: Mapping[str, np.ndarray]
    """Output alias -> tensor, in the order requested (signature order when unfiltered)."""


@dataclass(frozen=True, slots=True)
class ClassifyResult:
    spec: ResolvedSpec
    # One list per example of (label, score); label "" without a classes output, score 0.0
    # without a scores output.
    classifications: Sequence[Sequence[tuple[bytes, float]]]


@dataclass(frozen=True, slots=True)
class RegressResult:
    spec: ResolvedSpec
    values: Sequence[float]


@dataclass(frozen=True, slots=True)
class ExampleInput:
    """Serialized ``tensorflow.Example`` records, with an optional serialized context Example that
    is merged under each of them (fields of the example win, as protobuf merging does)."""

    examples: Sequence[bytes]
    context: bytes | None = None
