"""Checks a new model list must pass before it replaces the current one.

TF Serving's ``ServerCore::ReloadConfig`` rules and messages (server_core.cc): names are unique, a
model keeps its platform, and every version label points to a version that is AVAILABLE right now
(so labels are checked *before* the new config loads anything). All checks are pure: they raise a
:class:`~pyserving.errors.ServingError` and change nothing, so a rejected config leaves the served
state exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from pyserving.errors import failed_precondition, invalid_argument
from pyserving.lifecycle.config import ModelConfig

IsAvailable = Callable[[str, int], bool]
"""(model name, version) -> whether that version is AVAILABLE now."""


def check_unique(models: Sequence[ModelConfig]) -> None:
    seen: set[str] = set()
    for model in models:
        if model.name in seen:
            raise invalid_argument(
                f"Illegal to list model {model.name} multiple times in config list"
            )
        seen.add(model.name)


def check_platforms_unchanged(old: Mapping[str, ModelConfig], new: Sequence[ModelConfig]) -> None:
    """A model listed in both configs must keep its platform (its versions stay loaded by the
    old runtime while the new config applies, so a switch cannot be made consistently)."""
    for model in new:
        before = old.get(model.name)
        if before is not None and before.platform != model.platform:
            raise invalid_argument(
                f"Illegal to change a model's platform. For model {model.name} platform was "
                f"{before.platform} and new platform requested is {model.platform}"
            )


def check_labels(
    old: Mapping[str, ModelConfig],
    new: Sequence[ModelConfig],
    is_available: IsAvailable,
    *,
    allow_unavailable: bool,
) -> None:
    """Every label must name an AVAILABLE version. ``allow_unavailable``
    (``--allow_version_labels_for_unavailable_models``) exempts labels that are new for their
    model or keep their version; moving an existing label is always checked, so a label never
    moves onto a version that cannot serve."""
    for model in new:
        before = old.get(model.name)
        current = before.labels if before is not None else {}
        for label, version in model.labels.items():
            if allow_unavailable and current.get(label, version) == version:
                continue
            if not is_available(model.name, version):
                raise failed_precondition(
                    f"Request to assign label to version {version} of model {model.name}, "
                    "which is not currently available for inference"
                )
