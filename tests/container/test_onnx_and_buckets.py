"""The `onnx` target run with TF Serving's `docker run` form, and both targets serving a model
from a bucket: moto's S3 server on the host's loopback, the container on the host's network with
the standard AWS variables (endpoint, dummy credentials), as a pod would get them from a Secret."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
import tritonclient.grpc as triton_grpc
import tritonclient.http as triton_http

from tests import onnx_models
from tests.container.podman import Container, fix_permissions
from tests.container.test_docker_run import grpc_predict, rest_predict
from tests.integration.object_stores import MotoServer, running, upload_dir
from tests.integration.versioned_model import write_versioned_model

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

NEW_VERSION_WITHIN_S = 120.0


def write_onnx_version(version_dir: Path, version: int) -> None:
    """``y = x + version`` as ``version_dir/model.onnx`` (``version_dir`` is named ``version``)."""
    onnx_models.write_version(version_dir.parent, version, onnx_models.versioned(version))


def write_savedmodel_version(version_dir: Path, version: int) -> None:
    """The same model as a TensorFlow SavedModel."""
    write_versioned_model(version_dir, version)


def v2_infer(module: Any, port: int, model: str, x: float) -> float:
    """One Open Inference Protocol infer with Triton's client (``module``: its http or grpc)."""
    client = module.InferenceServerClient(f"127.0.0.1:{port}")
    try:
        assert client.is_model_ready(model)
        tensor = module.InferInput("x", [1], "FP32")
        tensor.set_data_from_numpy(np.array([x], np.float32))
        (value,) = client.infer(model, [tensor]).as_numpy("y").tolist()
        return float(value)
    finally:
        client.close()


def test_docker_run_serves_an_onnx_model_over_rest_grpc_and_v2(
    onnx_image: str, models: Path, containers: list[Container]
) -> None:
    write_onnx_version(models / "digits" / "1", 1)
    fix_permissions(models)
    container = Container(
        onnx_image, "-v", f"{models / 'digits'}:/models/digits", "-e", "MODEL_NAME=digits"
    )
    containers.append(container)
    container.wait_ready()
    assert "Exporting HTTP/REST API" in container.logs()
    # MODEL_PLATFORM=auto: the MODEL_NAME model is served from model.onnx, not taken for a
    # SavedModel as TF Serving's single-model flags would (the image has no TensorFlow).
    assert rest_predict(container, "digits", 10.0) == 11.0
    with grpc.insecure_channel(f"127.0.0.1:{container.grpc_port}") as channel:
        assert grpc_predict(channel, "digits", 10.0) == 11.0
    assert v2_infer(triton_http, container.rest_port, "digits", 10.0) == 11.0
    assert v2_infer(triton_grpc, container.grpc_port, "digits", 10.0) == 11.0


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    with running(MotoServer()) as server:
        assert isinstance(server, MotoServer)
        yield server


WRITERS: dict[str, Callable[[Path, int], None]] = {
    "tensorflow": write_savedmodel_version,
    "onnx": write_onnx_version,
}


@pytest.mark.parametrize(
    ("target", "form"),
    [("tensorflow", "MODEL_BASE_PATH"), ("onnx", "--model_base_path")],
)
def test_a_bucket_url_serves_and_a_new_version_uploaded_is_picked_up(
    target: str,
    form: str,
    request: pytest.FixtureRequest,
    moto: MotoServer,
    tmp_path: Path,
    containers: list[Container],
) -> None:
    image = str(request.getfixturevalue("image" if target == "tensorflow" else "onnx_image"))
    write = WRITERS[target]
    fs = moto.filesystem()
    bucket = f"models-{target}"
    fs.mkdir(bucket)
    for version in (1, 2):
        write(tmp_path / str(version), version)
    upload_dir(fs, tmp_path / "1", f"{bucket}/digits/1")

    env = [item for key, value in moto.env().items() for item in ("-e", f"{key}={value}")]
    if form == "MODEL_BASE_PATH":  # TF Serving's variables: the model at s3://bucket/digits
        env += ["-e", f"MODEL_BASE_PATH=s3://{bucket}", "-e", "MODEL_NAME=digits"]
        args = []
    else:
        args = ["--model_name=digits", f"--model_base_path=s3://{bucket}/digits"]
    container = Container(image, *env, args=args, host_network=True)
    containers.append(container)
    container.wait_ready()
    assert f"s3://{bucket}/digits" in container.logs()
    assert rest_predict(container, "digits", 0.0) == 1.0
    with grpc.insecure_channel(f"127.0.0.1:{container.grpc_port}") as channel:
        assert grpc_predict(channel, "digits", 0.0) == 1.0

    upload_dir(fs, tmp_path / "2", f"{bucket}/digits/2")
    deadline = time.monotonic() + NEW_VERSION_WITHIN_S
    while rest_predict(container, "digits", 0.0) != 2.0:
        assert time.monotonic() < deadline, f"version 2 never served:\n{container.logs()}"
        time.sleep(0.5)
