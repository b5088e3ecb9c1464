"""The core service with sampled request logging (used only when ``--request_log_dir`` is set).

It wraps the inference methods of :class:`~pyserving.service.core.ServingService`, which REST and
gRPC both call, so both log the same way and the core stays untouched. For a request to a model
with a ``logging_config`` that the sampler picks, it keeps the decoded inputs and the result and
queues a record builder on the :class:`~.writer.RecordWriter`; encoding and disk I/O happen on
the writer's thread. Only successful requests are logged (a failed one has no response to log).
Unsampled requests cost one dict lookup and one ``random()``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pyserving.codec import prediction_log as records
from pyserving.observability.request_log import settings
from pyserving.observability.request_log.settings import ModelLogSettings
from pyserving.observability.request_log.writer import RecordWriter
from pyserving.service.core import InferenceResult, ServingService
from pyserving.service.multi_inference import InferenceTask
from pyserving.service.types import (
    ClassifyResult,
    ExampleInput,
    InputDecoder,
    ModelSpec,
    PredictResult,
    RegressResult,
)
from pyserving.signature import Signature


def _sampled(name: str) -> ModelLogSettings | None:
    chosen = settings.settings_for(name)
    if chosen is None or random.random() >= chosen.sampling_rate:
        return None
    return chosen


class RequestLoggingService(ServingService):
    """``ServingService(*args, **kwargs)`` that also logs sampled requests to ``writer``."""

    def __init__(
        self, *args: Any, writer: RecordWriter, saved_model_tags: Sequence[str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._writer = writer
        self._tags = tuple(saved_model_tags)

    def _metadata(self, chosen: ModelLogSettings) -> records.Metadata:
        return records.Metadata(chosen.sampling_config, self._tags, int(time.time()))

    async def predict(
        self,
        spec: ModelSpec,
        inputs: Mapping[str, np.ndarray] | InputDecoder,
        output_filter: Sequence[str] = (),
        timeout_ms: int = 0,
    ) -> PredictResult:
        chosen = _sampled(spec.name)
        if chosen is None:
            return await super().predict(spec, inputs, output_filter, timeout_ms)
        seen: list[Mapping[str, np.ndarray]] = []
        if callable(inputs):
            decoder = inputs

            def capture(signatures: Mapping[str, Signature]) -> Mapping[str, np.ndarray]:
                decoded = decoder(signatures)
                seen.append(decoded)
                return decoded

            result = await super().predict(spec, capture, output_filter, timeout_ms)
        else:
            seen.append(inputs)
            result = await super().predict(spec, inputs, output_filter, timeout_ms)
        meta, fetched = self._metadata(chosen), tuple(output_filter)
        self._writer.submit(
            chosen.prefix,
            spec.name,
            lambda: records.predict_record(meta, spec, dict(seen[0]), fetched, result),
        )
        return result

    async def classify(
        self, spec: ModelSpec, data: ExampleInput, timeout_ms: int = 0
    ) -> ClassifyResult:
        result = await super().classify(spec, data, timeout_ms)
        chosen = _sampled(spec.name)
        if chosen is not None:
            meta = self._metadata(chosen)
            self._writer.submit(
                chosen.prefix,
                spec.name,
                lambda: records.classify_record(meta, spec, data, result),
            )
        return result

    async def regress(
        self, spec: ModelSpec, data: ExampleInput, timeout_ms: int = 0
    ) -> RegressResult:
        result = await super().regress(spec, data, timeout_ms)
        chosen = _sampled(spec.name)
        if chosen is not None:
            meta = self._metadata(chosen)
            self._writer.submit(
                chosen.prefix, spec.name, lambda: records.regress_record(meta, spec, data, result)
            )
        return result

    async def multi_inference(
        self, tasks: Sequence[InferenceTask], data: ExampleInput, timeout_ms: int = 0
    ) -> list[InferenceResult]:
        results = await super().multi_inference(tasks, data, timeout_ms)
        chosen = _sampled(tasks[0].spec.name) if results else None
        if chosen is not None:
            meta, logged = self._metadata(chosen), tuple(tasks)
            self._writer.submit(
                chosen.prefix,
                tasks[0].spec.name,
                lambda: records.multi_inference_record(meta, logged, data, results),
            )
        return results
