"""TF Serving's `docker run` recipes, with pyserving's image in place of tensorflow/serving:

    docker run -p 8501:8501 -p 8500:8500 -v "$PWD/models/m:/models/m" -e MODEL_NAME=m IMAGE [flags]

(podman runs them the same way). Models are TF1 SavedModels whose answer names their version."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
import pytest

from tests.container.podman import Container, fix_permissions, podman
from tests.integration.grpc_support import float_tensor, predict_request, stubs
from tests.integration.versioned_model import write_versioned_model

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

# Versions named by a Unix timestamp, as TF Serving's docs and exporters name them.
FIRST, SECOND = 1796550000, 1796553600


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    answers: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def add(self, answer: float | None, failure: str = "") -> None:
        with self.lock:
            if answer is None:
                self.failures.append(failure)
            else:
                self.answers.append(answer)


def rest_predict(container: Container, model: str, x: float, timeout: float = 30) -> float:
    reply = httpx.post(
        f"{container.base_url}/v1/models/{model}:predict",
        json={"instances": [x]},
        timeout=timeout,
    )
    reply.raise_for_status()
    (value,) = reply.json()["predictions"]
    return float(value)


def grpc_predict(channel: grpc.Channel, model: str, x: float) -> float:
    request = predict_request(model, "serving_default", x=float_tensor([x], [1]))
    reply = stubs(channel).predict.Predict(request, timeout=30)
    return float(reply.outputs["y"].float_val[0])


def run_clients(until: threading.Event, tally: Tally, calls: list[Callable[[], float]]) -> None:
    def loop(call: Callable[[], float]) -> None:
        while not until.is_set():
            try:
                tally.add(call())
            except Exception as error:  # every failure counts, whatever its kind
                tally.add(None, repr(error))

    threads = [threading.Thread(target=loop, args=(call,), daemon=True) for call in calls]
    for thread in threads:
        thread.start()
    until.wait()
    for thread in threads:
        thread.join(timeout=60)


def test_docker_run_serves_rest_and_grpc_and_picks_up_a_copied_version(
    image: str, models: Path, containers: list[Container]
) -> None:
    write_versioned_model(models / "digits" / str(FIRST), 1)
    fix_permissions(models)
    container = Container(
        image, "-v", f"{models / 'digits'}:/models/digits", "-e", "MODEL_NAME=digits"
    )
    containers.append(container)
    container.wait_ready()
    assert "Exporting HTTP/REST API" in container.logs()  # what TF Serving's docker tests await
    assert podman("healthcheck", "run", container.id, check=False).returncode == 0

    assert rest_predict(container, "digits", 10.0) == 11.0
    channel = grpc.insecure_channel(f"127.0.0.1:{container.grpc_port}")
    assert grpc_predict(channel, "digits", 10.0) == 11.0

    # A client on each protocol runs throughout while a new version is copied in with a plain
    # recursive copy (not atomic), as `cp -r` does in TF Serving's docs.
    stop, tally = threading.Event(), Tally()
    clients = threading.Thread(
        target=run_clients,
        args=(
            stop,
            tally,
            [
                lambda: rest_predict(container, "digits", 0.0),
                lambda: grpc_predict(channel, "digits", 0.0),
            ],
        ),
    )
    clients.start()
    try:
        staging = models.parent / "staging"
        write_versioned_model(staging, 2)
        fix_permissions(staging)
        time.sleep(1.0)
        shutil.copytree(staging, models / "digits" / str(SECOND))
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with tally.lock:
                if tally.answers.count(2.0) >= 20:
                    break
            time.sleep(0.2)
        time.sleep(1.0)
    finally:
        stop.set()
        clients.join(timeout=90)
        channel.close()
    assert tally.failures == [], tally.failures[:5]
    assert set(tally.answers) <= {1.0, 2.0}
    assert tally.answers.count(2.0) >= 20, f"new version never served:\n{container.logs()}"
    assert tally.answers[-1] == 2.0


def test_stop_drains_in_flight_requests_within_a_memory_limit(
    image: str, models: Path, containers: list[Container]
) -> None:
    # TensorFlow loaded with a real model, under a 1 GiB limit; the slow requests come from the
    # test runtime (an exact 3 s per call that does not depend on how busy the CPU is).
    write_versioned_model(models / "digits" / "1", 1)
    (models / "slow" / "1").mkdir(parents=True)
    (models / "slow" / "1" / "fake_model.json").write_text(json.dumps({"run_seconds": 3.0}))
    (models / "models.config").write_text(
        "model_config_list {\n"
        '  config { name: "digits" base_path: "/models/digits" model_platform: "tensorflow" }\n'
        '  config { name: "slow" base_path: "/models/slow" model_platform: "fake" }\n'
        "}\n"
    )
    fix_permissions(models)
    container = Container(
        image,
        "--memory=1g",
        "-v",
        f"{models}:/models",
        args=["--model_config_file=/models/models.config", "--shutdown_grace_seconds=60"],
    )
    containers.append(container)
    container.wait_ready()
    assert container.inspect()["HostConfig"]["Memory"] == 1 << 30
    assert rest_predict(container, "digits", 1.0) == 2.0

    lock = threading.Lock()
    results: list[object] = []

    def slow_request() -> None:
        try:
            reply = httpx.post(
                f"{container.base_url}/v1/models/slow:predict",
                json={"instances": [[1.0]]},
                timeout=120,
            )
            outcome = "ok" if reply.status_code == 200 else f"{reply.status_code}: {reply.text}"
        except httpx.HTTPError as error:
            outcome = repr(error)
        with lock:
            results.append(outcome)

    in_flight = [threading.Thread(target=slow_request) for _ in range(3)]
    for thread in in_flight:
        thread.start()
    time.sleep(1.0)  # all three are inside their 3 s model call
    stopped = podman("stop", "-t", "90", container.id, timeout=120)
    assert stopped.returncode == 0
    for thread in in_flight:
        thread.join(timeout=120)
    logs = container.logs()
    assert results == ["ok", "ok", "ok"], f"{results}\n{logs}"
    state = container.inspect()["State"]
    assert state["ExitCode"] == 0, logs
    assert not state["OOMKilled"]
    assert "Received SIGTERM: draining requests" in logs
    assert "Server core shut down" in logs


def test_model_config_file_and_appended_flags(
    image: str, models: Path, containers: list[Container]
) -> None:
    write_versioned_model(models / "a" / "1", 1)
    write_versioned_model(models / "b" / "7", 7)
    (models / "models.config").write_text(
        "model_config_list {\n"
        '  config { name: "a" base_path: "/models/a" model_platform: "tensorflow" }\n'
        '  config { name: "b" base_path: "/models/b" model_platform: "tensorflow" }\n'
        "}\n"
    )
    fix_permissions(models)
    container = Container(
        image,
        "--init",  # docker's own init in front of the image's: signals still reach the server
        "-v",
        f"{models}:/models",
        args=[
            "--model_config_file=/models/models.config",
            "--monitoring_config_file=/etc/pyserving/monitoring.config",
            "--enable_batching",
        ],
    )
    containers.append(container)
    container.wait_ready()
    assert rest_predict(container, "a", 0.0) == 1.0
    assert rest_predict(container, "b", 0.0) == 7.0
    metrics = httpx.get(f"{container.base_url}/monitoring/prometheus/metrics", timeout=10)
    assert ":tensorflow:serving:request_count" in metrics.text
    assert 'model_name="b"' in metrics.text
    assert podman("stop", "-t", "60", container.id, timeout=90).returncode == 0
    assert container.exit_code() == 0, container.logs()
    assert "Tini is not running as PID 1" not in container.logs()


def test_logs_say_clearly_why_a_model_does_not_load(
    image: str, models: Path, shared_models: Path, containers: list[Container]
) -> None:
    missing = Container(image, "-e", "MODEL_NAME=missing")
    containers.append(missing)
    shutil.copytree(shared_models / "bad_half_plus_two", models / "bad")
    fix_permissions(models)
    broken = Container(
        image,
        "-v",
        f"{models / 'bad'}:/models/bad",
        "-e",
        "MODEL_NAME=bad",
        args=["--max_num_load_retries=0"],
    )
    containers.append(broken)

    # A broken model fails the start as in TF Serving: exit 255, the reason in the logs.
    assert broken.wait_exit() == 255
    assert "Failed to start server" in broken.logs()
    assert "/models/bad/00000123" in broken.logs()

    # No model directory: the server waits, saying where it looked, and never turns ready.
    deadline = time.monotonic() + 60
    while "Could not find base path /models/missing" not in missing.logs():
        assert time.monotonic() < deadline, missing.logs()
        time.sleep(0.5)
    assert missing.running()
