"""The runtime-neutral description of what a model can run: its signatures.

Runtimes describe each signature's inputs and outputs (tensor names, dtypes, shapes), the default
values of optional inputs, and the kinds of call the signature was exported for; the core
validates requests against them and the adapters decode request payloads with their dtypes.
Nothing here is any one framework's or protocol's format: front ends that must answer in a
framework's own vocabulary (TF Serving's SignatureDef metadata) build it from this description or,
when the runtime keeps one, from :attr:`pyserving.runtimes.base.Model.native_signatures`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from pyserving.dtypes import DataType

DEFAULT_SERVING_SIGNATURE = "serving_default"
"""The key a request without a signature name addresses."""


class CallKind(enum.Enum):
    """A kind of call a signature can serve.

    PREDICT feeds named tensors and fetches named tensors. CLASSIFY and REGRESS feed a batch of
    serialized ``tensorflow.Example`` records to the signature's single input and read class labels
    and scores, or one value per example, from its outputs.
    """

    PREDICT = "predict"
    CLASSIFY = "classify"
    REGRESS = "regress"


PREDICT_ONLY: Final = frozenset({CallKind.PREDICT})


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """One input or output of a signature.

    ``name`` is the runtime's tensor name (``x:0`` for TensorFlow); ``shape`` is None for unknown
    rank, with -1 for unknown dimensions. Shapes are informative only: TF Serving never checks
    request shapes against them.
    """

    name: str
    dtype: DataType
    shape: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True)
class Signature:
    """One named entry point of a model.

    ``calls`` lists the kinds of call the signature was exported for; a runtime without such a
    notion leaves the default, predict only. It is checked only when the server is asked to
    (``--enable_signature_method_name_check``): every signature may be called with any method
    whose input/output layout it fits.
    """

    key: str
    inputs: Mapping[str, TensorSpec]
    outputs: Mapping[str, TensorSpec]
    defaults: Mapping[str, np.ndarray] = field(default_factory=dict)
    """Values fed to inputs a request leaves out, by alias."""
    calls: frozenset[CallKind] = PREDICT_ONLY


@dataclass(frozen=True, slots=True)
class NativeSignatures:
    """A runtime's own serialized description of its signatures, for front ends that speak its
    framework's protocol and must echo it unchanged.

    ``format`` is the full name of the protobuf message type each value serializes
    (``tensorflow.SignatureDef``); ``by_key`` holds one serialized message per signature key.
    """

    format: str
    by_key: Mapping[str, bytes]
