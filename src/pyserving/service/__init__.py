"""The protocol-neutral core: every adapter (REST, gRPC) parses its wire format, calls a method
of :class:`~pyserving.service.core.ServingService`, and encodes what it returns. Nothing in this
package knows about HTTP, JSON or gRPC.
"""

from __future__ import annotations

from pyserving.service.core import ServingService
from pyserving.service.types import (
    ClassifyResult,
    ModelSpec,
    PredictResult,
    RegressResult,
)

__all__ = ["ClassifyResult", "ModelSpec", "PredictResult", "RegressResult", "ServingService"]
