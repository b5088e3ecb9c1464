"""A ``model.tflite`` version served end to end by LiteRT where TensorFlow is not installed.

Runs in ``make test-onnx-only``'s venv (``pip install '.[onnx,tflite]'``, no TensorFlow); skipped
where LiteRT is not installed. In the main venv, with TensorFlow, the same server must still serve
through LiteRT and never import TensorFlow.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import httpx
import pytest

from tests.integration.harness import running_server
from tests.tflite_models import HALF_PLUS_TWO_TFLITE

pytestmark = pytest.mark.timeout(300)

if importlib.util.find_spec("ai_edge_litert") is None:
    pytest.skip("LiteRT (ai-edge-litert) is not installed", allow_module_level=True)


def _tensorflow_packages_mapped(pid: int) -> list[str]:
    """Shared libraries of the ``tensorflow`` package in the process (LiteRT ships its own)."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return sorted(
        {line.split()[-1] for line in maps.splitlines() if "/site-packages/tensorflow/" in line}
    )


def test_litert_serves_a_tflite_version(tmp_path: Path) -> None:
    version = tmp_path / "hp2" / "1"
    version.mkdir(parents=True)
    (version / "model.tflite").write_bytes(HALF_PLUS_TWO_TFLITE.read_bytes())
    config = tmp_path / "models.config"
    config.write_text(
        f'model_config_list {{ config {{ name: "hp2" base_path: "{tmp_path / "hp2"}" '
        'model_platform: "tflite" } }'
    )
    args = ["--port={grpc_port}", "--rest_api_port={rest_port}", f"--model_config_file={config}"]
    with running_server(args, "/v1/models/hp2") as server:
        url = f"{server.base_url}/v1/models/hp2"
        response = httpx.post(f"{url}:predict", json={"instances": [1.0, 2.0, 5.0]}, timeout=30)
        assert response.status_code == 200, response.text
        assert response.json() == {"predictions": [2.5, 3.0, 4.5]}
        metadata = httpx.get(f"{url}/metadata", timeout=30).json()
        signature = metadata["metadata"]["signature_def"]["signature_def"]["serving_default"]
        assert signature["method_name"] == "tensorflow/serving/predict"
        assert list(signature["inputs"]) == ["x"]
        assert _tensorflow_packages_mapped(server.process.pid) == []
