"""SIGTERM while clients open a fresh connection per request: a client whose connection was
established before the listener closed gets an answer (served, or an HTTP error with
``Connection: close``), never a reset; clients that connect later may be refused."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest

from tests.integration.grpc_support import float_tensor, predict_request, stubs
from tests.integration.harness import ServerProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

REST_CLIENTS = 16
GRPC_CLIENTS = 4
REQUEST = (
    b"POST /v1/models/fast:predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Content-Length: 22\r\n\r\n" + b'{"instances": [[1.0]]}'
)


@dataclass
class Outcomes:
    lock: threading.Lock = field(default_factory=threading.Lock)
    answered: int = 0
    refused: int = 0
    broken: list[str] = field(default_factory=list)

    def add(self, *, answered: bool = False, refused: bool = False, broken: str = "") -> None:
        with self.lock:
            self.answered += answered
            self.refused += refused
            if broken:
                self.broken.append(broken)


def _rest_client(port: int, outcomes: Outcomes, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError:  # refused (or no answer to the SYN): never connected
            outcomes.add(refused=True)
            time.sleep(0.05)
            continue
        try:
            sock.sendall(REQUEST)
            received = b""
            while b"\r\n\r\n" not in received or not _complete(received):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
        except OSError as exc:  # ECONNRESET, EPIPE...: a connection the server dropped
            outcomes.add(broken=f"{type(exc).__name__}: {exc}")
            continue
        finally:
            sock.close()
        if received.startswith((b"HTTP/1.1 200 ", b"HTTP/1.1 503 ")) and _complete(received):
            outcomes.add(answered=True)
        else:
            outcomes.add(broken=f"no complete answer: {received[:200]!r}")


def _complete(received: bytes) -> bool:
    head, _, body = received.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def _grpc_client(port: int, outcomes: Outcomes, stop: threading.Event) -> None:
    request = predict_request("fast", x=float_tensor([1.0], [1, 1]))
    while not stop.is_set():
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            try:
                stubs(channel).predict.Predict(request, timeout=10)
            except grpc.RpcError as error:
                details = str(error.details())
                if "reset" in details.lower():
                    outcomes.add(broken=f"gRPC {error.code()}: {details}")
                else:
                    outcomes.add(refused=True)
                    time.sleep(0.05)
                continue
        outcomes.add(answered=True)


def test_sigterm_resets_no_established_connection(tmp_path: Path) -> None:
    (tmp_path / "fast" / "1").mkdir(parents=True)
    (tmp_path / "fast" / "1" / "fake_model.json").write_text(json.dumps({}))
    config = tmp_path / "models.config"
    config.write_text(
        f'model_config_list {{ config {{ name: "fast" base_path: "{tmp_path / "fast"}" '
        'model_platform: "fake" } }'
    )
    server = ServerProcess(
        ["--port={grpc_port}", "--rest_api_port={rest_port}", f"--model_config_file={config}"]
    )
    outcomes, stop = Outcomes(), threading.Event()
    threads = [
        threading.Thread(target=_rest_client, args=(server.rest_port, outcomes, stop))
        for _ in range(REST_CLIENTS)
    ] + [
        threading.Thread(target=_grpc_client, args=(server.grpc_port, outcomes, stop))
        for _ in range(GRPC_CLIENTS)
    ]
    try:
        server.wait_for_rest("/v1/models/fast")
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while outcomes.answered < 2000:  # a steady stream of fresh connections
            assert time.monotonic() < deadline, f"no load: {outcomes}\n{server.output}"
            time.sleep(0.05)
        server.process.send_signal(signal.SIGTERM)
        code = server.process.wait(timeout=60)
        time.sleep(3)  # clients whose SYN was dropped are refused once the listener is gone
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        server.stop()
    assert code == 0, server.output
    assert outcomes.refused > 0  # the clients kept trying until the ports were gone
    assert outcomes.broken == [], (len(outcomes.broken), outcomes.answered, outcomes.broken[:5])
