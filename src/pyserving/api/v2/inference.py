"""What the V2 REST and gRPC adapters share: an inference request as one call of the core's
predict, model metadata and readiness.

Inference runs the core's predict on the signature named by the ``signature_name`` parameter
(default ``serving_default``), so batching, metrics, request logging and every error of the TF
Serving APIs apply unchanged. Inputs are checked against what the request itself says (by the
decoders: the shape's element count must match the data) and their datatype against the
signature's; never their shape against the signature's declared shape: TF Serving runs whatever
the graph accepts (its TF2 half_plus_two declares x as [1] and serves [3, 1]).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from pyserving.codec.v2_request import V2Input, V2Request, V2Result
from pyserving.dtypes import DataType, v2_from_tf
from pyserving.errors import ServingError, invalid_argument
from pyserving.lifecycle.state import ServableState
from pyserving.service.calls import Feeds, PredictCall
from pyserving.service.core import ServingService
from pyserving.service.predict import find_predict_signature
from pyserving.service.types import ModelSpec
from pyserving.signature import DEFAULT_SERVING_SIGNATURE, Signature, TensorSpec

# The V2 ``platform`` of each model platform (Triton's names where it has one).
PLATFORMS = {"tensorflow": "tensorflow_savedmodel", "onnx": "onnxruntime_onnx"}


@functools.lru_cache(maxsize=1024)
def model_spec(name: str, version: str, signature_name: str = "") -> ModelSpec:
    """A V2 model version is a number, a version label, or empty (the highest AVAILABLE).

    Cached (a ModelSpec is immutable): building one costs more than the lookup, and a server
    sees few distinct ones. Errors are raised, never cached."""
    if not version:
        return ModelSpec(name, None, None, signature_name)
    if version.isdigit():
        if int(version) >= 2**63:
            raise invalid_argument(f"Model version {version} is out of the int64 range")
        return ModelSpec(name, int(version), None, signature_name)
    return ModelSpec(name, None, version, signature_name)


async def infer(
    service: ServingService, name: str, version: str, request: V2Request, timeout_ms: int
) -> V2Result:
    spec = model_spec(name, version, request.signature_name if request.parameters else "")
    inputs: dict[str, np.ndarray] = {}
    for tensor in request.inputs:
        if tensor.name in inputs:
            raise invalid_argument(f"Input '{tensor.name}' is given twice")
        inputs[tensor.name] = tensor.array
    names: list[str] = []
    if request.outputs:
        for output in request.outputs:
            names.append(output.name)
        if len(names) > 1 and len(set(names)) != len(names):
            raise invalid_argument("An output is requested twice in 'outputs'")
    call = _InferCall(spec, inputs, names, check_method_name=service.check_method_name)
    call.tensors = request.inputs
    result = await service.serve(call, timeout_ms)
    return V2Result(name, str(result.spec.version), request.id, list(result.outputs.items()))


class _InferCall(PredictCall):
    """The core's predict, checking first the inputs' V2 datatypes against the signature's
    (the one signature lookup of the request)."""

    __slots__ = ("tensors",)

    tensors: list[V2Input]

    def plan(self, signatures: Mapping[str, Signature]) -> tuple[Feeds, Sequence[str]]:
        signature = signatures.get(self.spec.signature_name or DEFAULT_SERVING_SIGNATURE)
        if signature is None:
            signature = find_predict_signature(signatures, self.spec.signature_name)  # its error
        spec_inputs = signature.inputs
        for tensor in self.tensors:
            expected = spec_inputs.get(tensor.name)
            if expected is None:
                continue  # the core names unknown inputs with the signature's set
            wanted = _V2_OF_TF.get(expected.dtype)
            if wanted is not None and wanted != tensor.datatype:
                raise invalid_argument(
                    f"Input '{tensor.name}' has datatype {tensor.datatype}, but the model "
                    f"expects {wanted}"
                )
        return self.plan_signature(signature)


# Each TensorFlow dtype's V2 datatype (absent: V2 has none), looked up once.
_V2_OF_TF: Final = {dtype: v2_from_tf(dtype) for dtype in DataType if v2_from_tf(dtype)}


@dataclass(frozen=True, slots=True)
class TensorMetadata:
    name: str
    datatype: str
    shape: list[int]


@dataclass(frozen=True, slots=True)
class ModelMetadata:
    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


def model_metadata(
    service: ServingService, platform: str, name: str, version: str
) -> ModelMetadata:
    """``platform`` is the model's config platform (``tensorflow``, ``auto``...); the described
    version's runtime overrides it (``auto`` picks a runtime per version). A model with no version
    to describe answers NOT_FOUND with why, when its status knows (a base path that cannot be
    read, a failed load)."""
    try:
        result = service.metadata(model_spec(name, version))
    except ServingError as error:
        raise _with_status(service, name, error) from None
    signature = find_predict_signature(result.signatures, "")
    chosen = result.platform or platform
    available = sorted(
        s.version for s in service.model_status(name) if s.state is ServableState.AVAILABLE
    )
    return ModelMetadata(
        name,
        [str(v) for v in available],
        PLATFORMS.get(chosen, chosen),
        [_tensor(alias, spec) for alias, spec in signature.inputs.items()],
        [_tensor(alias, spec) for alias, spec in signature.outputs.items()],
    )


def _with_status(service: ServingService, name: str, error: ServingError) -> ServingError:
    """``error``, plus the newest error in the model's status when nothing is available."""
    try:
        statuses = service.model_status(name)
    except ServingError:
        return error
    if any(s.state is ServableState.AVAILABLE for s in statuses):
        return error
    failed = next((s for s in statuses if s.error_message), None)
    if failed is None:
        return error
    detail = f"{failed.error_code.name}: {failed.error_message}"
    return ServingError(error.code, f"{error.message}; model status: {detail}")


def _tensor(alias: str, spec: TensorSpec) -> TensorMetadata:
    datatype = v2_from_tf(spec.dtype)
    if datatype is None:
        datatype = "BF16" if spec.dtype is DataType.DT_BFLOAT16 else spec.dtype.name[3:]
    shape = [-1] if spec.shape is None else list(spec.shape)
    return TensorMetadata(alias, datatype, shape)


def model_ready(service: ServingService, name: str, version: str) -> bool:
    """Whether the version (a number, a label, or empty for the latest) can serve now."""
    try:
        service.metadata(model_spec(name, version))
    except ServingError:
        return False
    return True
