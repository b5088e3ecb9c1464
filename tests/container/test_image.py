"""What the final images contain and how they are configured (podman's view of them): both
targets follow TF Serving's conventions and run unprivileged; the `onnx` target has no TensorFlow
and is a fraction of the size; both reach object stores."""

from __future__ import annotations

import json

import pytest

from tests.container.podman import image_size, podman

pytestmark = pytest.mark.slow

SITE_PACKAGES = "/opt/pyserving/lib/python3.11/site-packages"


@pytest.fixture(params=["tensorflow", "onnx"])
def target(request: pytest.FixtureRequest, image: str) -> str:
    """Each image target in turn."""
    return image if request.param == "tensorflow" else str(request.getfixturevalue("onnx_image"))


def shell(image: str, script: str) -> str:
    return podman("run", "--rm", "--entrypoint", "/bin/sh", image, "-c", script).stdout


def python(image: str, code: str) -> tuple[int, str]:
    """Run ``code`` with the image's Python; its exit status and output."""
    result = podman(
        "run", "--rm", "--entrypoint", "/opt/pyserving/bin/python", image, "-c", code, check=False
    )  # fmt: skip
    return result.returncode, result.stdout + result.stderr


def test_image_configuration_follows_tf_serving_and_runs_unprivileged(target: str) -> None:
    (info,) = json.loads(podman("image", "inspect", target).stdout)
    config = info["Config"]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["MODEL_NAME"] == "model" and env["MODEL_BASE_PATH"] == "/models"
    assert set(config["ExposedPorts"]) == {"8500/tcp", "8501/tcp"}
    assert config["User"] == "1000:1000"
    assert config["Entrypoint"][:2] == ["/usr/bin/tini", "--"]
    health = info["Healthcheck"]["Test"]
    assert "/readyz" in " ".join(health)
    assert shell(target, "id -u").strip() == "1000"


def test_final_image_has_no_build_tools_or_caches(target: str) -> None:
    present = shell(
        target,
        "for p in /opt/pyserving/bin/pip /usr/bin/gcc /usr/bin/cc /usr/bin/make /wheels "
        f"/root/.cache /home/pyserving/.cache /tmp/deps {SITE_PACKAGES}/tensorflow/include; "
        'do [ -e "$p" ] && echo "$p"; done; ls /var/lib/apt/lists | grep -v -x -e lock -e partial; '
        "true",
    )
    assert present.split() == []
    # And it still serves: the entry point's server starts far enough to report its version.
    version = podman("run", "--rm", target, "--version").stdout
    assert version.startswith("TensorFlow ModelServer: ")


def test_both_targets_reach_object_stores(target: str) -> None:
    status, output = python(
        target, "import s3fs, gcsfs; print(s3fs.__version__, gcsfs.__version__)"
    )
    assert status == 0, output


def test_onnx_target_has_onnx_runtime_no_tensorflow_and_is_much_smaller(
    image: str, onnx_image: str
) -> None:
    status, output = python(onnx_image, "import tensorflow")
    assert status != 0 and "No module named 'tensorflow'" in output, output
    status, output = python(onnx_image, "import onnxruntime; print(onnxruntime.__version__)")
    assert status == 0, output
    (info,) = json.loads(podman("image", "inspect", onnx_image).stdout)
    env = dict(item.split("=", 1) for item in info["Config"]["Env"])
    assert env["MODEL_PLATFORM"] == "auto"  # the entry point's --default_platform
    # TensorFlow is most of the other image: leaving it out must at least halve the size.
    assert image_size(onnx_image) * 2 < image_size(image), (
        image_size(onnx_image),
        image_size(image),
    )
