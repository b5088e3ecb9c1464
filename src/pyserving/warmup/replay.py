"""Replaying one logged request against a loaded model, as the core's own call.

Each request becomes the :class:`~pyserving.service.calls.Call` the serving path would run
(``PredictCall``, ``ClassifyCall``...), is planned against the model's signatures and finished
exactly as the core does, and runs with ``model.run`` directly: the servable is not published yet,
so there is no lease to take and no batcher to go through. The outputs are checked like responses
(a classify output of the wrong shape fails the warmup as it would fail the request); the results
themselves are dropped. The logged ``model_spec`` name and version are ignored (the requests run
against the version being loaded); signature names count.
"""

from __future__ import annotations

from pyserving.codec.input_proto import example_input
from pyserving.codec.tfs_proto import predict_inputs
from pyserving.errors import unimplemented
from pyserving.protos import model_pb2, prediction_log_pb2
from pyserving.runtimes.base import Model
from pyserving.service.calls import (
    Call,
    ClassifyCall,
    MultiInferenceCall,
    PredictCall,
    RegressCall,
)
from pyserving.service.multi_inference import InferenceTask
from pyserving.service.types import ModelSpec

_UNSUPPORTED = frozenset({"session_run_log", "predict_streamed_log"})


def replay(model: Model, log: prediction_log_pb2.PredictionLog, version: int = 0) -> None:
    """Run the request logged in ``log`` on ``model`` (version ``version``); raises the
    ServingError the request would get.

    A record with no request at all does nothing (as in TF Serving); session_run and
    predict_streamed logs are UNIMPLEMENTED ``Unsupported log_type for warmup: <field number>``.
    """
    kind = log.WhichOneof("log_type")
    if kind in _UNSUPPORTED:
        number = log.DESCRIPTOR.fields_by_name[kind].number
        raise unimplemented(f"Unsupported log_type for warmup: {number}")
    call = _call(log)
    if call is not None:
        feeds, fetches = call.plan(model.signatures)
        call.finish(version, model.run(feeds, list(fetches)))


def _call(log: prediction_log_pb2.PredictionLog) -> Call[object] | None:
    """The core call of the logged request; None for a record without one."""
    kind = log.WhichOneof("log_type")
    if kind == "predict_log":
        predict = log.predict_log.request
        spec = _spec(predict.model_spec)
        inputs = predict_inputs(predict.inputs, spec.signature_name)
        return PredictCall(spec, inputs, list(predict.output_filter))
    if kind == "classify_log":
        classify = log.classify_log.request
        return ClassifyCall(_spec(classify.model_spec), example_input(classify.input))
    if kind == "regress_log":
        regress = log.regress_log.request
        return RegressCall(_spec(regress.model_spec), example_input(regress.input))
    if kind == "multi_inference_log":
        multi = log.multi_inference_log.request
        tasks = [InferenceTask(_spec(t.model_spec), t.method_name) for t in multi.tasks]
        return MultiInferenceCall(tasks, example_input(multi.input))
    return None


def _spec(spec: model_pb2.ModelSpec) -> ModelSpec:
    """Name and signature only: the version being loaded is the one that runs."""
    return ModelSpec(spec.name, signature_name=spec.signature_name)
