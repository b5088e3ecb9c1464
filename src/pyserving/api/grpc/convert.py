"""The gRPC adapter's own conversions: required fields, metadata; the rest is shared.

Builders the request logs and warmup use too (``ModelSpec``, lazily decoded Predict inputs, the
response messages) live in :mod:`pyserving.codec.tfs_proto` and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyserving.codec.proto_views import signature_def_map
from pyserving.codec.tfs_proto import (
    classify_response,
    model_spec,
    multi_inference_response,
    predict_inputs,
    predict_response,
    regress_response,
)
from pyserving.errors import Code, ServingError
from pyserving.protos import (
    classification_pb2,
    get_model_metadata_pb2,
    inference_pb2,
    predict_pb2,
    regression_pb2,
)
from pyserving.service.core import SIGNATURE_DEF_FIELD, MetadataResult
from pyserving.service.multi_inference import InferenceTask
from pyserving.service.types import ModelSpec

__all__ = [
    "classify_response",
    "inference_tasks",
    "metadata_fields",
    "metadata_response",
    "model_spec",
    "multi_inference_response",
    "predict_inputs",
    "predict_response",
    "regress_response",
    "required_model_spec",
]

# -- requests ----------------------------------------------------------------------------------


def required_model_spec(
    request: predict_pb2.PredictRequest
    | classification_pb2.ClassificationRequest
    | regression_pb2.RegressionRequest
    | get_model_metadata_pb2.GetModelMetadataRequest,
) -> ModelSpec:
    if not request.HasField("model_spec"):
        raise ServingError(Code.INVALID_ARGUMENT, "Missing ModelSpec")
    return model_spec(request.model_spec)


def inference_tasks(request: inference_pb2.MultiInferenceRequest) -> list[InferenceTask]:
    return [InferenceTask(model_spec(task.model_spec), task.method_name) for task in request.tasks]


def metadata_fields(request: get_model_metadata_pb2.GetModelMetadataRequest) -> Sequence[str]:
    return list(request.metadata_field)


# -- responses ---------------------------------------------------------------------------------


def metadata_response(result: MetadataResult) -> get_model_metadata_pb2.GetModelMetadataResponse:
    """TF Serving's answer: model_spec with name and version only, and one ``Any`` holding a
    ``tensorflow.serving.SignatureDefMap`` under ``signature_def``."""
    response = get_model_metadata_pb2.GetModelMetadataResponse()
    response.model_spec.name = result.name
    response.model_spec.version.value = result.version
    response.metadata[SIGNATURE_DEF_FIELD].Pack(
        signature_def_map(result.signatures, result.native_signatures)
    )
    return response
