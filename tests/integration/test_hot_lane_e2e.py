"""The REST port's hot lane against a real server, over raw sockets: inference requests read whole
and answered without the ASGI machinery keep HTTP/1.1's rules (pipelining in order, keep-alive
and ``Connection: close``, uvicorn's response head), requests it does not take are answered on
the ASGI path as before, and a client that goes away mid-body gives its in-flight slot back."""

from __future__ import annotations

import gzip
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.harness import ServerProcess, running_server
from tests.integration.test_limits_e2e import _connect

pytestmark = pytest.mark.slow

MODEL = "hp"  # half_plus_three: y = x / 2 + 3
WAIT_S = 60.0
V2_BODY = json.dumps(
    {"inputs": [{"name": "x", "shape": [2, 1], "datatype": "FP32", "data": [1.0, 3.0]}]}
).encode()
V2_ANSWER = [3.5, 4.5]


@pytest.fixture(scope="module")
def server(shared_models: Path) -> Iterator[ServerProcess]:
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        f"--model_name={MODEL}",
        f"--model_base_path={shared_models / 'saved_model_half_plus_three'}",
        "--rest_api_max_in_flight=2",
        "--rest_api_body_timeout_seconds=30",
    ]
    with running_server(args, "/readyz") as process:
        deadline = time.monotonic() + WAIT_S
        while httpx.get(process.base_url + "/readyz", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, process.output
            time.sleep(0.2)
        yield process


def _post(path: str, body: bytes, *headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: x", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class _Responses:
    """Reads HTTP/1.1 responses (content-length framed) off one socket, in order."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = b""

    def next(self) -> tuple[str, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self._buffer:
            self._read()
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        status, *lines = head.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in lines:
            name, _, value = line.partition(":")
            assert name.lower() not in headers, f"repeated header {name}"
            headers[name.lower()] = value.strip()
        size = int(headers["content-length"])
        while len(self._buffer) < size:
            self._read()
        body, self._buffer = self._buffer[:size], self._buffer[size:]
        return status, headers, body

    def closed(self) -> bool:
        """Whether the server closes the connection with nothing more to read."""
        try:
            return self._sock.recv(1) == b"" and not self._buffer
        except ConnectionError:
            return not self._buffer

    def _read(self) -> None:
        chunk = self._sock.recv(65536)
        assert chunk, f"connection closed; unread: {self._buffer!r}"
        self._buffer += chunk


def _v2_outputs(body: bytes) -> list[float]:
    data: list[float] = json.loads(body)["outputs"][0]["data"]
    return data


def test_a_hot_answer_has_uvicorns_head_and_keeps_the_connection(server: ServerProcess) -> None:
    with _connect(server) as sock:
        responses = _Responses(sock)
        for _ in range(3):
            sock.sendall(_post(f"/v2/models/{MODEL}/infer", V2_BODY))
            status, headers, body = responses.next()
            assert status == "HTTP/1.1 200 OK"
            assert headers["content-type"] == "application/json"
            assert headers["content-length"] == str(len(body))
            assert "date" in headers and "connection" not in headers
            assert _v2_outputs(body) == V2_ANSWER


def test_pipelined_requests_are_answered_in_order(server: ServerProcess) -> None:
    v1 = json.dumps({"instances": [5.0]}).encode()
    with _connect(server) as sock:
        sock.sendall(
            _post(f"/v2/models/{MODEL}/infer", V2_BODY)
            + _post(f"/v1/models/{MODEL}:predict", v1)
            + _post(f"/v2/models/{MODEL}/infer", b"{")  # bad JSON: its 400, in its turn
            + f"GET /v1/models/{MODEL} HTTP/1.1\r\nHost: x\r\n\r\n".encode()  # the ASGI path
            + _post(f"/v1/models/{MODEL}/versions/123:predict", v1)
        )
        responses = _Responses(sock)
        status, _, body = responses.next()
        assert (status, _v2_outputs(body)) == ("HTTP/1.1 200 OK", V2_ANSWER)
        status, _, body = responses.next()
        assert (status, json.loads(body)) == ("HTTP/1.1 200 OK", {"predictions": [5.5]})
        status, _, body = responses.next()
        assert status == "HTTP/1.1 400 Bad Request" and "error" in json.loads(body)
        status, _, body = responses.next()
        assert status == "HTTP/1.1 200 OK" and "model_version_status" in json.loads(body)
        status, _, body = responses.next()
        assert (status, json.loads(body)) == ("HTTP/1.1 200 OK", {"predictions": [5.5]})


def test_connection_close_is_honoured(server: ServerProcess) -> None:
    with _connect(server) as sock:
        sock.sendall(_post(f"/v2/models/{MODEL}/infer", V2_BODY, "Connection: close"))
        responses = _Responses(sock)
        status, headers, body = responses.next()
        assert (status, headers["connection"]) == ("HTTP/1.1 200 OK", "close")
        assert _v2_outputs(body) == V2_ANSWER
        assert responses.closed()


@pytest.mark.parametrize(
    ("request_bytes", "answer"),
    [
        pytest.param(  # a percent-escaped path: the ASGI scope decodes it
            _post("/v2/models/h%70/infer", V2_BODY), V2_ANSWER, id="percent-escaped"
        ),
        pytest.param(
            _post(f"/v2/models/{MODEL}/infer", gzip.compress(V2_BODY), "Content-Encoding: gzip"),
            V2_ANSWER,
            id="gzip",
        ),
        pytest.param(
            f"POST /v2/models/{MODEL}/infer HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            f"\r\n{len(V2_BODY):x}\r\n".encode()
            + V2_BODY
            + b"\r\n0\r\n\r\n",
            V2_ANSWER,
            id="chunked",
        ),
    ],
)
def test_requests_the_lane_leaves_to_asgi_are_answered(
    server: ServerProcess, request_bytes: bytes, answer: list[float]
) -> None:
    with _connect(server) as sock:
        sock.sendall(request_bytes)
        status, _, body = _Responses(sock).next()
        assert (status, _v2_outputs(body)) == ("HTTP/1.1 200 OK", answer)


def test_expect_100_continue_is_answered(server: ServerProcess) -> None:
    with _connect(server) as sock:
        head = _post(f"/v2/models/{MODEL}/infer", V2_BODY, "Expect: 100-continue")
        sock.sendall(head[: -len(V2_BODY)])
        assert sock.recv(4096).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(V2_BODY)
        status, _, body = _Responses(sock).next()
        assert (status, _v2_outputs(body)) == ("HTTP/1.1 200 OK", V2_ANSWER)


def test_a_client_gone_mid_body_gives_its_in_flight_slot_back(server: ServerProcess) -> None:
    for _ in range(5):  # more than the cap of 2: a slot kept by a gone client would show
        with _connect(server) as sock:
            sock.sendall(_post(f"/v2/models/{MODEL}/infer", V2_BODY)[:-5])
            time.sleep(0.1)  # the server has read the headers: the request is in flight
    deadline = time.monotonic() + WAIT_S
    while True:
        reply = httpx.post(f"{server.base_url}/v2/models/{MODEL}/infer", content=V2_BODY)
        if reply.status_code != 429 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert reply.status_code == 200, reply.text
    # and the cap still holds: two requests stalled mid-body fill it
    stalled = [_connect(server) for _ in range(2)]
    try:
        for sock in stalled:
            sock.sendall(_post(f"/v2/models/{MODEL}/infer", V2_BODY)[:-5])
        deadline = time.monotonic() + WAIT_S
        while True:
            reply = httpx.post(f"{server.base_url}/v2/models/{MODEL}/infer", content=V2_BODY)
            if reply.status_code == 429 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert reply.status_code == 429, reply.text
        assert "--rest_api_max_in_flight" in reply.json()["error"]
    finally:
        for sock in stalled:
            sock.close()
