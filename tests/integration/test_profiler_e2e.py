"""``tensorflow.ProfilerService`` on the gRPC port, driven by TensorFlow's own profiler client."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest
import tensorflow as tf

from tests import onnx_models
from tests.integration.harness import running_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_trace_records_the_tensorflow_runtime(shared_models: Path, tmp_path: Path) -> None:
    model = shared_models / "saved_model_half_plus_two_cpu"
    args = [
        "--port={grpc_port}",
        "--rest_api_port={rest_port}",
        "--model_name=hp2",
        f"--model_base_path={model}",
    ]
    with running_server(args, "/v1/models/hp2") as server:
        stop = threading.Event()

        def load() -> None:
            url = f"{server.base_url}/v1/models/hp2:predict"
            with httpx.Client(timeout=30) as client:
                while not stop.is_set():
                    assert client.post(url, json={"instances": [1.0]}).status_code == 200

        thread = threading.Thread(target=load, daemon=True)
        thread.start()
        try:
            logdir = tmp_path / "logdir"
            tf.profiler.experimental.client.trace(
                f"grpc://127.0.0.1:{server.grpc_port}", str(logdir), 2000
            )
        finally:
            stop.set()
            thread.join(timeout=30)
        traces = list((logdir / "plugins" / "profile").glob("*/*.xplane.pb"))
        assert len(traces) == 1, server.output
        assert traces[0].stat().st_size > 0


def test_without_a_tensorflow_model_the_trace_fails_clearly(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    onnx_models.write_version(tmp_path / "m", 1, onnx_models.half_plus_two())
    config = tmp_path / "models.config"
    config.write_text(
        f'model_config_list {{ config {{ name: "m" base_path: "{tmp_path / "m"}" '
        'model_platform: "onnx" } }'
    )
    args = ["--port={grpc_port}", "--rest_api_port={rest_port}", f"--model_config_file={config}"]
    with running_server(args, "/v1/models/m") as server:
        with pytest.raises(RuntimeError, match="No trace event was collected"):
            tf.profiler.experimental.client.trace(
                f"grpc://127.0.0.1:{server.grpc_port}", str(tmp_path / "logdir"), 500
            )
        # TensorFlow's client prints the server's answer (and raises a generic error).
        assert "FAILED_PRECONDITION: No TensorFlow model has been loaded" in capfd.readouterr().err
        assert "tensorflow" not in Path(f"/proc/{server.process.pid}/maps").read_text()
