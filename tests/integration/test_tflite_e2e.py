"""``--prefer_tflite_model``: a version directory with a SavedModel and a model.tflite is served
from the TFLite model, through REST and gRPC, batched."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.integration.harness import running_server
from tests.tflite_models import half_plus_two_version

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_prefer_tflite_model_serves_the_tflite_file(shared_models: Path, tmp_path: Path) -> None:
    half_plus_two_version(shared_models, tmp_path / "hp2" / "1", keep_saved_model=True)
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        "--model_name=hp2",
        f"--model_base_path={tmp_path / 'hp2'}",
        "--prefer_tflite_model",
        "--enable_batching",
    ]
    with running_server(args, "/v1/models/hp2") as server:
        url = f"{server.base_url}/v1/models/hp2"

        def predict(values: list[float]) -> list[float]:
            response = httpx.post(f"{url}:predict", json={"instances": values}, timeout=30)
            assert response.status_code == 200, response.text
            return list(response.json()["predictions"])

        assert predict([1.0, 2.0, 5.0]) == [2.5, 3.0, 4.5]
        with ThreadPoolExecutor(8) as pool:  # batched: merged rows resize the TFLite input
            answers = list(pool.map(lambda i: predict([float(i)]), range(64)))
        assert answers == [[i / 2 + 2] for i in range(64)]
        metadata = httpx.get(f"{url}/metadata", timeout=30).json()
        signatures = metadata["metadata"]["signature_def"]["signature_def"]
        # The TFLite file holds serving_default only; the SavedModel would list six signatures.
        assert list(signatures) == ["serving_default"]
        assert "Loaded TFLite model" in server.output
