"""One call to the core: what was asked, its plan against the model, and its result.

Every inference method is a :class:`Call`. Built from a decoded request before any servable is
leased, a call is planned against the leased model's signatures (:meth:`Call.plan`: validation
with TF Serving's messages, then the feeds and fetches of one model run) and turns the run's
outputs into the method's result (:meth:`Call.finish`, which checks them like a response). The
core runs calls through one lease/run/release sequence (``ServingService.serve``); warmup runs the
same calls on a model not yet published (:mod:`pyserving.warmup.replay`); observers of the core
(request logs) read what was asked from the call (:class:`CallObserver`).

A call is used once, by one request: ``plan`` records what it decoded (``PredictCall.inputs``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, TypeVar

import numpy as np

from pyserving.codec.element_limit import check_total
from pyserving.errors import ModelRunError, ServingError
from pyserving.service import examples
from pyserving.service.input_errors import explain_input_error
from pyserving.service.method_names import CLASSIFY_METHOD
from pyserving.service.multi_inference import (
    InferenceTask,
    MultiPlan,
    feeds_for,
    plan_multi_inference,
)
from pyserving.service.multi_inference import task_outputs as _task_outputs
from pyserving.service.predict import PredictPlan, find_predict_signature, plan_predict
from pyserving.service.types import (
    ClassifyResult,
    ExampleInput,
    InputDecoder,
    ModelSpec,
    PredictResult,
    RegressResult,
    ResolvedSpec,
)
from pyserving.signature import Signature

R_co = TypeVar("R_co", covariant=True)
InferenceResult = ClassifyResult | RegressResult
Feeds = Mapping[str, np.ndarray]


class Call(Protocol[R_co]):
    @property
    def spec(self) -> ModelSpec:
        """The servable to lease."""
        ...

    def plan(self, signatures: Mapping[str, Signature]) -> tuple[Feeds, Sequence[str]]:
        """Check the request against ``signatures``; the feeds and fetch names of the run.
        Raises the ServingError the request gets."""
        ...

    def finish(self, version: int, outputs: list[np.ndarray]) -> R_co:
        """The result of the run's ``outputs`` (fetch order) on version ``version``."""
        ...

    def explain(self, error: ModelRunError) -> ServingError:
        """The error the client gets when the model run itself failed with ``error``."""
        ...


class PredictCall:
    __slots__ = ("_check", "_plan", "_signature", "inputs", "output_filter", "spec")

    def __init__(
        self,
        spec: ModelSpec,
        inputs: Feeds | InputDecoder,
        output_filter: Sequence[str] = (),
        *,
        check_method_name: bool = False,
    ) -> None:
        self.spec = spec
        self.inputs = inputs
        """Alias -> tensor; a decoder until :meth:`plan` has run it."""
        self.output_filter = output_filter
        self._check = check_method_name
        self._plan: PredictPlan | None = None
        self._signature: Signature | None = None

    def plan(self, signatures: Mapping[str, Signature]) -> tuple[Feeds, Sequence[str]]:
        if callable(self.inputs):
            self.inputs = self.inputs(signatures)
        return self.plan_signature(find_predict_signature(signatures, self.spec.signature_name))

    def plan_signature(self, signature: Signature) -> tuple[Feeds, Sequence[str]]:
        """:meth:`plan` once the request's signature is found and its inputs decoded (for
        calls that check more against the signature first)."""
        self._signature = signature
        inputs = self.inputs
        assert not callable(inputs), "plan_signature() before the inputs are decoded"
        plan = plan_predict(signature, inputs, self.output_filter, check_method_name=self._check)
        # Every protocol's inputs, decoded: the decoders refused any one tensor over the cap.
        total = 0
        for tensor in plan.feeds.values():  # a loop: a generator is one more call per request
            total += tensor.size
        check_total(total)
        self._plan = plan
        return plan.feeds, plan.fetch_names

    def finish(self, version: int, outputs: list[np.ndarray]) -> PredictResult:
        plan = self._plan
        assert plan is not None, "finish() before plan()"
        aliases = plan.fetch_aliases
        if len(aliases) == 1 and len(outputs) == 1:  # the usual one output: no zip
            named = {aliases[0]: outputs[0]}
        else:
            named = dict(zip(aliases, outputs, strict=True))
        return PredictResult(ResolvedSpec(self.spec.name, version, plan.signature_name), named)

    def explain(self, error: ModelRunError) -> ServingError:
        """Names the inputs whose dtype or shape differ from the signature's (see
        :mod:`pyserving.service.input_errors`)."""
        if self._signature is None or callable(self.inputs):
            return error
        return explain_input_error(error, self._signature, self.inputs)


class ClassifyCall:
    __slots__ = ("_aliases", "_check", "_rows", "_signature_key", "data", "spec")

    def __init__(
        self, spec: ModelSpec, data: ExampleInput, *, check_method_name: bool = False
    ) -> None:
        self.spec = spec
        self.data = data
        self._check = check_method_name
        self._aliases: list[str] = []
        self._signature_key = ""
        self._rows = 0

    def plan(self, signatures: Mapping[str, Signature]) -> tuple[Feeds, Sequence[str]]:
        signature = examples.find_signature(signatures, self.spec.signature_name)
        input_name, aliases = examples.classify_fetches(signature, check_method_name=self._check)
        tensor = examples.example_tensor(self.data)
        self._aliases, self._signature_key, self._rows = aliases, signature.key, len(tensor)
        return {input_name: tensor}, [signature.outputs[a].name for a in aliases]

    def finish(self, version: int, outputs: list[np.ndarray]) -> ClassifyResult:
        return ClassifyResult(
            ResolvedSpec(self.spec.name, version, self._signature_key),
            examples.classifications(self._aliases, outputs, self._rows),
        )

    def explain(self, error: ModelRunError) -> ServingError:
        return error


class RegressCall:
    __slots__ = ("_check", "_rows", "_signature_key", "data", "spec")

    def __init__(
        self, spec: ModelSpec, data: ExampleInput, *, check_method_name: bool = False
    ) -> None:
        self.spec = spec
        self.data = data
        self._check = check_method_name
        self._signature_key = ""
        self._rows = 0

    def plan(self, signatures: Mapping[str, Signature]) -> tuple[Feeds, Sequence[str]]:
        signature = examples.find_signature(signatures, self.spec.signature_name)
        input_name = examples.regress_fetch(signature, check_method_name=self._check)
        tensor = examples.example_tensor(self.data)
        self._signature_key, self._rows = signature.key, len(tensor)
        return {input_name: tensor}, [signature.outputs[examples.REGRESS_OUTPUTS].name]

    def finish(self, version: int, outputs: list[np.ndarray]) -> RegressResult:
        (output,) = outputs
        return RegressResult(
            ResolvedSpec(self.spec.name, version, self._signature_key),
            examples.regressions(output, self._rows),
        )

    def explain(self, error: ModelRunError) -> ServingError:
        return error


class MultiInferenceCall:
    """Every task's signature in one model run; the servable is the one the first task
    addresses (an empty list addresses model ``""``, which the lifecycle rejects)."""

    __slots__ = ("_plan", "_rows", "data", "spec", "tasks")

    def __init__(self, tasks: Sequence[InferenceTask], data: ExampleInput) -> None:
        self.tasks = tasks
        self.data = data
        self.spec = tasks[0].spec if tasks else ModelSpec("")
        self._plan: MultiPlan | None = None
        self._rows = 0

    def plan(self, signatures: Mapping[str, Signature]) -> tuple[Feeds, Sequence[str]]:
        plan = plan_multi_inference(self.tasks, signatures)
        tensor = examples.example_tensor(self.data)
        self._plan, self._rows = plan, len(tensor)
        return feeds_for(plan, tensor), plan.fetch_names

    def finish(self, version: int, outputs: list[np.ndarray]) -> list[InferenceResult]:
        """Results in task order."""
        plan = self._plan
        assert plan is not None, "finish() before plan()"
        results: list[InferenceResult] = []
        for task, task_plan in zip(self.tasks, plan.tasks, strict=True):
            spec = ResolvedSpec(task.spec.name, version, task_plan.signature.key)
            mine = _task_outputs(task_plan, plan.fetch_names, outputs)
            if task_plan.method_name == CLASSIFY_METHOD:
                rows = examples.classifications(task_plan.aliases, mine, self._rows)
                results.append(ClassifyResult(spec, rows))
            else:
                results.append(RegressResult(spec, examples.regressions(mine[0], self._rows)))
        return results

    def explain(self, error: ModelRunError) -> ServingError:
        return error


AnyCall = PredictCall | ClassifyCall | RegressCall | MultiInferenceCall


class CallObserver(Protocol):
    """Told of every call the core answered successfully, on the event loop, after the run.

    Must be quick (queue work elsewhere); an exception it raises is logged, never the request's.
    """

    def completed(self, call: Call[object], result: object) -> None:
        """``result`` is what ``call.finish`` returned; tell calls apart with ``isinstance``
        (:data:`AnyCall`)."""
        ...
