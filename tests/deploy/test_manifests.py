"""The Kubernetes manifests, the Helm chart and the KServe runtimes: valid against Kubernetes'
schemas (kubernetes-validate, strict: unknown fields and wrong types fail) and consistent with
the server they run (flags it accepts, probe URLs, ports, the shutdown budget, config files it
parses)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from pyserving.batching.params import parse_batching_parameters
from pyserving.config.flags import parse_flags
from pyserving.config.models import models_from_config
from pyserving.protos import model_server_config_pb2, monitoring_config_pb2, parse_text
from tests.conftest import PROJECT_ROOT
from tests.deploy.manifests import (
    HELM_VALUES,
    KSERVE,
    Manifest,
    by_kind,
    documents,
    helm,
    helm_lint,
    helm_template,
    kubernetes_manifests,
)

K8S_VERSION = "1.30.0"  # the oldest Kubernetes the manifests promise to work on
#: Fields of KServe's ServingRuntimeSpec (serving.kserve.io/v1alpha1), which
#: kubernetes-validate has no schema for.
KSERVE_SPEC_FIELDS = {
    "supportedModelFormats", "multiModel", "disabled", "protocolVersions", "workerSpec",
    "containers", "volumes", "nodeSelector", "affinity", "tolerations", "labels", "annotations",
    "imagePullSecrets", "hostIPC", "grpcEndpoint", "grpcDataEndpoint", "httpDataEndpoint",
    "replicas", "storageHelper", "builtInAdapter",
}  # fmt: skip
#: The image's entry point puts these before the container's arguments.
ENTRYPOINT_ARGS = ["--port=8500", "--rest_api_port=8501", "--model_name=model"]


def strict_validate(manifest: Manifest) -> None:
    kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)


def server_options(args: list[str]) -> Any:
    """The options ``tensorflow_model_server`` gets from ``args``; fails on any flag it rejects."""
    parsed = parse_flags(args)
    assert parsed.ok, parsed.errors
    assert not parsed.unknown, f"tensorflow_model_server does not know {parsed.unknown}"
    return parsed.options


def flag(args: list[str], name: str) -> str:
    (value,) = [a.split("=", 1)[1] for a in args if a.startswith(f"--{name}=")]
    return value


def check_deployment_set(manifests: list[Manifest], *, expect_replicas: int | None) -> None:
    """What must hold for the raw manifests and for every `helm template` rendering."""
    deployment = by_kind(manifests, "Deployment")
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    if expect_replicas is not None:
        assert deployment["spec"]["replicas"] == expect_replicas
    (container,) = pod["spec"]["containers"]
    args = container["args"]
    options = server_options([*ENTRYPOINT_ARGS, *args])
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"grpc": 8500, "http": 8501}
    assert container["resources"]["requests"] and container["resources"]["limits"]

    probes = {k: container[k]["httpGet"] for k in ("startupProbe", "readinessProbe")}
    probes["livenessProbe"] = container["livenessProbe"]["httpGet"]
    assert probes["startupProbe"]["path"] == probes["readinessProbe"]["path"] == "/readyz"
    assert probes["livenessProbe"]["path"] == "/healthz"
    assert all(ports[p["port"]] == 8501 for p in probes.values())

    # Shutdown: preStop sleep, then the server's delay and grace, then time to unload.
    sleep = container["lifecycle"]["preStop"]["exec"]["command"]
    assert sleep[0] == "sleep"
    budget = int(sleep[1]) + options.shutdown_delay_seconds + options.shutdown_grace_seconds
    assert pod["spec"]["terminationGracePeriodSeconds"] >= budget + 5, (
        "terminationGracePeriodSeconds must cover preStop + --shutdown_delay_seconds + "
        "--shutdown_grace_seconds + time to unload"
    )

    # The configuration files the args name come from the ConfigMap, and the server parses them.
    config_map = by_kind(manifests, "ConfigMap")
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    config_volume = next(n for n, v in volumes.items() if "configMap" in v)
    assert volumes[config_volume]["configMap"]["name"] == config_map["metadata"]["name"]
    files = {f"{mounts[config_volume]}/{name}": text for name, text in config_map["data"].items()}
    models_config = parse_text(
        files[options.model_config_file], model_server_config_pb2.ModelServerConfig()
    )
    models = models_from_config(models_config)
    assert models
    for model in models:
        assert model.base_path.startswith(mounts["models"] + "/"), model.base_path
    if options.enable_batching:
        parse_batching_parameters(files[options.batching_parameters_file], "batching.config")
    annotations = pod["metadata"].get("annotations", {})
    if options.monitoring_config_file:
        monitoring = parse_text(
            files[options.monitoring_config_file], monitoring_config_pb2.MonitoringConfig()
        )
        assert monitoring.prometheus_config.enable
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == "8501"
        assert annotations["prometheus.io/path"] == monitoring.prometheus_config.path
    else:
        assert "prometheus.io/scrape" not in annotations

    service = by_kind(manifests, "Service")
    assert service["spec"]["selector"].items() <= labels.items()
    assert {p["port"]: p["targetPort"] for p in service["spec"]["ports"]}.keys() >= {8500, 8501}
    assert {p["targetPort"] for p in service["spec"]["ports"]} == {"grpc", "http"}
    for kind in ("PodDisruptionBudget", "HorizontalPodAutoscaler"):
        found = [m for m in manifests if m["kind"] == kind]
        if kind == "PodDisruptionBudget" and found:
            assert found[0]["spec"]["selector"]["matchLabels"].items() <= labels.items()
        if kind == "HorizontalPodAutoscaler" and found:
            target = found[0]["spec"]["scaleTargetRef"]
            assert (target["kind"], target["name"]) == (
                "Deployment",
                deployment["metadata"]["name"],
            )


def test_every_kubernetes_manifest_passes_strict_validation() -> None:
    kinds = set()
    for path, manifest in kubernetes_manifests():
        try:
            strict_validate(manifest)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{path.name}: {error.message}")
        kinds.add(manifest["kind"])
    expected = {"Deployment", "Service", "ConfigMap", "PodDisruptionBudget"}
    assert kinds >= expected | {"HorizontalPodAutoscaler", "PersistentVolumeClaim"}


def test_strict_validation_rejects_an_unknown_field() -> None:
    manifest = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        strict_validate({**manifest, "spec": {"portz": []}})


def test_kubernetes_manifests_fit_the_server() -> None:
    check_deployment_set([m for _, m in kubernetes_manifests()], expect_replicas=3)


@pytest.mark.parametrize("values", HELM_VALUES, ids=lambda v: v.name if v else "defaults")
def test_helm_chart_renders_valid_consistent_manifests(values: Path | None) -> None:
    if helm() is None:
        pytest.skip("neither helm nor helm-python-sdk is installed: the chart is not rendered")
    if helm() == "helm-python-sdk":
        assert helm_lint(values) == []
    manifests = helm_template(values)
    for manifest in manifests:
        strict_validate(manifest)
    check_deployment_set(manifests, expect_replicas=None)


def test_helm_defaults_render_the_raw_manifests() -> None:
    if helm() is None:
        pytest.skip("neither helm nor helm-python-sdk is installed: the chart is not rendered")
    rendered = {m["kind"]: m for m in helm_template(None)}
    raw = {m["kind"]: m for _, m in kubernetes_manifests()}
    assert rendered.keys() == raw.keys()
    rendered_pod = rendered["Deployment"]["spec"]["template"]["spec"]
    raw_pod = raw["Deployment"]["spec"]["template"]["spec"]
    assert rendered_pod["containers"][0]["args"] == raw_pod["containers"][0]["args"]
    assert rendered_pod["terminationGracePeriodSeconds"] == raw_pod["terminationGracePeriodSeconds"]
    assert rendered["ConfigMap"]["data"] == raw["ConfigMap"]["data"]


@pytest.mark.parametrize("name", ["servingruntime.yaml", "clusterservingruntime.yaml"])
def test_kserve_runtime_advertises_our_protocols_and_formats(name: str) -> None:
    (runtime,) = documents((KSERVE / name).read_text())
    assert runtime["apiVersion"] == "serving.kserve.io/v1alpha1"
    cluster_scoped = name.startswith("cluster")
    assert runtime["kind"] == ("ClusterServingRuntime" if cluster_scoped else "ServingRuntime")
    spec = runtime["spec"]
    assert set(spec) <= KSERVE_SPEC_FIELDS, set(spec) - KSERVE_SPEC_FIELDS
    assert set(spec["protocolVersions"]) == {"v1", "grpc-v1", "v2", "grpc-v2"}
    formats = {f["name"] for f in spec["supportedModelFormats"]}
    assert formats == {"tensorflow", "onnx", "tflite"}
    for model_format in spec["supportedModelFormats"]:
        assert set(model_format) <= {"name", "version", "autoSelect", "priority"}
    (container,) = spec["containers"]
    assert container["name"] == "kserve-container"  # the name KServe looks for
    # The containers are core/v1 Containers: validate them inside a Pod.
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}}
    strict_validate({**pod, "spec": {"containers": spec["containers"]}})
    assert container["command"][:2] == ["/usr/bin/tini", "--"]
    args = [a.replace("{{.Name}}", "model") for a in container["args"]]
    options = server_options(args)
    assert (options.port, options.rest_api_port) == (9000, 8080)  # KServe's conventions
    assert flag(args, "model_base_path") == "/mnt/models"  # where KServe puts the model


def test_container_lock_pins_every_runtime_dependency() -> None:
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    project = pyproject["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["tensorflow"]]
    lock = (PROJECT_ROOT / "deploy" / "container" / "constraints.txt").read_text()
    pinned = {line.split("==")[0] for line in lock.splitlines() if "==" in line}
    for requirement in wanted:
        name = re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        assert name in pinned, (
            f"{name} is a dependency but deploy/container/constraints.txt does not pin it: "
            "run `make container-lock`"
        )
