"""GET /v1/models/<name>[/versions/<v>|/labels/<l>]: model status (reference §2.3, §10 item 11)."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.conftest import (
    COUNTER,
    DEFAULT,
    TWO_VERSIONS,
    assert_still_serving,
    compact,
    error_of,
    ok_json,
)

pytestmark = pytest.mark.slow


def _available(version: str) -> dict[str, object]:
    return {
        "version": version,
        "state": "AVAILABLE",
        "status": {"error_code": "OK", "error_message": ""},
    }


def test_status_is_exactly_tf_serving_json(client: httpx.Client) -> None:
    response = client.get(f"/v1/models/{DEFAULT}")
    assert ok_json(response) == {"model_version_status": [_available("123")]}
    # int64 versions as strings, every field printed, snake_case names.
    assert compact(response.text) == (
        '{"model_version_status":[{"version":"123","state":"AVAILABLE",'
        '"status":{"error_code":"OK","error_message":""}}]}'
    )


def test_status_of_one_version(client: httpx.Client) -> None:
    response = client.get(f"/v1/models/{DEFAULT}/versions/123")
    assert ok_json(response) == {"model_version_status": [_available("123")]}


def test_status_of_one_version_among_two(client: httpx.Client) -> None:
    response = client.get(f"/v1/models/{TWO_VERSIONS}/versions/123")
    assert ok_json(response) == {"model_version_status": [_available("123")]}


def test_status_lists_highest_version_first(client: httpx.Client) -> None:
    response = client.get(f"/v1/models/{TWO_VERSIONS}")
    assert ok_json(response) == {"model_version_status": [_available("124"), _available("123")]}


def test_status_ignores_label_and_lists_all_versions(client: httpx.Client) -> None:
    # TF Serving's status handler drops the label: even an unknown one answers every version.
    response = client.get(f"/v1/models/{TWO_VERSIONS}/labels/no_such_label")
    assert ok_json(response) == {"model_version_status": [_available("124"), _available("123")]}


def test_status_with_specific_version_policy(client: httpx.Client) -> None:
    response = client.get(f"/v1/models/{COUNTER}")
    assert ok_json(response) == {"model_version_status": [_available("123")]}


def test_status_of_unknown_model_is_404(client: httpx.Client) -> None:
    response = client.get("/v1/models/no_such_model")
    assert error_of(response, 404) == "Could not find any versions of model no_such_model"
    assert_still_serving(client)


def test_status_of_unknown_version_is_404(client: httpx.Client) -> None:
    response = client.get(f"/v1/models/{DEFAULT}/versions/999")
    assert error_of(response, 404) == f"Could not find version 999 of model {DEFAULT}"
    assert_still_serving(client)
