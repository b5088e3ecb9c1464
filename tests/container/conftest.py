"""Container tests: the images run the way TF Serving's is, and the Deployment under `podman kube
play`. They need podman and built images, so they run only from `make container-test`, which
prepares them and names the `tensorflow` target in PYSERVING_TEST_IMAGE and the `onnx` target in
PYSERVING_TEST_IMAGE_ONNX; without the first nothing here is collected."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.container.podman import Container, fix_permissions

IMAGE = os.environ.get("PYSERVING_TEST_IMAGE", "")
ONNX_IMAGE = os.environ.get("PYSERVING_TEST_IMAGE_ONNX", "")
if not IMAGE:
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(scope="session")
def image() -> str:
    if shutil.which("podman") is None:
        pytest.fail("podman is not installed: run `make container-test`, which installs it")
    return IMAGE


@pytest.fixture(scope="session")
def onnx_image(image: str) -> str:
    """The `onnx` target (ONNX Runtime, no TensorFlow)."""
    if not ONNX_IMAGE:
        pytest.fail("PYSERVING_TEST_IMAGE_ONNX is not set: run `make container-test`")
    return ONNX_IMAGE


@pytest.fixture
def containers() -> Iterator[list[Container]]:
    """Containers a test starts; each is removed afterwards, whatever happened."""
    started: list[Container] = []
    yield started
    for container in started:
        container.remove()


@pytest.fixture
def models(tmp_path: Path) -> Path:
    """An empty model root the container's user (uid 1000) can read."""
    root = tmp_path / "models"
    root.mkdir()
    fix_permissions(root)
    return root
