"""``tensorflow.serving.PredictionService``: each method parses, calls the core, encodes.

Semantics and messages are the core's (shared with REST); what is gRPC-specific lives here and in
:mod:`~pyserving.api.grpc.convert`: ``Missing ModelSpec``, the client deadline as the model-run
timeout (TF Serving's ``enforce_session_run_timeout``), and typed-field vs ``tensor_content``
output encoding.
"""

from __future__ import annotations

from pyserving.api.grpc import convert
from pyserving.api.grpc.errors import Context, rpc, timeout_ms
from pyserving.codec.input_proto import example_input
from pyserving.protos import (
    classification_pb2,
    get_model_metadata_pb2,
    inference_pb2,
    predict_pb2,
    prediction_service_pb2_grpc,
    regression_pb2,
)
from pyserving.service.core import ServingService


class PredictionServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, service: ServingService, *, tensor_content: bool = False) -> None:
        self._service = service
        self._tensor_content = tensor_content

    @rpc
    async def Predict(
        self, request: predict_pb2.PredictRequest, context: Context
    ) -> predict_pb2.PredictResponse:
        spec = convert.required_model_spec(request)
        result = await self._service.predict(
            spec,
            convert.predict_inputs(request.inputs, spec.signature_name),
            list(request.output_filter),
            timeout_ms(context),
        )
        return convert.predict_response(result, as_content=self._tensor_content)

    @rpc
    async def Classify(
        self, request: classification_pb2.ClassificationRequest, context: Context
    ) -> classification_pb2.ClassificationResponse:
        spec = convert.required_model_spec(request)
        data = example_input(request.input)
        result = await self._service.classify(spec, data, timeout_ms(context))
        return convert.classify_response(result)

    @rpc
    async def Regress(
        self, request: regression_pb2.RegressionRequest, context: Context
    ) -> regression_pb2.RegressionResponse:
        spec = convert.required_model_spec(request)
        data = example_input(request.input)
        result = await self._service.regress(spec, data, timeout_ms(context))
        return convert.regress_response(result)

    @rpc
    async def MultiInference(
        self, request: inference_pb2.MultiInferenceRequest, context: Context
    ) -> inference_pb2.MultiInferenceResponse:
        tasks = convert.inference_tasks(request)
        data = example_input(request.input)
        results = await self._service.multi_inference(tasks, data, timeout_ms(context))
        return convert.multi_inference_response(results)

    @rpc
    async def GetModelMetadata(
        self, request: get_model_metadata_pb2.GetModelMetadataRequest, context: Context
    ) -> get_model_metadata_pb2.GetModelMetadataResponse:
        spec = convert.required_model_spec(request)
        result = self._service.metadata(spec, convert.metadata_fields(request))
        return convert.metadata_response(result)
