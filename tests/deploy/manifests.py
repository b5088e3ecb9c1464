"""Reading the committed deployment files: Kubernetes YAML, the Helm chart, the KServe runtimes."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
#: The bucket variant: a Deployment serving s3://... and the Secret it reads credentials from.
KUBERNETES_S3 = KUBERNETES / "s3"
KSERVE = DEPLOY / "kserve"
CHART = DEPLOY / "helm" / "pyserving"
#: The values files `helm template` is checked with: the defaults, then each of ci/.
HELM_VALUES: tuple[Path | None, ...] = (None, *sorted((CHART / "ci").glob("*.yaml")))

Manifest = dict[str, Any]


def documents(text: str) -> list[Manifest]:
    """The non-empty YAML documents of ``text``."""
    return [doc for doc in yaml.safe_load_all(text) if doc]


def kubernetes_manifests(directory: Path = KUBERNETES) -> Iterator[tuple[Path, Manifest]]:
    for path in sorted(directory.glob("*.yaml")):
        for doc in documents(path.read_text()):
            yield path, doc


def s3_manifests() -> list[Manifest]:
    """What deploy/kubernetes/s3/ tells to apply: the shared objects of deploy/kubernetes/ (not
    its Deployment and claim) and s3/'s Deployment and Secret."""
    shared = [
        m
        for _, m in kubernetes_manifests()
        if m["kind"] not in ("Deployment", "PersistentVolumeClaim")
    ]
    return shared + [m for _, m in kubernetes_manifests(KUBERNETES_S3)]


def by_kind(manifests: list[Manifest], kind: str) -> Manifest:
    (found,) = [m for m in manifests if m["kind"] == kind]
    return found


def helm() -> str | None:
    """What renders the chart: the `helm` program when installed, else Helm's Go SDK through
    helm-python-sdk (a dev dependency on Linux x86_64), else None."""
    if shutil.which("helm"):
        return "helm"
    try:
        import helm_python  # noqa: F401 - loads the native library
    except ImportError:
        return None
    return "helm-python-sdk"


def helm_template(values: Path | None, release: str = "pyserving") -> list[Manifest]:
    """`helm template RELEASE deploy/helm/pyserving [--values VALUES]`, as manifests."""
    program = shutil.which("helm")
    if program is not None:
        args = [program, "template", release, str(CHART)]
        if values is not None:
            args += ["--values", str(values)]
        result = subprocess.run(args, check=True, capture_output=True, text=True)
        return documents(result.stdout)
    from helm_python.chart import Chart

    overrides = yaml.safe_load(values.read_text()) if values is not None else None
    with Chart.load(CHART) as chart:
        rendered = chart.render(overrides, name=release, namespace="default", is_install=True)
    return [
        doc
        for path, text in sorted(rendered.items())
        if path.endswith((".yaml", ".yml"))
        for doc in documents(text)
    ]


def helm_lint(values: Path | None) -> list[str]:
    """`helm lint --strict` findings of warning or error severity (helm-python-sdk only)."""
    from helm_python.chart import lint

    overrides = yaml.safe_load(values.read_text()) if values is not None else None
    report = lint(CHART, overrides, strict=True, kube_version="v1.30.0")
    findings = [m for m in report["messages"] if m["severity"] >= 2]
    return [f"{m['path']}: {m['error']}" for m in findings] + list(report["errors"])
