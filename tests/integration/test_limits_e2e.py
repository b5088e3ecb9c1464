"""What one client can hold on the REST port, against a real server: slowloris clients and a flood
of idle connections are cut off while a well-behaved client keeps getting answers; oversized
headers get 431; requests beyond the in-flight cap get 429 with Retry-After, probes never."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.harness import ServerProcess, running_server

pytestmark = pytest.mark.slow

MODEL = "hp"
HEADER_TIMEOUT_S = 2
BODY_TIMEOUT_S = 2
WAIT_S = 60.0


@pytest.fixture(scope="module")
def server(shared_models: Path) -> Iterator[ServerProcess]:
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        f"--model_name={MODEL}",
        f"--model_base_path={shared_models / 'saved_model_half_plus_three'}",
        f"--rest_api_header_timeout_seconds={HEADER_TIMEOUT_S}",
        f"--rest_api_body_timeout_seconds={BODY_TIMEOUT_S}",
        "--rest_api_max_header_bytes=8192",
        "--rest_api_max_in_flight=2",
    ]
    with running_server(args, "/readyz") as process:
        deadline = time.monotonic() + WAIT_S
        while httpx.get(process.base_url + "/readyz", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, process.output
            time.sleep(0.2)
        yield process


def _connect(server: ServerProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.rest_port), timeout=WAIT_S)
    sock.settimeout(WAIT_S)
    return sock


def _good_request(server: ServerProcess) -> None:
    reply = httpx.post(
        f"{server.base_url}/v1/models/{MODEL}:predict", json={"instances": [1.0]}, timeout=30
    )
    assert reply.json() == {"predictions": [3.5]}


def _closed_by_server(sock: socket.socket) -> bool:
    """Reads until the server closes the connection (what it sends before, if anything, is
    ignored); False if the socket stays open past WAIT_S."""
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except ConnectionError:
        pass
    return True


def test_slowloris_clients_are_cut_off_while_others_are_served(server: ServerProcess) -> None:
    slow = [_connect(server) for _ in range(50)]
    try:
        for sock in slow:
            sock.sendall(b"GET /v1/models/hp HTTP/1.1\r\nHost: x\r\n")
        # Trickle a header byte on each while a well-behaved client is served.
        trickle_until = time.monotonic() + HEADER_TIMEOUT_S + 1
        answered = 0
        while time.monotonic() < trickle_until:
            for sock in slow:
                with contextlib.suppress(OSError):
                    sock.sendall(b"X")
            _good_request(server)
            answered += 1
        assert answered > 0
        for sock in slow:
            assert _closed_by_server(sock)
    finally:
        for sock in slow:
            sock.close()
    _good_request(server)


def test_a_flood_of_idle_connections_does_not_starve_a_client(server: ServerProcess) -> None:
    flood = [_connect(server) for _ in range(300)]
    try:
        for _ in range(5):
            _good_request(server)
        for sock in flood:
            assert _closed_by_server(sock)  # never sent a request: cut at the header timeout
    finally:
        for sock in flood:
            sock.close()
    _good_request(server)


def test_stalled_body_is_cut_off(server: ServerProcess) -> None:
    with _connect(server) as sock:
        sock.sendall(
            b"POST /v1/models/hp:predict HTTP/1.1\r\nHost: x\r\n"
            b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"inst'
        )
        assert _closed_by_server(sock)
    _good_request(server)


def test_oversized_headers_get_431(server: ServerProcess) -> None:
    reply = httpx.get(
        f"{server.base_url}/v1/models/{MODEL}", headers={"X-Big": "a" * 10_000}, timeout=30
    )
    assert reply.status_code == 431
    assert "exceed 8192 bytes" in reply.text
    _good_request(server)


def test_requests_beyond_the_in_flight_cap_get_429(server: ServerProcess) -> None:
    stalled = [_connect(server) for _ in range(2)]
    try:
        for sock in stalled:  # each holds a request in flight until its body times out
            sock.sendall(
                b"POST /v1/models/hp:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"
            )
        deadline = time.monotonic() + WAIT_S
        while True:
            reply = httpx.get(f"{server.base_url}/v1/models/{MODEL}", timeout=30)
            if reply.status_code == 429 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert reply.status_code == 429, reply.text
        assert reply.headers["retry-after"] == "1"
        assert "--rest_api_max_in_flight" in reply.json()["error"]
        assert httpx.get(f"{server.base_url}/readyz", timeout=30).status_code == 200
        for sock in stalled:
            assert _closed_by_server(sock)
    finally:
        for sock in stalled:
            sock.close()
    deadline = time.monotonic() + WAIT_S
    while httpx.get(f"{server.base_url}/v1/models/{MODEL}").status_code == 429:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    _good_request(server)
