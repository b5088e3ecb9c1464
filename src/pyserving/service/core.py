"""The one core service behind every protocol adapter.

Each method resolves the servable (holding its version until the work is done), validates the
request against the signature, runs the model off the event loop and returns plain results. The
REST and gRPC adapters differ only in how they decode requests and encode these results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from pyserving.errors import Code, ServingError
from pyserving.lifecycle.state import VersionStatus
from pyserving.service import examples
from pyserving.service.execution import Lease, ModelRunner
from pyserving.service.multi_inference import (
    InferenceTask,
    feeds_for,
    plan_multi_inference,
    task_outputs,
)
from pyserving.service.predict import find_predict_signature, plan_predict
from pyserving.service.types import (
    ClassifyResult,
    ExampleInput,
    InputDecoder,
    ModelSpec,
    PredictResult,
    RegressResult,
    ResolvedSpec,
)
from pyserving.signature import CLASSIFY_METHOD, Signature

InferenceResult = ClassifyResult | RegressResult
SIGNATURE_DEF_FIELD = "signature_def"


class Servables(Protocol):
    """What the core needs from the lifecycle (``pyserving.lifecycle.ServerCore``)."""

    def acquire(self, name: str, version: int | None = None, label: str | None = None) -> Lease: ...

    def model_status(self, name: str, version: int | None = None) -> list[VersionStatus]: ...


@dataclass(frozen=True, slots=True)
class MetadataResult:
    name: str
    version: int
    signatures: Mapping[str, Signature]


class ServingService:
    """Predict, Classify, Regress, metadata and status, independent of any wire protocol.

    Thread-safety: the async methods run on one event loop; model runs go through ``runner``
    (worker threads, or the batcher).
    """

    def __init__(
        self,
        servables: Servables,
        runner: ModelRunner,
        *,
        enable_signature_method_name_check: bool = False,
    ) -> None:
        self._servables = servables
        self._runner = runner
        self._check_method = enable_signature_method_name_check

    def _acquire(self, spec: ModelSpec) -> Lease:
        return self._servables.acquire(spec.name, spec.version, spec.label)

    async def predict(
        self,
        spec: ModelSpec,
        inputs: Mapping[str, np.ndarray] | InputDecoder,
        output_filter: Sequence[str] = (),
        timeout_ms: int = 0,
    ) -> PredictResult:
        handle = self._acquire(spec)
        try:
            signatures = handle.model.signatures
            if callable(inputs):
                inputs = inputs(signatures)
            signature = find_predict_signature(signatures, spec.signature_name)
            plan = plan_predict(
                signature, inputs, output_filter, check_method_name=self._check_method
            )
        except BaseException:
            handle.release()
            raise
        version = handle.version
        outputs = await self._runner.run(handle, plan.feeds, plan.fetch_names, timeout_ms)
        return PredictResult(
            ResolvedSpec(spec.name, version, plan.signature_name),
            dict(zip(plan.fetch_aliases, outputs, strict=True)),
        )

    async def classify(
        self, spec: ModelSpec, data: ExampleInput, timeout_ms: int = 0
    ) -> ClassifyResult:
        handle = self._acquire(spec)
        try:
            signature = examples.find_signature(handle.model.signatures, spec.signature_name)
            input_name, aliases = examples.classify_fetches(
                signature, check_method_name=self._check_method
            )
            tensor = examples.example_tensor(data)
            fetches = [signature.outputs[a].name for a in aliases]
        except BaseException:
            handle.release()
            raise
        version = handle.version
        outputs = await self._runner.run(handle, {input_name: tensor}, fetches, timeout_ms)
        return ClassifyResult(
            ResolvedSpec(spec.name, version, signature.key),
            examples.classifications(aliases, outputs, len(tensor)),
        )

    async def regress(
        self, spec: ModelSpec, data: ExampleInput, timeout_ms: int = 0
    ) -> RegressResult:
        handle = self._acquire(spec)
        try:
            signature = examples.find_signature(handle.model.signatures, spec.signature_name)
            input_name = examples.regress_fetch(signature, check_method_name=self._check_method)
            tensor = examples.example_tensor(data)
            fetch = signature.outputs[examples.REGRESS_OUTPUTS].name
        except BaseException:
            handle.release()
            raise
        version = handle.version
        (output,) = await self._runner.run(handle, {input_name: tensor}, [fetch], timeout_ms)
        return RegressResult(
            ResolvedSpec(spec.name, version, signature.key),
            examples.regressions(output, len(tensor)),
        )

    async def multi_inference(
        self, tasks: Sequence[InferenceTask], data: ExampleInput, timeout_ms: int = 0
    ) -> list[InferenceResult]:
        """Run every task's signature in one model run; results in task order. The servable is
        the one the first task addresses."""
        first = tasks[0].spec if tasks else ModelSpec("")
        handle = self._acquire(first)
        try:
            plan = plan_multi_inference(tasks, handle.model.signatures)
            tensor = examples.example_tensor(data)
        except BaseException:
            handle.release()
            raise
        version = handle.version
        outputs = await self._runner.run(
            handle, feeds_for(plan, tensor), plan.fetch_names, timeout_ms
        )
        results: list[InferenceResult] = []
        for task, task_plan in zip(tasks, plan.tasks, strict=True):
            spec = ResolvedSpec(task.spec.name, version, task_plan.signature.key)
            mine = task_outputs(task_plan, plan.fetch_names, outputs)
            if task_plan.method_name == CLASSIFY_METHOD:
                results.append(
                    ClassifyResult(
                        spec, examples.classifications(task_plan.aliases, mine, len(tensor))
                    )
                )
            else:
                results.append(RegressResult(spec, examples.regressions(mine[0], len(tensor))))
        return results

    def metadata(
        self, spec: ModelSpec, fields: Sequence[str] = (SIGNATURE_DEF_FIELD,)
    ) -> MetadataResult:
        if not fields:
            raise ServingError(
                Code.INVALID_ARGUMENT,
                "GetModelMetadataRequest must specify at least one metadata_field",
            )
        for field in fields:
            if field != SIGNATURE_DEF_FIELD:
                raise ServingError(
                    Code.INVALID_ARGUMENT, f"Metadata field {field} is not supported"
                )
        handle = self._acquire(spec)
        try:
            return MetadataResult(spec.name, handle.version, handle.model.signatures)
        finally:
            handle.release()

    def model_status(self, name: str, version: int | None = None) -> list[VersionStatus]:
        return self._servables.model_status(name, version)
