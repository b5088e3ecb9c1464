"""HTTP/2 on the REST port over TLS (--rest_api_http2), against a real server: a client choosing
h2 by ALPN is served over HTTP/2 on every API (TF Serving, V2 JSON and binary, admin, probes),
with the same answers and errors; a client that only speaks HTTP/1.1 still gets HTTP/1.1."""

from __future__ import annotations

import ssl
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.grpc_support import make_pki, text_string
from tests.integration.harness import ServerProcess

pytestmark = pytest.mark.slow

MODEL = "hp"  # half_plus_two


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ssl.SSLContext]:
    folder = tmp_path_factory.mktemp("http2")
    pki = make_pki(folder)
    config = folder / "ssl.config"
    config.write_text(
        f"server_key: {text_string(pki.server_key)}\nserver_cert: {text_string(pki.server_cert)}\n"
    )
    (folder / "ca.pem").write_bytes(pki.ca)
    return config, ssl.create_default_context(cafile=str(folder / "ca.pem"))


@pytest.fixture(scope="module")
def server(shared_models: Path, tls: tuple[Path, ssl.SSLContext]) -> Iterator[ServerProcess]:
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        f"--model_name={MODEL}",
        f"--model_base_path={shared_models / 'saved_model_half_plus_two_cpu'}",
        f"--rest_api_ssl_config_file={tls[0]}",
        "--rest_api_http2",
        "--rest_api_max_body_bytes=4096",
    ]
    process = ServerProcess(args)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                url = f"https://localhost:{process.rest_port}/v1/models/{MODEL}"
                if httpx.get(url, verify=tls[1], timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                if process.process.poll() is not None:
                    raise AssertionError(process.output) from None
            assert time.monotonic() < deadline, process.output
            time.sleep(0.2)
        yield process
    finally:
        process.stop()


@pytest.fixture
def h2(server: ServerProcess, tls: tuple[Path, ssl.SSLContext]) -> Iterator[httpx.Client]:
    base = f"https://localhost:{server.rest_port}"
    with httpx.Client(base_url=base, http2=True, http1=False, verify=tls[1], timeout=30) as client:
        yield client


def test_every_api_over_http2(h2: httpx.Client) -> None:
    predict = h2.post(f"/v1/models/{MODEL}:predict", json={"instances": [1.0, 2.0]})
    assert predict.http_version == "HTTP/2"
    assert predict.json() == {"predictions": [2.5, 3.0]}
    assert h2.get(f"/v1/models/{MODEL}/metadata").status_code == 200
    v2 = {"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [4.0]}]}
    assert h2.post(f"/v2/models/{MODEL}/infer", json=v2).json()["outputs"][0]["data"] == [4.0]
    header = (
        b'{"inputs":[{"name":"x","shape":[1],"datatype":"FP32",'
        b'"parameters":{"binary_data_size":4}}]}'
    )
    binary = h2.post(
        f"/v2/models/{MODEL}/infer",
        content=header + struct.pack("<f", 2.0),
        headers={"Inference-Header-Content-Length": str(len(header))},
    )
    assert binary.status_code == 200 and binary.http_version == "HTTP/2"
    assert h2.get("/readyz").json() == {"ready": True}
    assert h2.get("/openapi.json").json()["openapi"].startswith("3.")


def test_errors_and_limits_over_http2(h2: httpx.Client) -> None:
    bad = h2.post(f"/v1/models/{MODEL}:predict", json={"instances": ["text"]})
    assert bad.status_code == 400 and "error" in bad.json()
    missing = h2.get("/v1/models/nope")
    assert missing.status_code == 404
    too_big = h2.post(f"/v1/models/{MODEL}:predict", content=b"[" + b"1," * 4096 + b"1]")
    assert too_big.status_code == 413 and "--rest_api_max_body_bytes" in too_big.json()["error"]
    off = h2.get("/v1/admin/models")
    assert off.status_code == 404 and "admin API is off" in off.json()["error"]


def test_concurrent_streams_on_one_connection(h2: httpx.Client) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def one(x: float) -> float:
        reply = h2.post(f"/v1/models/{MODEL}:predict", json={"instances": [x]})
        assert reply.http_version == "HTTP/2"
        return float(reply.json()["predictions"][0])

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(one, range(32))) == [x * 0.5 + 2 for x in range(32)]


def test_http1_clients_still_get_http1(
    server: ServerProcess, tls: tuple[Path, ssl.SSLContext]
) -> None:
    url = f"https://localhost:{server.rest_port}/v1/models/{MODEL}:predict"
    reply = httpx.post(url, json={"instances": [1.0]}, verify=tls[1], timeout=30)
    assert reply.http_version == "HTTP/1.1"
    assert reply.json() == {"predictions": [2.5]}
