"""deploy/kubernetes/'s Deployment and ConfigMap, run by `podman kube play` as a kubelet would run
one replica: the same args, mounts, security context and probes' URLs. Changed only where a
cluster differs from this machine: the image, one replica, a hostPort, models from a host path."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.container.podman import fix_permissions, podman
from tests.deploy.manifests import KUBERNETES, documents
from tests.integration.harness import free_port
from tests.integration.versioned_model import write_versioned_model

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def play_manifests(image: str, models: Path, rest_port: int, grpc_port: int) -> list[Any]:
    config_map = documents((KUBERNETES / "configmap.yaml").read_text())[0]
    deployment = copy.deepcopy(documents((KUBERNETES / "deployment.yaml").read_text())[0])
    deployment["spec"]["replicas"] = 1
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    container["image"] = image
    container["imagePullPolicy"] = "Never"
    host_ports = {"http": rest_port, "grpc": grpc_port}
    for port in container["ports"]:
        port["hostPort"] = host_ports[port["name"]]
        port["hostIP"] = "127.0.0.1"
    (models_volume,) = [v for v in pod["volumes"] if v["name"] == "models"]
    models_volume.clear()
    models_volume.update(name="models", hostPath={"path": str(models), "type": "Directory"})
    return [config_map, deployment]


def test_deployment_runs_under_podman_kube_play(image: str, models: Path, tmp_path: Path) -> None:
    write_versioned_model(models / "model" / "1", 5)  # the ConfigMap serves /models/model
    fix_permissions(models)
    rest_port, grpc_port = free_port(), free_port()
    play = tmp_path / "play.yaml"
    play.write_text(yaml.safe_dump_all(play_manifests(image, models, rest_port, grpc_port)))
    base_url = f"http://127.0.0.1:{rest_port}"
    podman("kube", "play", str(play))
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{base_url}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, podman(
                "pod", "logs", "pyserving-pod-0", check=False
            )
            time.sleep(0.5)
        reply = httpx.post(
            f"{base_url}/v1/models/model:predict", json={"instances": [1.0]}, timeout=30
        )
        assert reply.json() == {"predictions": [6.0]}
        assert httpx.get(f"{base_url}/healthz", timeout=5).status_code == 200
        # The ConfigMap's monitoring.config and the args' gRPC health service are in effect.
        metrics = httpx.get(f"{base_url}/monitoring/prometheus/metrics", timeout=10).text
        assert ":tensorflow:serving:request_count" in metrics
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            answer = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING
        # The pod's security context: uid 1000, read-only root file system.
        (info,) = yaml.safe_load(podman("inspect", "pyserving-pod-0-pyserving").stdout)
        assert info["Config"]["User"].split(":")[0] == "1000"
        assert info["HostConfig"]["ReadonlyRootfs"] is True
    finally:
        down = podman("kube", "down", str(play), check=False)
    assert down.returncode == 0, down.stderr
    assert podman("pod", "exists", "pyserving-pod-0", check=False).returncode != 0
