"""What the final image contains and how it is configured (podman's view of it)."""

from __future__ import annotations

import json

import pytest

from tests.container.podman import podman

pytestmark = pytest.mark.slow


def shell(image: str, script: str) -> str:
    return podman("run", "--rm", "--entrypoint", "/bin/sh", image, "-c", script).stdout


def test_image_configuration_follows_tf_serving_and_runs_unprivileged(image: str) -> None:
    (info,) = json.loads(podman("image", "inspect", image).stdout)
    config = info["Config"]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["MODEL_NAME"] == "model" and env["MODEL_BASE_PATH"] == "/models"
    assert set(config["ExposedPorts"]) == {"8500/tcp", "8501/tcp"}
    assert config["User"] == "1000:1000"
    assert config["Entrypoint"][:2] == ["/usr/bin/tini", "--"]
    health = info["Healthcheck"]["Test"]
    assert "/readyz" in " ".join(health)
    assert shell(image, "id -u").strip() == "1000"


def test_final_image_has_no_build_tools_or_caches(image: str) -> None:
    present = shell(
        image,
        "for p in /opt/pyserving/bin/pip /usr/bin/gcc /usr/bin/cc /usr/bin/make /wheels "
        "/root/.cache /home/pyserving/.cache /tmp/deps "
        "/opt/pyserving/lib/python3.11/site-packages/tensorflow/include; "
        'do [ -e "$p" ] && echo "$p"; done; ls /var/lib/apt/lists | grep -v -x -e lock -e partial; '
        "true",
    )
    assert present.split() == []
    # And it still serves: the entry point's server starts far enough to report its version.
    version = podman("run", "--rm", image, "--version").stdout
    assert version.startswith("TensorFlow ModelServer: ")
