"""Replaying one logged request against a loaded model, through the core's own planning code.

Each request is checked and planned exactly as the serving path would (``plan_predict``,
``classify_fetches``, ``plan_multi_inference``...) and then run with ``model.run`` directly: the
servable is not published yet, so there is no handle to lease and no batcher to go through. The
outputs are checked like responses (a classify output of the wrong shape fails the warmup as it
would fail the request); the results themselves are dropped. The logged ``model_spec`` name and
version are ignored (the requests run against the version being loaded); signature names count.
"""

from __future__ import annotations

from pyserving.codec.input_proto import example_input
from pyserving.codec.tensor_proto import decode_tensor
from pyserving.errors import unimplemented
from pyserving.protos import (
    classification_pb2,
    inference_pb2,
    predict_pb2,
    prediction_log_pb2,
    regression_pb2,
)
from pyserving.runtimes.base import Model
from pyserving.service import examples
from pyserving.service.multi_inference import (
    InferenceTask,
    feeds_for,
    plan_multi_inference,
    task_outputs,
)
from pyserving.service.predict import find_predict_signature, plan_predict
from pyserving.service.types import ModelSpec
from pyserving.signature import CLASSIFY_METHOD

_UNSUPPORTED = frozenset({"session_run_log", "predict_streamed_log"})


def replay(model: Model, log: prediction_log_pb2.PredictionLog) -> None:
    """Run the request logged in ``log``; raises the ServingError the request would get.

    A record with no request at all does nothing (as in TF Serving); session_run and
    predict_streamed logs are UNIMPLEMENTED ``Unsupported log_type for warmup: <field number>``.
    """
    kind = log.WhichOneof("log_type")
    if kind == "predict_log":
        _predict(model, log.predict_log.request)
    elif kind == "classify_log":
        _classify(model, log.classify_log.request)
    elif kind == "regress_log":
        _regress(model, log.regress_log.request)
    elif kind == "multi_inference_log":
        _multi_inference(model, log.multi_inference_log.request)
    elif kind in _UNSUPPORTED:
        number = log.DESCRIPTOR.fields_by_name[kind].number
        raise unimplemented(f"Unsupported log_type for warmup: {number}")


def _predict(model: Model, request: predict_pb2.PredictRequest) -> None:
    signature = find_predict_signature(model.signatures, request.model_spec.signature_name)
    inputs = {alias: decode_tensor(proto, alias) for alias, proto in request.inputs.items()}
    plan = plan_predict(signature, inputs, list(request.output_filter))
    model.run(plan.feeds, plan.fetch_names)


def _classify(model: Model, request: classification_pb2.ClassificationRequest) -> None:
    signature = examples.find_signature(model.signatures, request.model_spec.signature_name)
    input_name, aliases = examples.classify_fetches(signature, check_method_name=False)
    tensor = examples.example_tensor(example_input(request.input))
    outputs = model.run({input_name: tensor}, [signature.outputs[a].name for a in aliases])
    examples.classifications(aliases, outputs, len(tensor))


def _regress(model: Model, request: regression_pb2.RegressionRequest) -> None:
    signature = examples.find_signature(model.signatures, request.model_spec.signature_name)
    input_name = examples.regress_fetch(signature, check_method_name=False)
    tensor = examples.example_tensor(example_input(request.input))
    fetch = signature.outputs[examples.REGRESS_OUTPUTS].name
    (output,) = model.run({input_name: tensor}, [fetch])
    examples.regressions(output, len(tensor))


def _multi_inference(model: Model, request: inference_pb2.MultiInferenceRequest) -> None:
    tasks = [
        InferenceTask(
            ModelSpec(task.model_spec.name, signature_name=task.model_spec.signature_name),
            task.method_name,
        )
        for task in request.tasks
    ]
    plan = plan_multi_inference(tasks, model.signatures)
    tensor = examples.example_tensor(example_input(request.input))
    outputs = model.run(feeds_for(plan, tensor), plan.fetch_names)
    for task in plan.tasks:
        mine = task_outputs(task, plan.fetch_names, outputs)
        if task.method_name == CLASSIFY_METHOD:
            examples.classifications(task.aliases, mine, len(tensor))
        else:
            examples.regressions(mine[0], len(tensor))
