"""GET .../metadata against TF Serving's recorded answers (reference §2.4, §10 item 29)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.conftest import (
    DEFAULT,
    TF2,
    TWO_VERSIONS,
    assert_still_serving,
    error_of,
    ok_json,
)

pytestmark = pytest.mark.slow


def _golden(shared_models: Path, name: str) -> Any:
    return json.loads((shared_models / name).read_text())


def _signatures(metadata: Any) -> dict[str, Any]:
    signatures = metadata["metadata"]["signature_def"]["signature_def"]
    assert isinstance(signatures, dict)
    return signatures


def test_metadata_equals_golden_file(client: httpx.Client, shared_models: Path) -> None:
    golden = _golden(shared_models, "half_plus_two_model_metadata.json")
    assert ok_json(client.get(f"/v1/models/{DEFAULT}/metadata")) == golden


def test_metadata_of_version_equals_golden_file(client: httpx.Client, shared_models: Path) -> None:
    golden = _golden(shared_models, "half_plus_two_model_metadata.json")
    assert ok_json(client.get(f"/v1/models/{DEFAULT}/versions/123/metadata")) == golden


def test_metadata_of_two_versions_model_equals_golden_file(
    client: httpx.Client, shared_models: Path
) -> None:
    golden = _golden(shared_models, "saved_model_half_plus_two_2_versions_metadata.json")
    assert ok_json(client.get(f"/v1/models/{TWO_VERSIONS}/versions/123/metadata")) == golden


def test_metadata_without_version_is_the_highest(client: httpx.Client, shared_models: Path) -> None:
    golden = _golden(shared_models, "saved_model_half_plus_two_2_versions_metadata.json")
    golden["model_spec"]["version"] = "124"  # both versions carry the same signatures
    assert ok_json(client.get(f"/v1/models/{TWO_VERSIONS}/metadata")) == golden


def test_tf2_metadata_equals_golden_file(client: httpx.Client, shared_models: Path) -> None:
    # The golden file was recorded by TF Serving serving a two-version TF2 export under the name
    # saved_model_half_plus_two_2_versions; the shared saved_model_half_plus_two_tf2_cpu has the
    # same graph, so we serve it under TF2's name and compare with model_spec.name replaced.
    # One difference is the export, not the server: this export gives serving_default's "x" a
    # default value (the recorded one had none) and the recording omits the empty "defaults" of
    # __saved_model_init_op. So "defaults" of those two signatures is checked separately.
    golden = _golden(shared_models, "saved_model_half_plus_two_tf2_2_versions_metadata.json")
    golden["model_spec"]["name"] = TF2
    actual = ok_json(client.get(f"/v1/models/{TF2}/metadata"))

    served_defaults = _signatures(actual)["serving_default"].pop("defaults")
    init_defaults = _signatures(actual)["__saved_model_init_op"].pop("defaults", {})
    expected = copy.deepcopy(golden)
    _signatures(expected)["serving_default"].pop("defaults")
    assert actual == expected

    assert init_defaults == {}
    assert list(served_defaults) == ["x"]
    x_default = served_defaults["x"]
    assert x_default["dtype"] == "DT_FLOAT"
    assert x_default["tensor_shape"] == {"dim": [{"size": "1", "name": ""}], "unknown_rank": False}
    assert x_default["float_val"] == [0.0]


def test_metadata_of_unknown_model_is_404(client: httpx.Client) -> None:
    response = client.get("/v1/models/no_such_model/metadata")
    assert error_of(response, 404) == "Servable not found for request: Latest(no_such_model)"
    assert_still_serving(client)


def test_metadata_of_unknown_version_is_404(client: httpx.Client) -> None:
    response = client.get(f"/v1/models/{DEFAULT}/versions/999/metadata")
    assert error_of(response, 404) == f"Servable not found for request: Specific({DEFAULT}, 999)"
    assert_still_serving(client)


def test_metadata_of_unknown_label_is_400(client: httpx.Client) -> None:
    response = client.get(f"/v1/models/{DEFAULT}/labels/no_such_label/metadata")
    assert error_of(response, 400) == "Unrecognized servable version label: no_such_label"
    assert_still_serving(client)
