"""Sampled request logging: per-model settings, the record writer, the logging service."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from pyserving.config.models import models_from_config
from pyserving.errors import Code, ServingError
from pyserving.lifecycle.state import VersionStatus
from pyserving.observability.metrics import registry as m
from pyserving.observability.request_log import settings
from pyserving.observability.request_log.observer import RequestLogger
from pyserving.observability.request_log.writer import RecordWriter
from pyserving.protos import example_pb2, model_server_config_pb2, parse_text, prediction_log_pb2
from pyserving.runtimes.base import LoadOptions
from pyserving.runtimes.fake import FakeModel, FakeRuntime, write_fake_model
from pyserving.service.core import ServingService
from pyserving.service.execution import ThreadRunner
from pyserving.service.types import ExampleInput, ModelSpec
from pyserving.tfrecord import read_records
from pyserving.warmup.records import read_warmup_logs
from pyserving.warmup.replay import replay

WAIT = 10.0


@pytest.fixture(autouse=True)
def _reset_settings() -> Iterator[None]:
    yield
    settings.enable(None)


def _config(logging: str, name: str = "m") -> model_server_config_pb2.ModelServerConfig:
    text = (
        f'model_config_list {{ config {{ name: "{name}" base_path: "/models/{name}" '
        f'model_platform: "tensorflow" logging_config {{ {logging} }} }} }}'
    )
    return parse_text(text, model_server_config_pb2.ModelServerConfig())


def _records(directory: Path) -> list[bytes]:
    found: list[bytes] = []
    for path in sorted(directory.rglob("*.tfrecord")):
        with path.open("rb") as stream:
            found.extend(read_records(stream))
    return found


# -- settings ------------------------------------------------------------------------------------


def test_logging_config_without_a_log_dir_keeps_tf_servings_error() -> None:
    with pytest.raises(ServingError) as caught:
        models_from_config(_config("sampling_config { sampling_rate: 0.5 }"))
    assert (caught.value.code, caught.value.message) == (
        Code.INVALID_ARGUMENT,
        "No request-logger-creator provided.",
    )


def test_logging_config_with_a_log_dir_is_published(tmp_path: Path) -> None:
    settings.enable(str(tmp_path))
    config = _config(
        'sampling_config { sampling_rate: 0.25 } log_collector_config { type: "x" '
        'filename_prefix: "sub/m" }'
    )
    models = models_from_config(config)
    assert [model.name for model in models] == ["m"]
    assert settings.settings_for("m") is None  # validated, but not served yet
    settings.publish(config)  # what ConfigController's on_served does once it is served
    chosen = settings.settings_for("m")
    assert chosen is not None
    assert (chosen.sampling_rate, chosen.prefix) == (0.25, "sub/m")
    assert settings.settings_for("other") is None
    settings.publish(
        parse_text("model_config_list {}", model_server_config_pb2.ModelServerConfig())
    )
    assert settings.settings_for("m") is None  # a new config replaces the settings


@pytest.mark.parametrize(
    ("logging", "problem"),
    [
        ("sampling_config { sampling_rate: 1.5 }", "sampling_rate must be in [0, 1], got 1.5"),
        ("sampling_config { sampling_rate: -0.1 }", "sampling_rate must be in [0, 1], got -0.1"),
        ('log_collector_config { filename_prefix: "/abs" }', "got '/abs'"),
        ('log_collector_config { filename_prefix: "../up" }', "got '../up'"),
    ],
)
def test_bad_logging_configs_are_refused(tmp_path: Path, logging: str, problem: str) -> None:
    settings.enable(str(tmp_path))
    with pytest.raises(ServingError) as caught:
        models_from_config(_config(logging))
    assert caught.value.code is Code.INVALID_ARGUMENT
    assert problem in caught.value.message


# -- writer --------------------------------------------------------------------------------------


def test_writer_rotates_files_by_size(tmp_path: Path) -> None:
    writer = RecordWriter(str(tmp_path), max_file_bytes=120)
    payloads = [bytes([i]) * 40 for i in range(5)] + [b"big" * 100]
    for payload in payloads:
        assert writer.submit("logs/a", "a", functools.partial(bytes, payload))
    writer.close()
    files = sorted((tmp_path / "logs").glob("a-*.tfrecord"))
    # Each record is 40 + 16 framing bytes: two per 120-byte file; the big one gets its own.
    assert [f.stat().st_size for f in files] == [112, 112, 56, 316]
    assert _records(tmp_path) == payloads


def test_writer_drops_and_counts_when_its_queue_is_full(tmp_path: Path) -> None:
    writer = RecordWriter(str(tmp_path), max_file_bytes=1 << 20, queue_size=1)
    started, release = threading.Event(), threading.Event()

    def blocked() -> bytes:
        started.set()
        assert release.wait(WAIT)
        return b"first"

    def dropped_count() -> float:
        value = m.REGISTRY.get_sample_value(
            ":tensorflow:serving:request_log_count_total",
            {"model_name": "q", "status_code": "RESOURCE_EXHAUSTED"},
        )
        return value or 0.0

    before = dropped_count()
    assert writer.submit("q", "q", blocked)
    assert started.wait(WAIT)  # the writer thread is busy with the first record
    assert writer.submit("q", "q", lambda: b"second")  # fills the queue (size 1)
    assert not writer.submit("q", "q", lambda: b"third")  # never blocks: dropped
    assert dropped_count() == before + 1
    release.set()
    writer.close()
    assert _records(tmp_path) == [b"first", b"second"]


def test_a_failing_builder_is_counted_and_skipped(tmp_path: Path) -> None:
    writer = RecordWriter(str(tmp_path), max_file_bytes=1 << 20)
    name = ":tensorflow:serving:request_log_count_total"

    def count(status: str) -> float:
        return m.REGISTRY.get_sample_value(name, {"model_name": "b", "status_code": status}) or 0

    def broken() -> bytes:
        raise ValueError("cannot encode")

    before = count("INTERNAL"), count("OK")
    writer.submit("b", "b", broken)
    writer.submit("b", "b", lambda: b"ok")
    writer.close()
    assert _records(tmp_path) == [b"ok"]
    assert (count("INTERNAL"), count("OK")) == (before[0] + 1, before[1] + 1)


# -- the logging observer ------------------------------------------------------------------------


class _Lease:
    def __init__(self, model: FakeModel) -> None:
        self.model = model
        self.version = 7
        self.name = "m"

    def release(self) -> None:
        pass


class _Servables:
    def __init__(self, model: FakeModel) -> None:
        self._model = model

    def acquire(self, name: str, version: int | None = None, label: str | None = None) -> _Lease:
        return _Lease(self._model)

    def model_status(self, name: str, version: int | None = None) -> list[VersionStatus]:
        return []


def test_service_logs_sampled_predictions_as_prediction_logs(tmp_path: Path) -> None:
    settings.enable(str(tmp_path))
    settings.publish(
        _config(
            'sampling_config { sampling_rate: 1.0 } log_collector_config { filename_prefix: "p" }'
        )
    )
    model = FakeRuntime().load(write_fake_model(str(tmp_path / "model")), LoadOptions())
    writer = RecordWriter(str(tmp_path / "logs"), max_file_bytes=1 << 20)
    x = np.array([[1.0], [3.0]], dtype=np.float32)

    async def run() -> None:
        with ThreadPoolExecutor(2) as pool:
            service = ServingService(
                _Servables(model), ThreadRunner(pool), observers=[RequestLogger(writer, ["serve"])]
            )
            spec = ModelSpec("m", version=7)
            result = await service.predict(spec, lambda signatures: {"x": x})
            assert result.outputs["y"].tolist() == [[2.5], [3.5]]
            await service.predict(ModelSpec("unlogged"), {"x": x})  # no logging_config

    asyncio.run(run())
    writer.close()
    (record,) = _records(tmp_path / "logs")
    log = prediction_log_pb2.PredictionLog.FromString(record)
    assert log.WhichOneof("log_type") == "predict_log"
    meta = log.log_metadata
    assert (meta.model_spec.name, meta.model_spec.version.value) == ("m", 7)
    assert meta.model_spec.signature_name == "serving_default"
    assert meta.sampling_config.sampling_rate == 1.0
    assert list(meta.saved_model_tags) == ["serve"] and meta.timestamp_secs > 0
    request = log.predict_log.request
    assert request.model_spec.version.value == 7
    assert list(request.inputs["x"].float_val) == [1.0, 3.0]
    assert [d.size for d in request.inputs["x"].tensor_shape.dim] == [2, 1]
    assert list(log.predict_log.response.outputs["y"].float_val) == [2.5, 3.5]
    # The log file is a valid warmup file: the warmup reader replays it against the model.
    (path,) = (tmp_path / "logs").glob("p-*.tfrecord")
    runs = model.runtime.runs
    for logged in read_warmup_logs(str(path)):
        replay(model, logged)
    assert model.runtime.runs == runs + 1


def test_unsampled_models_are_not_logged(tmp_path: Path) -> None:
    settings.enable(str(tmp_path))
    settings.publish(_config("sampling_config { sampling_rate: 0.0 }"))
    model = FakeRuntime().load(write_fake_model(str(tmp_path / "model")), LoadOptions())
    writer = RecordWriter(str(tmp_path / "logs"), max_file_bytes=1 << 20)
    example = example_pb2.Example()
    example.features.feature["x"].float_list.value.append(1.0)

    async def run() -> None:
        with ThreadPoolExecutor(1) as pool:
            service = ServingService(
                _Servables(model), ThreadRunner(pool), observers=[RequestLogger(writer, ())]
            )
            for _ in range(20):
                await service.predict(ModelSpec("m"), {"x": np.ones((1, 1), np.float32)})
            with pytest.raises(ServingError):  # the fake has no classify signature
                await service.classify(ModelSpec("m"), ExampleInput([example.SerializeToString()]))

    asyncio.run(run())
    writer.close()
    assert _records(tmp_path / "logs") == []
