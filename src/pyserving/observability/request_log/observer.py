"""Sampled request logging (only when ``--request_log_dir`` is set), as an observer of the core.

:class:`RequestLogger` is a :class:`~pyserving.service.calls.CallObserver`: the core tells it of
every call it answered, whatever protocol brought it, so REST, gRPC and V2 requests are logged
the same way and neither the core nor the adapters know about logging. For a call to a model with
a ``logging_config`` that the sampler picks, it queues a record builder on the
:class:`~.writer.RecordWriter`; encoding and disk I/O happen on the writer's thread. Only
successful calls are logged (a failed one has no response to log). Unsampled calls cost one dict
lookup and one ``random()``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import cast

from pyserving.codec import prediction_log as records
from pyserving.observability.request_log import settings
from pyserving.observability.request_log.settings import ModelLogSettings
from pyserving.observability.request_log.writer import RecordWriter
from pyserving.service.calls import (
    Call,
    ClassifyCall,
    InferenceResult,
    MultiInferenceCall,
    PredictCall,
    RegressCall,
)
from pyserving.service.types import ClassifyResult, PredictResult, RegressResult


def _sampled(name: str) -> ModelLogSettings | None:
    chosen = settings.settings_for(name)
    if chosen is None or random.random() >= chosen.sampling_rate:
        return None
    return chosen


class RequestLogger:
    """Logs sampled calls to ``writer`` as ``PredictionLog`` records (see the module docstring)."""

    def __init__(self, writer: RecordWriter, saved_model_tags: Sequence[str]) -> None:
        self._writer = writer
        self._tags = tuple(saved_model_tags)

    def completed(self, call: Call[object], result: object) -> None:
        name = call.spec.name
        chosen = _sampled(name)
        if chosen is None:
            return
        meta = records.Metadata(chosen.sampling_config, self._tags, int(time.time()))
        build = _builder(call, result, meta)
        if build is not None:
            self._writer.submit(chosen.prefix, name, build)


def _builder(
    call: Call[object], result: object, meta: records.Metadata
) -> Callable[[], bytes] | None:
    """The record builder for ``call`` (run later, on the writer's thread)."""
    if isinstance(call, PredictCall):
        inputs, spec, fetched = call.inputs, call.spec, tuple(call.output_filter)
        predicted = cast(PredictResult, result)
        if callable(inputs):  # never planned: cannot have succeeded
            return None
        return lambda: records.predict_record(meta, spec, dict(inputs), fetched, predicted)
    if isinstance(call, ClassifyCall):
        classified = cast(ClassifyResult, result)
        return lambda: records.classify_record(meta, call.spec, call.data, classified)
    if isinstance(call, RegressCall):
        regressed = cast(RegressResult, result)
        return lambda: records.regress_record(meta, call.spec, call.data, regressed)
    if isinstance(call, MultiInferenceCall):
        results = cast(list[InferenceResult], result)
        tasks = tuple(call.tasks)
        return lambda: records.multi_inference_record(meta, tasks, call.data, results)
    return None  # a call kind without a PredictionLog form
