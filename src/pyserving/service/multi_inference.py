"""MultiInference: several classify/regress signatures of one model over the same Examples, in
one model run (TF Serving's multi_inference.cc semantics and messages).

The tasks' signatures may read different input tensors (TF2 exports give each signature its own:
``classify_x_to_y_inputs:0``, ``regress_x_to_y_inputs:0``): the same serialized Examples are fed
to every distinct one, and the union of the outputs is fetched, as current TF Serving does."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pyserving.errors import Code, ServingError
from pyserving.service import examples
from pyserving.service.method_names import CLASSIFY_METHOD, REGRESS_METHOD
from pyserving.service.types import ModelSpec
from pyserving.signature import DEFAULT_SERVING_SIGNATURE, Signature


@dataclass(frozen=True, slots=True)
class InferenceTask:
    spec: ModelSpec
    method_name: str


@dataclass(frozen=True, slots=True)
class TaskPlan:
    signature: Signature
    method_name: str
    aliases: list[str]
    """Output aliases this task reads (classes/scores, or outputs)."""


@dataclass(frozen=True, slots=True)
class MultiPlan:
    input_names: list[str]
    """Every distinct input tensor of the tasks' signatures, in task order."""
    fetch_names: list[str]
    tasks: list[TaskPlan]


def plan_multi_inference(
    tasks: Sequence[InferenceTask], signatures: Mapping[str, Signature]
) -> MultiPlan:
    model_name = ""
    input_names: list[str] = []
    seen: set[str] = set()
    fetches: set[str] = set()
    plans: list[TaskPlan] = []
    for task in tasks:
        if not task.spec.name:
            raise ServingError(Code.INVALID_ARGUMENT, "Found ModelSpec with an empty model name.")
        if not model_name:
            model_name = task.spec.name
        elif model_name != task.spec.name:
            raise ServingError(
                Code.INVALID_ARGUMENT,
                "All ModelSpecs in a MultiInferenceRequest must access the same model name.",
            )
        key = task.spec.signature_name or DEFAULT_SERVING_SIGNATURE
        if key in seen:
            raise ServingError(Code.INVALID_ARGUMENT, f"Duplicate evaluation of signature: {key}")
        seen.add(key)
        signature = signatures.get(key)
        if signature is None:
            raise ServingError(
                Code.INVALID_ARGUMENT, f"Requested signature not found in model graph: {key}"
            )
        if task.method_name == CLASSIFY_METHOD:
            name, aliases = examples.classify_fetches(signature, check_method_name=False)
        elif task.method_name == REGRESS_METHOD:
            name = examples.regress_fetch(signature, check_method_name=False)
            aliases = [examples.REGRESS_OUTPUTS]
        else:
            raise ServingError(
                Code.UNIMPLEMENTED, f"Unsupported signature method_name: {task.method_name}"
            )
        if name not in input_names:
            input_names.append(name)
        fetches.update(signature.outputs[a].name for a in aliases)
        plans.append(TaskPlan(signature, task.method_name, aliases))
    return MultiPlan(input_names, sorted(fetches), plans)


def feeds_for(plan: MultiPlan, examples_tensor: np.ndarray) -> dict[str, np.ndarray]:
    """The same serialized Examples for every input tensor the plan reads."""
    return dict.fromkeys(plan.input_names, examples_tensor)


def task_outputs(
    plan: TaskPlan, fetch_names: list[str], outputs: list[np.ndarray]
) -> list[np.ndarray]:
    """This task's outputs, in the order of ``plan.aliases``."""
    by_name = dict(zip(fetch_names, outputs, strict=True))
    return [by_name[plan.signature.outputs[a].name] for a in plan.aliases]
