"""Serialized ``PredictionLog`` records built from the core's requests and results.

REST and gRPC requests reach the core as the same decoded values, so both log the same way: the
request is rebuilt as its gRPC message (REST JSON tensors via ``encode_tensor``, Examples as
``Input.example_list``), the response is the message the gRPC API would answer, and
``log_metadata`` carries the served model_spec (name, version, signature), the model's
SamplingConfig, the SavedModel tags and the time. Records are what TF Serving's warmup reader
replays, so a request log can become a model's ``assets.extra/tf_serving_warmup_requests``.

The request logs run these on their writer thread, never on the request path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pyserving.codec import tfs_proto
from pyserving.codec.tensor_proto import encode_tensor
from pyserving.protos import (
    classification_pb2,
    inference_pb2,
    input_pb2,
    model_pb2,
    predict_pb2,
    prediction_log_pb2,
    regression_pb2,
)
from pyserving.service.multi_inference import InferenceTask
from pyserving.service.types import (
    ClassifyResult,
    ExampleInput,
    ModelSpec,
    PredictResult,
    RegressResult,
    ResolvedSpec,
)


@dataclass(frozen=True, slots=True)
class Metadata:
    sampling_config: bytes
    saved_model_tags: tuple[str, ...]
    timestamp_secs: int


def _log(meta: Metadata, served: ResolvedSpec) -> prediction_log_pb2.PredictionLog:
    log = prediction_log_pb2.PredictionLog()
    metadata = log.log_metadata
    metadata.model_spec.name = served.name
    metadata.model_spec.version.value = served.version
    metadata.model_spec.signature_name = served.signature_name
    metadata.sampling_config.ParseFromString(meta.sampling_config)
    metadata.saved_model_tags.extend(meta.saved_model_tags)
    metadata.timestamp_secs = meta.timestamp_secs
    return log


def _request_spec(target: model_pb2.ModelSpec, spec: ModelSpec) -> None:
    """The model_spec as the client sent it (version, label or neither)."""
    target.name = spec.name
    if spec.version is not None:
        target.version.value = spec.version
    elif spec.label is not None:
        target.version_label = spec.label
    target.signature_name = spec.signature_name


def _fill_input(target: input_pb2.Input, data: ExampleInput) -> None:
    if data.context is None:
        for example in data.examples:
            target.example_list.examples.add().ParseFromString(example)
        return
    listed = target.example_list_with_context
    for example in data.examples:
        listed.examples.add().ParseFromString(example)
    listed.context.ParseFromString(data.context)


def predict_record(
    meta: Metadata,
    spec: ModelSpec,
    inputs: Mapping[str, np.ndarray],
    output_filter: Sequence[str],
    result: PredictResult,
) -> bytes:
    log = _log(meta, result.spec)
    request = log.predict_log.request
    _request_spec(request.model_spec, spec)
    for alias, tensor in inputs.items():
        encode_tensor(np.asarray(tensor), request.inputs[alias])
    request.output_filter.extend(output_filter)
    response: predict_pb2.PredictResponse = tfs_proto.predict_response(result, as_content=False)
    log.predict_log.response.CopyFrom(response)
    return log.SerializeToString()


def classify_record(
    meta: Metadata, spec: ModelSpec, data: ExampleInput, result: ClassifyResult
) -> bytes:
    log = _log(meta, result.spec)
    request: classification_pb2.ClassificationRequest = log.classify_log.request
    _request_spec(request.model_spec, spec)
    _fill_input(request.input, data)
    log.classify_log.response.CopyFrom(tfs_proto.classify_response(result))
    return log.SerializeToString()


def regress_record(
    meta: Metadata, spec: ModelSpec, data: ExampleInput, result: RegressResult
) -> bytes:
    log = _log(meta, result.spec)
    request: regression_pb2.RegressionRequest = log.regress_log.request
    _request_spec(request.model_spec, spec)
    _fill_input(request.input, data)
    log.regress_log.response.CopyFrom(tfs_proto.regress_response(result))
    return log.SerializeToString()


def multi_inference_record(
    meta: Metadata,
    tasks: Sequence[InferenceTask],
    data: ExampleInput,
    results: Sequence[ClassifyResult | RegressResult],
) -> bytes:
    log = _log(meta, results[0].spec)
    request: inference_pb2.MultiInferenceRequest = log.multi_inference_log.request
    for task in tasks:
        entry = request.tasks.add(method_name=task.method_name)
        _request_spec(entry.model_spec, task.spec)
    _fill_input(request.input, data)
    log.multi_inference_log.response.CopyFrom(tfs_proto.multi_inference_response(results))
    return log.SerializeToString()
