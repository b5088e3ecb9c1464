"""What to serve: per-model configuration and the version policy (which versions are aspired).

These are the lifecycle's own types; the config package turns ``ModelServerConfig`` text and the
``--model_name``/``--model_base_path`` flags into them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

PolicyKind = Literal["latest", "all", "specific"]


@dataclass(frozen=True, slots=True)
class VersionPolicy:
    """``ServableVersionPolicy``: latest N (N = 0 means 1), all, or a specific list of versions."""

    kind: PolicyKind = "latest"
    num_versions: int = 1
    versions: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ("latest", "all", "specific"):
            raise ValueError(f"unknown version policy kind {self.kind!r}")
        if self.num_versions < 0:
            raise ValueError(f"num_versions must be >= 0, got {self.num_versions}")
        object.__setattr__(self, "versions", tuple(self.versions))

    @classmethod
    def latest(cls, num_versions: int = 1) -> VersionPolicy:
        return cls("latest", num_versions=num_versions)

    @classmethod
    def all(cls) -> VersionPolicy:
        return cls("all")

    @classmethod
    def specific(cls, *versions: int) -> VersionPolicy:
        return cls("specific", versions=versions)

    def aspired(self, found: Iterable[int]) -> frozenset[int]:
        """The versions to serve among ``found`` (pure; missing specific versions are skipped)."""
        present = frozenset(found)
        if self.kind == "all":
            return present
        if self.kind == "specific":
            return present.intersection(self.versions)
        keep = max(self.num_versions, 1)
        return frozenset(sorted(present, reverse=True)[:keep])


@dataclass(frozen=True, slots=True)
class ModelConfig:
    """One entry of the model config list. ``labels`` maps version labels to versions."""

    name: str
    base_path: str
    platform: str = "tensorflow"
    policy: VersionPolicy = field(default_factory=VersionPolicy)
    labels: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A private read-only copy: the caller's dict cannot change a config after the fact.
        object.__setattr__(self, "labels", MappingProxyType(dict(self.labels)))
