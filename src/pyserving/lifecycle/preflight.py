"""Deterministic reasons a model cannot load, found before anything is applied.

A model whose base path does not exist, holds no version directory, or whose picked versions are
not a SavedModel the runtime can load (no ``saved_model.pb``, a legacy SessionBundle) would never
become AVAILABLE: the file-system source would log the same complaint on every poll, and a caller
waiting for the model would wait for its whole timeout. :func:`check_model` raises that reason at
once, as a :class:`~pyserving.errors.ServingError` whose message names the model, the path and
what to do.

A remote base path (``s3://``, ``gs://``) is listed through ``list_remote`` (the storage's quick
check, which reports no bucket, no credentials, access denied and an unreachable store with their
own codes); its versions are not inspected further (that needs a download: the load reports).

Reads only; nothing is loaded and nothing is changed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from pyserving.errors import Code, ServingError
from pyserving.lifecycle.config import ModelConfig
from pyserving.lifecycle.storage_path import list_versions
from pyserving.runtimes.base import Runtime

RemoteLister = Callable[[str, str], Mapping[int, str]]
"""(base path, model name) -> its versions; raises ServingError when it cannot be listed."""
LayoutCheck = Callable[[str], None]
"""A runtime's ``check_version_layout(path)``: raises ServingError for a directory its ``load``
would reject whatever happens (the wrong format), returns None otherwise."""


def is_remote(path: str) -> bool:
    return "://" in path


def check_model(
    model: ModelConfig,
    runtime_for: Callable[[str], Runtime],
    *,
    unversioned_as_v1: bool = False,
    list_remote: RemoteLister | None = None,
) -> None:
    """Raise the deterministic reason ``model`` cannot load (see the module docstring).

    ``runtime_for`` resolves the platform first (an unknown or uninstalled platform raises its own
    error). ``unversioned_as_v1``: a base path that is itself a model version (``pyserving
    serve``'s rule) passes.
    """
    runtime = runtime_for(model.platform)
    base = model.base_path
    if is_remote(base):
        if list_remote is not None:
            _check_remote(model, list_remote(base, model.name))
        return
    if not os.path.isdir(base):
        what = "is not a directory" if os.path.exists(base) else "does not exist"
        raise ServingError(
            Code.NOT_FOUND,
            f"Could not find base path {base} for model {model.name}: the path {what}. "
            "Give the directory that holds the model's numbered version directories "
            f"(for example {os.path.join(base, '1', 'saved_model.pb')}).",
        )
    layout: LayoutCheck = runtime.check_version_layout
    try:
        found = list_versions(base, model.name)
    except OSError as exc:
        raise ServingError(
            Code.NOT_FOUND, f"Could not read base path {base} for model {model.name}: {exc}"
        ) from None
    if not found:
        if unversioned_as_v1 and _passes(layout, base):
            return
        raise ServingError(
            Code.NOT_FOUND,
            f"No versions of model {model.name} found under base path {base}: each version "
            "must be a directory named by its number (for example "
            f"{os.path.join(base, '1')}/) holding the exported model.",
        )
    picked = model.policy.aspired(found)
    if not picked:
        raise ServingError(
            Code.NOT_FOUND,
            f"None of the versions {list(model.policy.versions)} of model {model.name} asked "
            f"for by its version policy exist under {base} (found {sorted(found)}).",
        )
    for version in sorted(picked, reverse=True):
        layout(found[version])


def _check_remote(model: ModelConfig, found: Mapping[int, str]) -> None:
    base = model.base_path.rstrip("/")
    if not found:
        raise ServingError(
            Code.NOT_FOUND,
            f"No versions of model {model.name} found under base path {base}: each version "
            f"must be a prefix named by its number (for example {base}/1/) holding the "
            "exported model.",
        )
    if not model.policy.aspired(found):
        raise ServingError(
            Code.NOT_FOUND,
            f"None of the versions {list(model.policy.versions)} of model {model.name} asked "
            f"for by its version policy exist under {base} (found {sorted(found)}).",
        )


def _passes(layout: LayoutCheck, path: str) -> bool:
    try:
        layout(path)
    except ServingError:
        return False
    return True
