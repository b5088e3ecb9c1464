"""Operations end to end: the Prometheus page after REST and gRPC traffic, JSON and access logs,
sampled request logs read back and replayed (one TensorFlow server with every option on), and the
probes around a model loading after a config reload (a fake-runtime server)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest
import tensorflow as tf
from google.protobuf import text_format
from prometheus_client.parser import text_string_to_metric_families
from tensorflow_serving.apis import model_management_pb2, prediction_log_pb2

from pyserving.protos import grpc_predict_v2_pb2, grpc_predict_v2_pb2_grpc
from pyserving.tfrecord import read_records
from tests.integration.grpc_support import (
    CLIENT_OPTIONS,
    float_tensor,
    predict_request,
    regress_request,
    stubs,
)
from tests.integration.harness import ServerProcess, running_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

MODEL = "half"
METRICS = "/monitoring/prometheus/metrics"  # what the shared monitoring_config.txt sets
WAIT_S = 30.0

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@dataclass
class Observed:
    server: ServerProcess
    channel: grpc.Channel
    model_path: Path
    log_dir: Path


@pytest.fixture(scope="module")
def observed(shared_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Observed]:
    work = tmp_path_factory.mktemp("operations")
    model_path = shared_models / "saved_model_half_plus_two_cpu"
    config = work / "models.config"
    config.write_text(
        f'model_config_list {{ config {{ name: "{MODEL}" base_path: "{model_path}" '
        'model_platform: "tensorflow" logging_config { sampling_config { sampling_rate: 1.0 } '
        'log_collector_config { type: "tfrecord" filename_prefix: "half/requests" } } } }'
    )
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        f"--model_config_file={config}",
        f"--monitoring_config_file={shared_models / 'monitoring_config.txt'}",
        "--log_format=json",
        "--access_log",
        f"--request_log_dir={work / 'logs'}",
    ]
    with running_server(args, f"/v1/models/{MODEL}") as server:
        channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}", options=CLIENT_OPTIONS)
        try:
            yield Observed(server, channel, model_path, work / "logs")
        finally:
            channel.close()


def scrape(server: ServerProcess) -> tuple[httpx.Response, Samples]:
    response = httpx.get(server.base_url + METRICS, timeout=10)
    assert response.status_code == 200, response.text
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[sample.name, frozenset(sample.labels.items())] = sample.value
    return response, samples


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


def rest_predict(server: ServerProcess, model: str, body: bytes) -> httpx.Response:
    return httpx.post(f"{server.base_url}/v1/models/{model}:predict", content=body, timeout=30)


COUNT = ":tensorflow:serving:request_count_total"  # the parser names counter samples *_total
LATENCY = ":tensorflow:serving:request_latency_count"


def test_metrics_count_rest_and_grpc_traffic(observed: Observed) -> None:
    server, predict = observed.server, stubs(observed.channel).predict
    _, before = scrape(server)
    for _ in range(3):
        assert rest_predict(server, MODEL, b'{"instances": [1.0, 2.0]}').status_code == 200
    assert rest_predict(server, MODEL, b'{"instances": "nope"}').status_code == 400
    assert rest_predict(server, "missing", b'{"instances": [1.0]}').status_code == 404
    assert httpx.get(f"{server.base_url}/v1/models/{MODEL}", timeout=10).status_code == 200
    for _ in range(2):
        predict.Predict(predict_request(MODEL, x=float_tensor([1.0], [1, 1])), timeout=30)
    with pytest.raises(grpc.RpcError) as caught:
        predict.Predict(predict_request(MODEL, nope=float_tensor([1.0], [1, 1])), timeout=30)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    predict.Regress(regress_request(MODEL, "regress_x_to_y", 1.0, 2.0, 3.0), timeout=30)
    _, after = scrape(server)

    # 3 REST predicts + 1 REST status + 2 gRPC predicts + 1 regress succeeded.
    assert delta(before, after, COUNT, model_name=MODEL, status="OK") == 7
    assert delta(before, after, COUNT, model_name=MODEL, status="INVALID_ARGUMENT") == 2
    assert delta(before, after, COUNT, model_name="missing", status="NOT_FOUND") == 1
    rest = {"model_name": MODEL, "entrypoint": "REST"}
    assert delta(before, after, LATENCY, API="predict", **rest) == 3
    assert delta(before, after, LATENCY, API="", **rest) == 1
    grpc_labels = {"model_name": MODEL, "entrypoint": "GRPC"}
    assert delta(before, after, LATENCY, API="Predict", **grpc_labels) == 2
    assert delta(before, after, LATENCY, API="Regress", **grpc_labels) == 1
    runtime = ":tensorflow:serving:runtime_latency_count"
    assert delta(before, after, runtime, model_name=MODEL, API="Predict", runtime="TF1") == 5
    examples = ":tensorflow:serving:request_example_count_total"
    assert delta(before, after, examples, model=MODEL) == 3
    assert after["pyserving_requests_in_flight", frozenset()] == 0
    assert after["pyserving_process_resident_memory_bytes", frozenset()] > 10_000_000


def test_metrics_page_is_tf_servings_format(observed: Observed) -> None:
    rest_predict(observed.server, MODEL, b'{"instances": [1.0]}')
    response, _ = scrape(observed.server)
    assert response.headers["content-type"] == "text/plain"
    page = response.text
    assert page.endswith("\n") and "# HELP" not in page and "_created" not in page
    lines = page.splitlines()
    assert "# TYPE :tensorflow:serving:request_count counter" in lines
    assert "# TYPE :tensorflow:serving:request_latency histogram" in lines
    assert re.search(
        r'^:tensorflow:serving:request_count\{model_name="half",status="OK"\} \d+$', page, re.M
    )
    prefix = ':tensorflow:serving:request_latency_bucket{model_name="half",API="predict",'
    buckets = [line for line in lines if line.startswith(prefix + 'entrypoint="REST",le="')]
    assert [b.split('le="')[1].split('"')[0] for b in buckets][:4] == ["10", "18", "32.4", "58.32"]
    assert len(buckets) == 34 and 'le="+Inf"' in buckets[-1]
    version_path = observed.model_path / "00000123"
    assert (
        f':tensorflow:cc:saved_model:load_attempt_count{{model_path="{version_path}",'
        'status="success"} 1'
    ) in lines
    assert 'pyserving_model_version_state{model_name="half",version="123"} 30' in lines
    # The page is not a /v1 request: scraping does not count as traffic.
    assert 'model_name=""' not in page


def test_logs_are_json_lines_with_one_access_entry_per_request(observed: Observed) -> None:
    server = observed.server
    marker = "/v1/models/half/versions/123"
    assert httpx.get(server.base_url + marker, timeout=10).status_code == 200
    response = stubs(observed.channel).predict.Predict(
        predict_request(MODEL, x=float_tensor([4.0], [1, 1])), timeout=30
    )
    assert list(response.outputs["y"].float_val) == [4.0]
    deadline = time.monotonic() + WAIT_S
    while True:  # the log file is written asynchronously: wait for both entries (bounded)
        entries = [json.loads(line) for line in server.output.splitlines() if line.startswith("{")]
        access = [e for e in entries if e["logger"] == "pyserving.access"]
        rest = [e for e in access if e["path"] == marker]
        grpc_calls = [e for e in access if e["entrypoint"] == "GRPC" and e["model"] == MODEL]
        if (rest and grpc_calls) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    for entry in entries:
        assert {"ts", "level", "logger", "msg"} <= entry.keys(), entry
    assert any("Successfully loaded servable version" in e["msg"] for e in entries)
    (entry,) = rest
    assert (entry["method"], entry["status"], entry["code"], entry["model"]) == (
        "GET", 200, "OK", MODEL
    )  # fmt: skip
    assert entry["duration_ms"] >= 0
    assert grpc_calls[-1]["path"] == "/PredictionService/Predict"
    assert grpc_calls[-1]["code"] == "OK"


def _read_logs(log_dir: Path) -> list[prediction_log_pb2.PredictionLog]:
    logs: list[prediction_log_pb2.PredictionLog] = []
    for path in sorted((log_dir / "half").glob("requests-*.tfrecord")):
        with path.open("rb") as stream:
            logs.extend(
                prediction_log_pb2.PredictionLog.FromString(r) for r in read_records(stream)
            )
    return logs


def _predict_x(log: prediction_log_pb2.PredictionLog) -> list[float] | None:
    """The ``x`` values of a predict log (read without touching other log types: indexing a
    protobuf map inserts the key, which would turn any log into a predict log)."""
    if log.WhichOneof("log_type") != "predict_log" or "x" not in log.predict_log.request.inputs:
        return None
    return list(log.predict_log.request.inputs["x"].float_val)


def _regress_examples(log: prediction_log_pb2.PredictionLog) -> int | None:
    """How many examples a regress log's request holds (None for other logs)."""
    if log.WhichOneof("log_type") != "regress_log":
        return None
    return len(log.regress_log.request.input.example_list.examples)


def test_request_logs_read_back_and_replay(observed: Observed) -> None:
    server, predict = observed.server, stubs(observed.channel).predict
    assert rest_predict(server, MODEL, b'{"instances": [10.0, 20.0]}').json() == {
        "predictions": [7.0, 12.0]
    }
    predict.Predict(predict_request(MODEL, x=float_tensor([30.0], [1, 1])), timeout=30)
    predict.Regress(regress_request(MODEL, "regress_x_to_y", 40.0), timeout=30)
    deadline = time.monotonic() + WAIT_S
    while True:  # written by a background thread, flushed when its queue empties (bounded)
        logs = _read_logs(observed.log_dir)
        inputs = [_predict_x(log) for log in logs]
        # This test's regress has one example (an earlier test's, in the same logs, has three).
        regresses = [log for log in logs if _regress_examples(log) == 1]
        if ([30.0] in inputs and regresses) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    # The REST request, logged as the PredictRequest it amounts to, and its response.
    (rest,) = [log for log in logs if _predict_x(log) == [10.0, 20.0]]
    meta = rest.log_metadata
    assert (meta.model_spec.name, meta.model_spec.version.value) == (MODEL, 123)
    assert meta.model_spec.signature_name == "serving_default"
    assert meta.sampling_config.sampling_rate == 1.0 and list(meta.saved_model_tags) == ["serve"]
    assert list(rest.predict_log.response.outputs["y"].float_val) == [7.0, 12.0]
    regress = regresses[-1]
    assert regress.regress_log.request.model_spec.signature_name == "regress_x_to_y"
    assert [r.value for r in regress.regress_log.response.result.regressions] == [22.0]
    # Every logged predict request replays to the logged response.
    for log in logs:
        if log.WhichOneof("log_type") == "predict_log":
            replayed = predict.Predict(log.predict_log.request, timeout=30)
            assert replayed.outputs["y"] == log.predict_log.response.outputs["y"]
    # TensorFlow reads the files (the warmup file format).
    files = sorted(str(p) for p in (observed.log_dir / "half").glob("*.tfrecord"))
    assert sum(1 for _ in tf.data.TFRecordDataset(files)) >= len(logs)


def test_v2_requests_are_counted_logged_and_request_logged(observed: Observed) -> None:
    """The Open Inference Protocol goes through the same metrics, access log and request log as
    TF Serving's APIs, over REST and gRPC alike."""
    server = observed.server
    infer = f"{server.base_url}/v2/models/{MODEL}/infer"
    body = {"inputs": [{"name": "x", "shape": [1, 1], "datatype": "FP32", "data": [60.0]}]}
    _, before = scrape(server)
    assert httpx.post(infer, json=body, timeout=30).status_code == 200
    bad = {"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1.0]}]}
    assert httpx.post(infer, json=bad, timeout=30).status_code == 400
    stub = grpc_predict_v2_pb2_grpc.GRPCInferenceServiceStub(observed.channel)
    request = grpc_predict_v2_pb2.ModelInferRequest(model_name=MODEL)
    request.inputs.add(name="x", datatype="FP32", shape=[1, 1]).contents.fp32_contents.append(70)
    response = stub.ModelInfer(request, timeout=30)
    assert list(response.outputs[0].contents.fp32_contents) == [37.0]
    _, after = scrape(server)
    assert delta(before, after, COUNT, model_name=MODEL, status="OK") == 2
    assert delta(before, after, COUNT, model_name=MODEL, status="INVALID_ARGUMENT") == 1
    for entrypoint in ("REST", "GRPC"):
        labels = {"model_name": MODEL, "entrypoint": entrypoint}
        assert delta(before, after, LATENCY, API="ModelInfer", **labels) == 1

    deadline = time.monotonic() + WAIT_S
    while True:  # access log lines and request logs are written asynchronously (bounded wait)
        entries = [json.loads(line) for line in server.output.splitlines() if line.startswith("{")]
        paths = {e.get("path") for e in entries if e["logger"] == "pyserving.access"}
        inputs = [_predict_x(log) for log in _read_logs(observed.log_dir)]
        done = [60.0] in inputs and [70.0] in inputs
        if (done and "/GRPCInferenceService/ModelInfer" in paths) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert f"/v2/models/{MODEL}/infer" in paths
    assert "/GRPCInferenceService/ModelInfer" in paths
    assert [60.0] in inputs and [70.0] in inputs  # as PredictLogs, like TF Serving requests


# -- probes ----------------------------------------------------------------------------------------


def _fake_model(base: Path, version: int, **spec: float) -> None:
    (base / str(version)).mkdir(parents=True)
    (base / str(version) / "fake_model.json").write_text(json.dumps(spec))


def _fake_config(*models: tuple[str, Path]) -> str:
    entries = "".join(
        f'config {{ name: "{name}" base_path: "{path}" model_platform: "fake" }} '
        for name, path in models
    )
    return f"model_config_list {{ {entries}}}"


def test_probes_before_during_and_after_a_model_loads(tmp_path: Path) -> None:
    _fake_model(tmp_path / "ready", 1)
    config = tmp_path / "models.config"
    config.write_text(_fake_config(("ready", tmp_path / "ready")))
    args = ["--port={grpc_port}", "--rest_api_port={rest_port}", f"--model_config_file={config}"]
    with running_server(args, "/v1/models/ready") as server:
        get = httpx.Client(base_url=server.base_url, timeout=10).get
        assert get("/readyz").json() == {"ready": True}
        assert get("/v2/health/ready").status_code == 200

        # A reload adds "later" (no version yet) and "slow" (loads for 3 s); it blocks until both
        # are AVAILABLE, meanwhile readiness is 503 and names them.
        (tmp_path / "later").mkdir()
        request = model_management_pb2.ReloadConfigRequest()
        text_format.Parse(
            _fake_config(
                ("ready", tmp_path / "ready"),
                ("later", tmp_path / "later"),
                ("slow", tmp_path / "slow"),
            ),
            request.config,
        )
        _fake_model(tmp_path / "slow", 1, load_seconds=3.0)
        channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}")
        outcome: list[object] = []
        reload = threading.Thread(
            target=lambda: outcome.append(
                stubs(channel).models.HandleReloadConfigRequest(request, timeout=60)
            )
        )
        reload.start()
        try:
            deadline = time.monotonic() + WAIT_S
            while (response := get("/readyz")).status_code == 200:
                assert time.monotonic() < deadline, "readiness never turned 503"
                time.sleep(0.05)
            assert response.status_code == 503
            body = response.json()
            assert body["ready"] is False and body["shutting_down"] is False
            assert set(body["unavailable_models"]) <= {"later", "slow"}
            assert body["unavailable_models"]["later"] == []
            assert get("/v2/health/ready").status_code == 503
            assert get("/healthz").json() == {"alive": True}
            assert get("/v2/health/live").status_code == 200
            assert get("/v1/models/ready").status_code == 200  # still serving meanwhile

            _fake_model(tmp_path / "later", 1)  # the missing version appears
            reload.join(WAIT_S)
            assert not reload.is_alive() and len(outcome) == 1
        finally:
            reload.join(WAIT_S)
            channel.close()
        assert get("/readyz").json() == {"ready": True}
        assert "pyserving.access" not in server.output  # --access_log is off
