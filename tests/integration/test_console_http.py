"""The console over plain HTTP: on/off by flag, caching headers, its JSON documents."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.harness import ServerProcess, running_server

pytestmark = pytest.mark.slow


def tfs_args(shared_models: Path, *extra: str) -> list[str]:
    return [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        "--model_name=half",
        f"--model_base_path={shared_models / 'saved_model_half_plus_two_cpu'}",
        *extra,
    ]


@pytest.fixture(scope="module")
def console_server(shared_models: Path) -> Iterator[ServerProcess]:
    with running_server(tfs_args(shared_models, "--enable_console"), "/healthz") as server:
        yield server


def test_tensorflow_model_server_has_no_console_by_default(shared_models: Path) -> None:
    with running_server(tfs_args(shared_models), "/healthz") as server:
        for path in ("/", "/console/", "/demo/digits", "/console/api/models"):
            response = httpx.get(server.base_url + path)
            assert response.status_code == 404, path
            assert "Not Found" in response.text  # TF Serving's own 404 page
        assert httpx.get(server.base_url + "/v1/models/half").status_code == 200


def test_pyserving_serve_console_can_be_disabled(shared_models: Path) -> None:
    args = ["serve", "--no-console", "--port", "{grpc_port}", "--rest-port", "{rest_port}",
            str(shared_models / "saved_model_half_plus_two_cpu")]  # fmt: skip
    with running_server(args, "/healthz", program="pyserving") as server:
        assert httpx.get(server.base_url + "/").status_code == 404
        assert httpx.get(server.base_url + "/console/api/models").status_code == 404


def test_pages_are_served_with_revalidation_and_assets_are_immutable(
    console_server: ServerProcess,
) -> None:
    base = console_server.base_url
    for path in ("/", "/console/", "/demo/digits"):
        page = httpx.get(base + path)
        assert page.status_code == 200, path
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert page.headers["cache-control"] == "no-cache"
        assert "default-src 'self'" in page.headers["content-security-policy"]
        again = httpx.get(base + path, headers={"if-none-match": page.headers["etag"]})
        assert again.status_code == 304
        assert again.content == b""
    html = httpx.get(base + "/console/").text
    assets = re.findall(r'"(/console/static/[^"?]+\?v=[0-9a-f]+)"', html)
    assert len(assets) >= 3, html  # favicon, stylesheet, script
    for asset in assets:
        response = httpx.get(base + asset)
        assert response.status_code == 200, asset
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    # Without the current version the answer must be revalidated (it may be stale otherwise).
    plain = httpx.get(base + "/console/static/console.js")
    assert plain.headers["cache-control"] == "no-cache"
    assert plain.headers["content-type"].startswith("text/javascript")
    # No external URL anywhere in the shipped files.
    for name in ("console.js", "digits.js", "common.js", "charts.js", "console.css"):
        text = httpx.get(f"{base}/console/static/{name}").text
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text), name


def test_unknown_files_and_methods(console_server: ServerProcess) -> None:
    base = console_server.base_url
    assert httpx.get(base + "/console/static/nope.js").status_code == 404
    assert httpx.get(base + "/console/static/index.html").status_code == 404
    assert httpx.post(base + "/console/api/models").status_code == 405
    redirect = httpx.get(base + "/console")
    assert redirect.status_code == 307
    assert redirect.headers["location"] == "/console/"
    # Outside the console, TF Serving's behaviour is unchanged.
    assert httpx.get(base + "/nothing-here").status_code == 404
    assert httpx.get(base + "/healthz").status_code == 200


def test_models_document(console_server: ServerProcess) -> None:
    response = httpx.get(console_server.base_url + "/console/api/models")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    document = response.json()
    # No tokens and no --enable_admin_api: the admin API is off, so the console offers no
    # operator actions.
    assert document["permissions"] == ["predict", "view"]
    assert document["protocols"] == ["tfserving", "v2"]
    (model,) = document["models"]
    assert model["name"] == "half"
    assert model["platform"] == "tensorflow"
    assert model["labels"] == {}
    (version,) = model["versions"]
    assert version["version"] == 123
    assert version["state"] == "AVAILABLE"
    assert version["error_code"] == "OK"
    default = next(s for s in version["signatures"] if s["key"] == "serving_default")
    assert default["method_name"] == "tensorflow/serving/predict"
    assert default["inputs"] == [
        {"alias": "x", "name": "x:0", "dtype": "DT_FLOAT", "shape": [-1, 1]}
    ]


def test_metrics_document_counts_requests_per_model(console_server: ServerProcess) -> None:
    base = console_server.base_url
    for _ in range(20):
        httpx.post(base + "/v1/models/half:predict", json={"instances": [1.0, 2.0]})
    httpx.post(base + "/v1/models/half:predict", json={"instances": "bad"})
    deadline = time.monotonic() + 30
    while True:
        document = httpx.get(base + "/console/api/metrics").json()
        points = document["models"].get("half", [])
        requests = sum(p["requests"] for p in points)
        if requests >= 21 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert requests == 21, document
    assert any(p["error_rate"] > 0 for p in points)
    assert any(p["p50_ms"] is not None and p["p50_ms"] > 0 for p in points)
