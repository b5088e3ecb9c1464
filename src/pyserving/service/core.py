"""The one core service behind every protocol adapter.

Each inference method is a :class:`~pyserving.service.calls.Call` run by
:meth:`ServingService.serve`, the one lease/run/release sequence: resolve the servable (holding its
version until the model run is done), plan the call against its signatures, run the model off the
event loop through the ``runner`` (threads, or the batcher), turn the outputs into the result, and
tell the observers.
The REST and gRPC adapters differ only in how they decode requests and encode these results.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np

from pyserving.errors import Code, ModelRunError, ServingError
from pyserving.lifecycle.state import VersionStatus
from pyserving.service.calls import (
    Call,
    CallObserver,
    ClassifyCall,
    InferenceResult,
    MultiInferenceCall,
    PredictCall,
    RegressCall,
)
from pyserving.service.execution import Lease, ModelRunner
from pyserving.service.multi_inference import InferenceTask
from pyserving.service.types import (
    ClassifyResult,
    ExampleInput,
    InputDecoder,
    ModelSpec,
    PredictResult,
    RegressResult,
)
from pyserving.signature import NativeSignatures, Signature

__all__ = ["SIGNATURE_DEF_FIELD", "InferenceResult", "MetadataResult", "ServingService"]

logger = logging.getLogger("pyserving.service")

R = TypeVar("R")
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
    native_signatures: NativeSignatures | None = None
    """The runtime's own serialized signatures, if any (see ``Model.native_signatures``)."""
    platform: str = ""
    """The platform that loaded the version (``Model.platform``)."""


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
        observers: Sequence[CallObserver] = (),
    ) -> None:
        """``observers`` are told of every call answered successfully (request logs)."""
        self._servables = servables
        self._runner = runner
        self.check_method_name = enable_signature_method_name_check
        """Whether calls check their signature's method name (for calls built outside)."""
        self._observers = tuple(observers)

    async def serve(self, call: Call[R], timeout_ms: int = 0) -> R:
        """Run ``call``: lease its servable, plan, run the model, finish, tell the observers.

        The lease passes to the runner, which releases it when the model run really ends; it is
        released here only if planning fails.
        """
        spec = call.spec
        lease = self._servables.acquire(spec.name, spec.version, spec.label)
        try:
            feeds, fetches = call.plan(lease.model.signatures)
        except BaseException:
            lease.release()
            raise
        version = lease.version
        try:
            outputs = await self._runner.run(lease, feeds, fetches, timeout_ms)
        except ModelRunError as error:
            raise call.explain(error) from None
        result = call.finish(version, outputs)
        if self._observers:
            self._notify(call, result)
        return result

    def _notify(self, call: Call[object], result: object) -> None:
        for observer in self._observers:
            try:
                observer.completed(call, result)
            except Exception:
                logger.exception("Call observer %r failed", observer)

    def predict(
        self,
        spec: ModelSpec,
        inputs: Mapping[str, np.ndarray] | InputDecoder,
        output_filter: Sequence[str] = (),
        timeout_ms: int = 0,
    ) -> Coroutine[Any, Any, PredictResult]:
        """Await it as an ``async def``: it returns :meth:`serve`'s coroutine rather than being
        one more coroutine around it (one frame less per request)."""
        call = PredictCall(spec, inputs, output_filter, check_method_name=self.check_method_name)
        return self.serve(call, timeout_ms)

    async def classify(
        self, spec: ModelSpec, data: ExampleInput, timeout_ms: int = 0
    ) -> ClassifyResult:
        call = ClassifyCall(spec, data, check_method_name=self.check_method_name)
        return await self.serve(call, timeout_ms)

    async def regress(
        self, spec: ModelSpec, data: ExampleInput, timeout_ms: int = 0
    ) -> RegressResult:
        call = RegressCall(spec, data, check_method_name=self.check_method_name)
        return await self.serve(call, timeout_ms)

    async def multi_inference(
        self, tasks: Sequence[InferenceTask], data: ExampleInput, timeout_ms: int = 0
    ) -> list[InferenceResult]:
        """Run every task's signature in one model run; results in task order. The servable is
        the one the first task addresses."""
        return await self.serve(MultiInferenceCall(tasks, data), timeout_ms)

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
        lease = self._servables.acquire(spec.name, spec.version, spec.label)
        try:
            model = lease.model
            return MetadataResult(
                spec.name, lease.version, model.signatures, model.native_signatures, model.platform
            )
        finally:
            lease.release()

    def model_status(self, name: str, version: int | None = None) -> list[VersionStatus]:
        return self._servables.model_status(name, version)
