"""A decoded Open Inference Protocol (V2) inference request, whatever its wire form (REST JSON,
REST binary extension, gRPC).

The classes are plain (not frozen) slotted dataclasses: several are built per request, and a
frozen dataclass's ``__init__`` costs four times a plain one's. Nothing mutates them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from pyserving.errors import invalid_argument

Parameters = Mapping[str, object]
"""V2 ``parameters``: name -> bool, int, float or str."""

SIGNATURE_NAME: str = "signature_name"
"""Request parameter naming the signature to run (default: ``serving_default``)."""


@dataclass(slots=True)
class V2Input:
    name: str
    datatype: str
    array: np.ndarray
    """Already shaped as the request's ``shape`` says."""


@dataclass(slots=True)
class V2Output:
    """An output the client asked for; ``binary``: send its data in the binary extension
    (None: as the request's ``binary_data_output`` says)."""

    name: str
    binary: bool | None = None


@dataclass(slots=True)
class V2Request:
    inputs: list[V2Input]
    outputs: list[V2Output] = field(default_factory=list)
    """Empty: every output of the signature."""
    id: str = ""
    parameters: Parameters = field(default_factory=dict)

    @property
    def signature_name(self) -> str:
        value = self.parameters.get(SIGNATURE_NAME, "")
        if not isinstance(value, str):
            raise invalid_argument(
                f"The '{SIGNATURE_NAME}' parameter must be a string, not {value!r}"
            )
        return value


@dataclass(slots=True)
class V2Result:
    """What the core answered: ``outputs`` in the order requested (signature order otherwise)."""

    model_name: str
    model_version: str
    id: str
    outputs: list[tuple[str, np.ndarray]]
