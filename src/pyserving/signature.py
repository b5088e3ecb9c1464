"""A runtime-neutral view of a model's SignatureDefs.

Runtimes describe what they can run with these types; the core validates requests against them and
the adapters decode request payloads with their dtypes. ``Signature.proto`` keeps the serialized
``tensorflow.SignatureDef`` so metadata answers are byte-for-byte what TensorFlow Serving reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from pyserving.dtypes import DataType

PREDICT_METHOD = "tensorflow/serving/predict"
CLASSIFY_METHOD = "tensorflow/serving/classify"
REGRESS_METHOD = "tensorflow/serving/regress"
DEFAULT_SERVING_SIGNATURE = "serving_default"


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
    key: str
    method_name: str
    inputs: Mapping[str, TensorSpec]
    outputs: Mapping[str, TensorSpec]
    defaults: Mapping[str, np.ndarray] = field(default_factory=dict)
    proto: bytes = b""
    """The serialized ``tensorflow.SignatureDef`` (may be empty for runtimes without one)."""
