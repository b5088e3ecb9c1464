"""Running pyserving's image with podman, the way TF Serving's image is run with docker."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from tests.integration.harness import free_port

READY_TIMEOUT_S = 180.0


def podman(
    *args: str, check: bool = True, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args], check=check, capture_output=True, text=True, timeout=timeout
    )


def fix_permissions(root: Path) -> None:
    """Make ``root`` readable by any user (the image runs as uid 1000, the tests as root)."""
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


class Container:
    """One ``podman run -d`` of the image, with its gRPC and REST ports published on loopback.

    ``host_network``: the container shares the host's network (``--network=host``), so that it
    reaches services the test runs on the host's loopback; the server then listens on the free
    ports directly (``--port``/``--rest_api_port`` appended after ``args``: a later flag wins).
    """

    def __init__(
        self, image: str, *run_args: str, args: Sequence[str] = (), host_network: bool = False
    ) -> None:
        self.grpc_port = free_port()
        self.rest_port = free_port()
        if host_network:
            network = ["--network=host"]
            args = [*args, f"--port={self.grpc_port}", f"--rest_api_port={self.rest_port}"]
        else:
            network = [
                "-p", f"127.0.0.1:{self.grpc_port}:8500",
                "-p", f"127.0.0.1:{self.rest_port}:8501",
            ]  # fmt: skip
        started = podman(
            "run", "-d", *network,
            "--health-interval=disable",  # no systemd timers here; `healthcheck run` still works
            *run_args, image, *args,
        )  # fmt: skip
        self.id = started.stdout.strip()
        self.base_url = f"http://127.0.0.1:{self.rest_port}"

    def logs(self) -> str:
        result = podman("logs", self.id, check=False)
        return result.stdout + result.stderr

    def inspect(self) -> dict[str, Any]:
        (info,) = json.loads(podman("inspect", self.id).stdout)
        return dict(info)

    def running(self) -> bool:
        return bool(self.inspect()["State"]["Running"])

    def exit_code(self) -> int:
        return int(self.inspect()["State"]["ExitCode"])

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Until ``/readyz`` answers 200; fails with the container's log if it never does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if not self.running():
                break
            time.sleep(0.5)
        raise AssertionError(f"container never became ready:\n{self.logs()}")

    def wait_exit(self, timeout: float = 120) -> int:
        result = podman("wait", self.id, timeout=timeout)
        return int(result.stdout.strip().splitlines()[-1])

    def remove(self) -> None:
        podman("rm", "-f", "-t", "0", self.id, check=False)


def image_size(image: str) -> int:
    """The image's unpacked size in bytes (podman's SIZE column)."""
    (info,) = json.loads(podman("image", "inspect", image).stdout)
    return int(info["Size"])
