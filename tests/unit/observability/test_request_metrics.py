"""Request metrics and the access log (RequestObserver), runtime metrics (TimedRunner), load and
version metrics, load progress lines, JSON log fields."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence

import numpy as np
import orjson
import pytest

from pyserving.errors import Code, ServingError
from pyserving.lifecycle.state import ServableState
from pyserving.observability.load_progress import LoadProgress
from pyserving.observability.logs import JsonFormatter
from pyserving.observability.metrics import registry as m
from pyserving.observability.metrics.lifecycle import TimedRuntime, VersionStateMetrics
from pyserving.observability.metrics.runner import TimedRunner
from pyserving.observability.requests import CURRENT_API, RequestObserver
from pyserving.protos import inference_pb2, predict_pb2
from pyserving.runtimes.base import LoadOptions, Model, Runtime

REQUEST_COUNT = ":tensorflow:serving:request_count_total"
LATENCY_COUNT = ":tensorflow:serving:request_latency_count"


def value(name: str, **labels: str) -> float:
    return m.REGISTRY.get_sample_value(name, labels) or 0.0


def test_rest_requests_are_counted_with_their_status_and_timed_when_ok() -> None:
    observer = RequestObserver()
    ok = value(REQUEST_COUNT, model_name="obs_rest", status="OK")
    missing = value(REQUEST_COUNT, model_name="obs_rest", status="NOT_FOUND")
    timed = value(LATENCY_COUNT, model_name="obs_rest", API="predict", entrypoint="REST")
    in_flight = value("pyserving_requests_in_flight")
    for code in (Code.OK, Code.OK, Code.NOT_FOUND):
        started = observer.begin()
        assert value("pyserving_requests_in_flight") == in_flight + 1
        observer.end_rest(
            "POST", "/v1/models/obs_rest:predict", "obs_rest", "predict", code, 200, started
        )
    assert value("pyserving_requests_in_flight") == in_flight
    assert value(REQUEST_COUNT, model_name="obs_rest", status="OK") == ok + 2
    assert value(REQUEST_COUNT, model_name="obs_rest", status="NOT_FOUND") == missing + 1
    labels = {"model_name": "obs_rest", "API": "predict", "entrypoint": "REST"}
    assert value(LATENCY_COUNT, **labels) == timed + 2


def test_grpc_inference_calls_are_counted_by_their_model() -> None:
    observer = RequestObserver()
    predict = predict_pb2.PredictRequest()
    predict.model_spec.name = "obs_grpc"
    multi = inference_pb2.MultiInferenceRequest()
    multi.tasks.add().model_spec.name = "obs_multi"
    before = value(REQUEST_COUNT, model_name="obs_grpc", status="INVALID_ARGUMENT")
    observer.end_grpc(
        "PredictionService", "Predict", predict, Code.INVALID_ARGUMENT, observer.begin("Predict")
    )
    assert CURRENT_API.get() == "Predict"
    observer.end_grpc("PredictionService", "MultiInference", multi, Code.OK, observer.begin())
    observer.end_grpc("PredictionService", "GetModelMetadata", predict, Code.OK, observer.begin())
    assert value(REQUEST_COUNT, model_name="obs_grpc", status="INVALID_ARGUMENT") == before + 1
    assert value(REQUEST_COUNT, model_name="obs_multi", status="OK") == 1
    assert (
        value(LATENCY_COUNT, model_name="obs_multi", API="MultiInference", entrypoint="GRPC") == 1
    )
    # TF Serving counts inference calls only, not metadata.
    assert value(REQUEST_COUNT, model_name="obs_grpc", status="OK") == 0


def test_model_names_beyond_the_limit_share_one_series(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pyserving.observability.requests.MAX_MODEL_LABELS", 2)
    observer = RequestObserver()
    for name in ("cap_a", "cap_b", "cap_c", "cap_d"):
        observer.end_rest("GET", "/v1/models/x", name, "", Code.NOT_FOUND, 404, observer.begin())
    assert value(REQUEST_COUNT, model_name="cap_c", status="NOT_FOUND") == 0
    assert value(REQUEST_COUNT, model_name="__other__", status="NOT_FOUND") >= 2


def test_access_log_only_when_enabled(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pyserving.access")
    RequestObserver(access_log=False).end_rest("GET", "/v1/models/q", "q", "", Code.OK, 200, 0)
    assert caplog.records == []
    observer = RequestObserver(metrics=False, access_log=True)
    observer.end_rest("GET", "/v1/models/q", "q", "", Code.OK, 200, observer.begin())
    (record,) = caplog.records
    assert record.getMessage().startswith("REST GET /v1/models/q 200 OK ")
    assert record.getMessage().endswith("ms model=q")
    entry = orjson.loads(JsonFormatter().format(record))
    assert {k: entry[k] for k in ("method", "path", "status", "code", "model", "entrypoint")} == {
        "method": "GET", "path": "/v1/models/q", "status": 200, "code": "OK", "model": "q",
        "entrypoint": "REST",
    }  # fmt: skip
    assert entry["duration_ms"] >= 0 and entry["logger"] == "pyserving.access"


class _Lease:
    name = "obs_runner"
    version = 1
    model: Model

    def release(self) -> None:
        pass


class _Inner:
    async def run(
        self,
        lease: object,
        feeds: Mapping[str, np.ndarray],
        fetches: Sequence[str],
        timeout_ms: int = 0,
    ) -> list[np.ndarray]:
        if "fail" in fetches:
            raise ServingError(Code.INTERNAL, "boom")
        return [np.zeros(1)]


def test_timed_runner_records_runtime_latency_and_examples() -> None:
    runner = TimedRunner(_Inner())
    examples = np.array([b"e1", b"e2", b"e3"], dtype=object)

    async def run() -> None:
        CURRENT_API.set("Classify")
        await runner.run(_Lease(), {"input": examples}, ["out"])
        with pytest.raises(ServingError):
            await runner.run(_Lease(), {"input": examples}, ["fail"])

    asyncio.run(run())
    labels = {"model_name": "obs_runner", "API": "Classify", "runtime": "TF1"}
    assert value(":tensorflow:serving:runtime_latency_count", **labels) == 1  # failures: none
    assert value(":tensorflow:serving:request_example_count_total", model="obs_runner") == 3
    assert value(":tensorflow:serving:request_example_counts_sum", model="obs_runner") == 3


class _Runtime(Runtime):
    platform = "fake"

    def load(self, path: str, options: LoadOptions) -> Model:
        if path.endswith("bad"):
            raise ServingError(Code.NOT_FOUND, "missing")
        return object()  # type: ignore[return-value]

    def is_version_complete(self, path: str) -> bool:
        return path == "complete"


def test_timed_runtime_counts_load_attempts() -> None:
    runtime = TimedRuntime(_Runtime())
    runtime.load("/obs/1", LoadOptions())
    with pytest.raises(ServingError):
        runtime.load("/obs/bad", LoadOptions())
    attempts = ":tensorflow:cc:saved_model:load_attempt_count_total"
    assert value(attempts, model_path="/obs/1", status="success") == 1
    assert value(attempts, model_path="/obs/bad", status="fail") == 1
    assert value(":tensorflow:cc:saved_model:load_latency_total", model_path="/obs/1") >= 0
    assert runtime.is_version_complete("complete")  # other runtime hooks pass through


def test_version_state_metrics_follow_transitions() -> None:
    now = [100.0]
    listener = VersionStateMetrics(clock=lambda: now[0])
    listener("obs_v", 3, ServableState.START, None)
    listener("obs_v", 3, ServableState.LOADING, None)
    now[0] = 102.5
    listener("obs_v", 3, ServableState.AVAILABLE, None)
    assert value("pyserving_model_version_state", model_name="obs_v", version="3") == 30
    assert value("pyserving_model_version_load_seconds", model_name="obs_v", version="3") == 2.5
    listener("obs_v", 3, ServableState.UNLOADING, None)
    listener("obs_v", 3, ServableState.END, None)
    assert value("pyserving_model_version_state", model_name="obs_v", version="3") == 50


def test_load_progress_reports_versions_loading_for_long(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pyserving.lifecycle.progress")
    now = [0.0]
    progress = LoadProgress(interval=10.0, clock=lambda: now[0])
    progress("big", 1, ServableState.LOADING, None)
    now[0] = 5.0
    progress("small", 2, ServableState.LOADING, None)
    assert progress.report() == []
    now[0] = 12.0
    assert progress.report() == ["Still loading servable version {name: big version: 1} (12 s)"]
    progress("big", 1, ServableState.AVAILABLE, None)
    now[0] = 30.0
    assert progress.report() == ["Still loading servable version {name: small version: 2} (25 s)"]
    assert [r.getMessage() for r in caplog.records] == [
        "Still loading servable version {name: big version: 1} (12 s)",
        "Still loading servable version {name: small version: 2} (25 s)",
    ]


def test_load_progress_thread_stops() -> None:
    progress = LoadProgress(interval=0.01)
    progress.start()
    progress.stop()
    assert progress._thread is not None and not progress._thread.is_alive()
