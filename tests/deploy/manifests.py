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
KSERVE = DEPLOY / "kserve"
CHART = DEPLOY / "helm" / "pyserving"
#: The values files `helm template` is checked with: the defaults, then each of ci/.
HELM_VALUES: tuple[Path | None, ...] = (None, *sorted((CHART / "ci").glob("*.yaml")))

Manifest = dict[str, Any]


def documents(text: str) -> list[Manifest]:
    """The non-empty YAML documents of ``text``."""
    return [doc for doc in yaml.safe_load_all(text) if doc]


def kubernetes_manifests() -> Iterator[tuple[Path, Manifest]]:
    for path in sorted(KUBERNETES.glob("*.yaml")):
        for doc in documents(path.read_text()):
            yield path, doc


def by_kind(manifests: list[Manifest], kind: str) -> Manifest:
    (found,) = [m for m in manifests if m["kind"] == kind]
    return found


def helm() -> str | None:
    """The `helm` program, when installed (Debian 12 does not package it)."""
    return shutil.which("helm")


def helm_template(values: Path | None, release: str = "pyserving") -> list[Manifest]:
    program = helm()
    assert program is not None
    args = [program, "template", release, str(CHART)]
    if values is not None:
        args += ["--values", str(values)]
    rendered = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return documents(rendered)
