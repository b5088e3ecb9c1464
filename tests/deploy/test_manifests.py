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
    KUBERNETES_S3,
    Manifest,
    by_kind,
    documents,
    helm,
    helm_lint,
    helm_template,
    kubernetes_manifests,
    s3_manifests,
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
#: Bucket URL schemes the image reads (its s3 and gcs extras).
BUCKETS = ("s3://", "gs://")


def entrypoint_args(env: dict[str, str]) -> list[str]:
    """What the image's entry point puts before the container's arguments, for ``env``."""
    name = env.get("MODEL_NAME", "model")
    base = env.get("MODEL_BASE_PATH", "/models")
    return [
        "--port=8500",
        "--rest_api_port=8501",
        f"--model_name={name}",
        f"--model_base_path={base}/{name}",
    ]


def literal_env(container: Manifest) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


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
    options = server_options([*entrypoint_args(literal_env(container)), *args])
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
    if options.model_config_file:
        models_config = parse_text(
            files[options.model_config_file], model_server_config_pb2.ModelServerConfig()
        )
        base_paths = [model.base_path for model in models_from_config(models_config)]
    else:  # the entry point's MODEL_BASE_PATH/MODEL_NAME model
        base_paths = [options.model_base_path]
    assert base_paths
    local = [path for path in base_paths if not path.startswith(BUCKETS)]
    for path in local:
        assert path.startswith(mounts["models"] + "/"), path
    if not local:  # every model in a bucket: no models volume is needed
        assert "models" not in mounts and "models" not in volumes
    if len(local) < len(base_paths):
        check_bucket_credentials(manifests, container, base_paths)
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


def check_bucket_credentials(
    manifests: list[Manifest], container: Manifest, base_paths: list[str]
) -> None:
    """S3 credentials come from a Secret through env, never as literal values; a Secret in the
    same set (the raw manifests) has the keys the env names."""
    env = {e["name"]: e for e in container.get("env", [])}
    if any(path.startswith("s3://") for path in base_paths):
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            reference = env[name]["valueFrom"]["secretKeyRef"]
            secrets = [
                m
                for m in manifests
                if m["kind"] == "Secret" and m["metadata"]["name"] == reference["name"]
            ]
            for secret in secrets:
                keys = {**secret.get("data", {}), **secret.get("stringData", {})}
                assert reference["key"] in keys, (reference, secret["metadata"]["name"])
        if "AWS_ENDPOINT_URL" in env:
            assert env["AWS_ENDPOINT_URL"]["value"].startswith(("http://", "https://"))


def test_every_kubernetes_manifest_passes_strict_validation() -> None:
    kinds = set()
    for path, manifest in [*kubernetes_manifests(), *kubernetes_manifests(KUBERNETES_S3)]:
        try:
            strict_validate(manifest)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{path.name}: {error.message}")
        kinds.add(manifest["kind"])
    expected = {"Deployment", "Service", "ConfigMap", "PodDisruptionBudget", "Secret"}
    assert kinds >= expected | {"HorizontalPodAutoscaler", "PersistentVolumeClaim"}


def test_strict_validation_rejects_an_unknown_field() -> None:
    manifest = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        strict_validate({**manifest, "spec": {"portz": []}})


def test_kubernetes_manifests_fit_the_server() -> None:
    check_deployment_set([m for _, m in kubernetes_manifests()], expect_replicas=3)


def test_s3_deployment_serves_a_bucket_with_credentials_from_a_secret() -> None:
    manifests = s3_manifests()
    check_deployment_set(manifests, expect_replicas=3)
    (container,) = by_kind(manifests, "Deployment")["spec"]["template"]["spec"]["containers"]
    options = server_options([*entrypoint_args(literal_env(container)), *container["args"]])
    assert options.model_base_path.startswith("s3://")
    assert not options.model_config_file
    # Apart from the model's source, the same pod as deploy/kubernetes/deployment.yaml.
    raw = by_kind([m for _, m in kubernetes_manifests()], "Deployment")
    (raw_container,) = raw["spec"]["template"]["spec"]["containers"]
    for key in ("ports", "resources", "startupProbe", "readinessProbe", "livenessProbe"):
        assert container[key] == raw_container[key], key


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
    extras = project["optional-dependencies"]
    # The image targets' extras: tensorflow, onnx, and the object stores in both.
    wanted = [
        *project["dependencies"],
        *(r for e in ("tensorflow", "onnx", "s3", "gcs") for r in extras[e]),
    ]
    lock = (PROJECT_ROOT / "deploy" / "container" / "constraints.txt").read_text()
    pinned = {line.split("==")[0] for line in lock.splitlines() if "==" in line}
    for requirement in wanted:
        name = re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        assert name in pinned, (
            f"{name} is a dependency but deploy/container/constraints.txt does not pin it: "
            "run `make container-lock`"
        )
