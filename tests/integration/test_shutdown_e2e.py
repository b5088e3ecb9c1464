"""Graceful shutdown under load: SIGTERM while REST and gRPC clients keep sending requests and
slow requests are in flight (fake-runtime models: they start fast and their run time is exact)."""

from __future__ import annotations

import json
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from pyserving.config.options import GRPC_SERVERS
from tests.integration.grpc_support import float_tensor, predict_request, stubs
from tests.integration.harness import ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

SLOW_RUN_S = 2.0
CLIENTS = 3  # per protocol
MAX_REQUESTS = 5000  # per client: bounds each loop even if the server never stops


def _server(tmp_path: Path, *flags: str) -> ServerProcess:
    for name, spec in (("fast", {}), ("slow", {"run_seconds": SLOW_RUN_S})):
        (tmp_path / name / "1").mkdir(parents=True)
        (tmp_path / name / "1" / "fake_model.json").write_text(json.dumps(spec))
    config = tmp_path / "models.config"
    config.write_text(
        "model_config_list { "
        + "".join(
            f'config {{ name: "{n}" base_path: "{tmp_path / n}" model_platform: "fake" }} '
            for n in ("fast", "slow")
        )
        + "}"
    )
    args = ["--port={grpc_port}", "--rest_api_port={rest_port}", f"--model_config_file={config}"]
    server = ServerProcess([*args, *flags])
    server.wait_for_rest("/v1/models/fast")
    return server


@dataclass
class Tally:
    """What the clients saw. ``failures``: answers that were not successes."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    ok: int = 0
    refused: int = 0
    failures: list[str] = field(default_factory=list)

    def add(self, ok: bool, failure: str = "") -> None:
        with self.lock:
            if ok:
                self.ok += 1
            elif failure:
                self.failures.append(failure)
            else:
                self.refused += 1


BODY = b'{"instances": [[1.0]]}'


def _rest_client(server: ServerProcess, model: str, tally: Tally, stop: threading.Event) -> None:
    """Predict in a loop until the server stops answering. A transport error (refused, reset,
    closed without a response) is a refusal; any HTTP answer but 200 is a failure."""
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        for _ in range(MAX_REQUESTS):
            try:
                response = client.post(f"/v1/models/{model}:predict", content=BODY)
            except httpx.TransportError:
                tally.add(False)
                return
            good = response.status_code == 200 and response.json() == {"predictions": [[2.5]]}
            tally.add(good, "" if good else f"REST {response.status_code}: {response.text}")
            if stop.is_set():
                return


# UNAVAILABLE: refused (port closed, or the server stopped taking RPCs). CANCELLED: an RPC that
# grpc core had received but not yet dispatched when the drain began; grpc cancels those (as in
# TF Serving) and they never reach a handler, which the access log checks below confirm.
_REFUSED = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)


def _grpc_client(server: ServerProcess, model: str, tally: Tally, stop: threading.Event) -> None:
    """The same over gRPC: a refusal ends the loop; any other error status is a failure."""
    request = predict_request(model, x=float_tensor([1.0], [1, 1]))
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        predict = stubs(channel).predict.Predict
        for _ in range(MAX_REQUESTS):
            try:
                response = predict(request, timeout=30)
            except grpc.RpcError as error:
                refused = error.code() in _REFUSED
                tally.add(False, "" if refused else f"gRPC {error.code()}: {error.details()}")
                return
            good = list(response.outputs["y"].float_val) == [2.5]
            tally.add(good, "" if good else f"gRPC answer {response}")
            if stop.is_set():
                return


@pytest.mark.parametrize("stack", GRPC_SERVERS)
def test_sigterm_under_load_drains_and_exits_0(tmp_path: Path, stack: str) -> None:
    server = _server(
        tmp_path, "--shutdown_grace_seconds=20", "--access_log", f"--grpc_server={stack}"
    )
    tally, slow_tally, stop = Tally(), Tally(), threading.Event()
    clients = [
        threading.Thread(target=client, args=(server, "fast", tally, stop))
        for client in [_rest_client] * CLIENTS + [_grpc_client] * CLIENTS
    ]
    # One slow request per protocol, answered ~SLOW_RUN_S after it starts: in flight at SIGTERM.
    slow = [
        threading.Thread(target=client, args=(server, "slow", slow_tally, threading.Event()))
        for client in (_rest_client, _grpc_client)
    ]
    try:
        for thread in clients:
            thread.start()
        deadline = time.monotonic() + 30
        while tally.ok < 50:  # the load is running
            assert time.monotonic() < deadline, f"no load: {tally}\n{server.output}"
            time.sleep(0.01)
        for thread in slow:
            thread.start()
        time.sleep(0.5)
        server.process.send_signal(signal.SIGTERM)
        code = server.process.wait(timeout=60)
    finally:
        stop.set()
        for thread in clients + slow:
            thread.join(timeout=60)
        server.stop()
    assert code == 0, server.output
    assert tally.failures == [], tally.failures
    assert tally.ok >= 50
    # Server side: every request a handler accepted succeeded, and every success a client saw
    # went through a handler (so no refusal above hides an accepted request).
    access = [line for line in server.output.splitlines() if "pyserving.access]" in line]
    assert access and all(" 200 OK " in line for line in access), access
    assert sum("model=fast" in line for line in access) >= tally.ok
    # The slow requests were accepted before the signal and completed during the drain.
    assert slow_tally.failures == [] and slow_tally.ok >= 2, (slow_tally, server.output)
    output = server.output
    assert "Received SIGTERM: draining requests" in output
    assert "Done unloading servable version {name: slow version: 1}" in output
    assert output.index("Received SIGTERM") < output.index("Server stopped")


def test_second_signal_exits_at_once(tmp_path: Path) -> None:
    server = _server(tmp_path, "--shutdown_grace_seconds=60")
    slow_tally = Tally()
    slow = threading.Thread(
        target=_rest_client, args=(server, "slow", slow_tally, threading.Event())
    )
    try:
        slow.start()
        time.sleep(0.5)  # the slow request is running
        server.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while "draining requests" not in server.output:
            assert time.monotonic() < deadline, server.output
            time.sleep(0.05)
        assert server.process.poll() is None  # still draining the slow request
        server.process.send_signal(signal.SIGINT)
        code = server.process.wait(timeout=10)
    finally:
        slow.join(timeout=30)
        server.stop()
    assert code == 1, server.output
    assert "Second signal SIGINT: exiting now" in server.output


@pytest.mark.parametrize("stack", GRPC_SERVERS)
def test_shutdown_delay_reports_unready_while_still_serving(tmp_path: Path, stack: str) -> None:
    server = _server(
        tmp_path,
        "--shutdown_delay_seconds=3",
        "--enable_grpc_healthcheck_service",
        f"--grpc_server={stack}",
    )
    health_request = health_pb2.HealthCheckRequest(service="PredictionService")
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            health = health_pb2_grpc.HealthStub(channel).Check
            assert (
                health(health_request, timeout=10).status == health_pb2.HealthCheckResponse.SERVING
            )
            with httpx.Client(base_url=server.base_url, timeout=10) as client:
                assert client.get("/readyz").status_code == 200
                server.process.send_signal(signal.SIGTERM)
                deadline = time.monotonic() + 10
                while (ready := client.get("/readyz")).status_code == 200:
                    assert time.monotonic() < deadline, server.output
                    time.sleep(0.02)
                # Unready, yet still serving: liveness, predictions and RPCs all answer.
                assert ready.status_code == 503 and ready.json()["shutting_down"] is True
                assert client.get("/healthz").status_code == 200
                response = client.post("/v1/models/fast:predict", content=BODY)
                assert response.json() == {"predictions": [[2.5]]}
            status = health(health_request, timeout=10).status
            assert status == health_pb2.HealthCheckResponse.NOT_SERVING
            predict = stubs(channel).predict.Predict
            request = predict_request("fast", x=float_tensor([1.0], [1, 1]))
            assert list(predict(request, timeout=10).outputs["y"].float_val) == [2.5]
        assert server.process.wait(timeout=30) == 0, server.output
    finally:
        server.stop()
    output = server.output
    assert output.index("Not ready; serving 3 s more") < output.index("gRPC server stopped")
