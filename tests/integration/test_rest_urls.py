"""URL grammar, dispatch, CORS and content types of the REST API (reference §2.1, §2.2)."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.conftest import (
    DEFAULT,
    assert_still_serving,
    error_of,
    ok_json,
    post,
)
from tests.integration.harness import ServerProcess

pytestmark = pytest.mark.slow

PREDICT_BODY = {"instances": [2.0]}


def test_get_models_without_name(client: httpx.Client) -> None:
    assert error_of(client.get("/v1/models"), 400) == "Missing model name in request."
    assert_still_serving(client)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/models"),
        ("GET", "/v1/foo"),
        ("POST", "/v1/foo"),
        ("GET", f"/v1/models/{DEFAULT}/versions/HELLO"),
        ("GET", f"/v1/models/{DEFAULT}/version/123"),
        ("GET", f"/v1/models/{DEFAULT}/versions/5/labels/x"),
        ("GET", f"/v1/models/{DEFAULT}/label/x"),
        ("GET", f"/v1/models/{DEFAULT}:predict"),
        ("POST", f"/v1/models/{DEFAULT}/metadata"),
        ("POST", f"/v1/models/{DEFAULT}"),
        ("POST", f"/v1/models/{DEFAULT}:PREDICT"),
        ("POST", f"/v1/models/{DEFAULT}:foo"),
        ("POST", f"/v1/models/{DEFAULT}/versions/123/labels/x:predict"),
        ("PUT", f"/v1/models/{DEFAULT}:predict"),
        ("DELETE", f"/v1/models/{DEFAULT}"),
    ],
)
def test_malformed_request(client: httpx.Client, method: str, path: str) -> None:
    response = client.request(method, path, json=PREDICT_BODY if method != "GET" else None)
    assert error_of(response, 400) == f"Malformed request: {method} {path}"
    assert_still_serving(client)


@pytest.mark.parametrize(
    ("method", "suffix"), [("POST", ":predict"), ("GET", ""), ("GET", "/metadata")]
)
def test_version_overflowing_int64_is_400_with_empty_body(
    client: httpx.Client, method: str, suffix: str
) -> None:
    path = f"/v1/models/{DEFAULT}/versions/99999999999999999999{suffix}"
    response = client.request(method, path, json=PREDICT_BODY if method == "POST" else None)
    assert response.status_code == 400
    assert response.content == b""
    assert_still_serving(client)


def test_path_is_case_insensitive_but_verb_is_not(client: httpx.Client) -> None:
    assert ok_json(post(client, f"/V1/MODELS/{DEFAULT}:predict", PREDICT_BODY)) == {
        "predictions": [3.0]
    }
    assert ok_json(post(client, f"/v1/models/{DEFAULT}/VERSIONS/123:predict", PREDICT_BODY)) == {
        "predictions": [3.0]
    }


def test_model_name_is_percent_decoded(client: httpx.Client) -> None:
    response = client.get("/v1/models/de%66ault")
    assert ok_json(response)["model_version_status"][0]["version"] == "123"


def test_non_v1_path_is_404_html(client: httpx.Client) -> None:
    for path in ("/", "/v3/models/default", "/models/default", "/v1"):
        response = client.get(path)
        assert response.status_code == 404, (path, response.text)
        assert not response.headers.get("content-type", "").startswith("application/json")
        assert "Not Found" in response.text and "<" in response.text, response.text
    assert_still_serving(client)


def test_get_with_query_string_includes_it_in_model_name(client: httpx.Client) -> None:
    response = client.get(f"/v1/models/{DEFAULT}?foo=bar")
    assert error_of(response, 404) == f"Could not find any versions of model {DEFAULT}?foo=bar"
    assert_still_serving(client)


def test_post_with_query_string_is_malformed(client: httpx.Client) -> None:
    path = f"/v1/models/{DEFAULT}:predict?foo=bar"
    response = post(client, path, PREDICT_BODY)
    assert error_of(response, 400) == f"Malformed request: POST {path}"
    assert_still_serving(client)


@pytest.mark.parametrize("origin", ["https://example.com", "http://localhost:3000"])
def test_preflight_with_http_origin(client: httpx.Client, origin: str) -> None:
    # A preflight is answered even without --rest_api_enable_cors_support.
    headers = {"Origin": origin, "Access-Control-Request-Method": "POST"}
    response = client.options(f"/v1/models/{DEFAULT}:predict", headers=headers)
    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.parametrize("headers", [{}, {"Origin": "null"}, {"Origin": "ftp://example.com"}])
def test_preflight_without_http_origin(client: httpx.Client, headers: dict[str, str]) -> None:
    response = client.options(f"/v1/models/{DEFAULT}:predict", headers=headers)
    assert response.status_code == 400
    assert response.content == b""


def test_no_cors_headers_by_default(client: httpx.Client) -> None:
    response = post(client, f"/v1/models/{DEFAULT}:predict", PREDICT_BODY)
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_cors_headers_when_enabled(cors_server: ServerProcess) -> None:
    with httpx.Client(base_url=cors_server.base_url, timeout=30.0) as http:
        good = post(http, f"/v1/models/{DEFAULT}:predict", PREDICT_BODY)
        bad = post(http, "/v1/models/no_such_model:predict", PREDICT_BODY)
        status = http.get(f"/v1/models/{DEFAULT}")
    assert ok_json(good) == {"predictions": [3.0]}
    error_of(bad, 404)
    for response in (good, bad, status):
        assert response.headers.get("access-control-allow-origin") == "*", response.headers


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", f"/v1/models/{DEFAULT}:predict", 200),
        ("GET", f"/v1/models/{DEFAULT}", 200),
        ("GET", f"/v1/models/{DEFAULT}/metadata", 200),
        ("GET", "/v1/models", 400),
        ("GET", "/v1/foo", 400),
        ("POST", "/v1/models/no_such_model:predict", 404),
        ("GET", "/v1/models/no_such_model", 404),
    ],
)
def test_json_content_type(client: httpx.Client, method: str, path: str, status: int) -> None:
    response = client.request(method, path, json=PREDICT_BODY if method == "POST" else None)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
