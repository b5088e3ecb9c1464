"""Helpers for the model-management tests: a ConfigController over a real ServerCore that loads
fake-runtime models (fast polling, no retries), and ModelServerConfig builders."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pyserving.lifecycle import ServableState, ServerCore
from pyserving.management.controller import ConfigController
from pyserving.protos import model_server_config_pb2
from pyserving.runtimes.base import LoadOptions
from pyserving.runtimes.fake import FakeRuntime
from pyserving.security.allowlist import BasePathAllowlist
from tests.unit.lifecycle.lifecycle_support import POLL, SETTLE, eventually

Config = model_server_config_pb2.ModelServerConfig


def entry(
    name: str, base: Path, *, platform: str = "fake", policy: str = "", **labels: int
) -> model_server_config_pb2.ModelConfig:
    """A config entry; ``policy`` is "all" or "" (latest 1)."""
    model = model_server_config_pb2.ModelConfig(
        name=name, base_path=str(base), model_platform=platform
    )
    if policy == "all":
        model.model_version_policy.all.SetInParent()
    for label, version in labels.items():
        model.version_labels[label] = version
    return model


def config_of(*entries: model_server_config_pb2.ModelConfig) -> Config:
    config = Config()
    config.model_config_list.SetInParent()
    config.model_config_list.config.extend(entries)
    return config


def _settle(core: ServerCore, names: list[str]) -> None:
    """Wait until no version of ``names`` is still starting or loading: "ready" means one version
    is AVAILABLE, but with policy "all" the others may still be loading (a race under load)."""
    settled = (ServableState.AVAILABLE, ServableState.END)
    eventually(
        lambda: all(s.state in settled for n in names for s in core.model_status(n)),
        what=f"every version of {names} loaded or ended",
    )


@contextlib.contextmanager
def controlled(
    startup: Config,
    *,
    config_file: Path | None = None,
    on_served: Callable[[Config], None] | None = None,
    allowlist: BasePathAllowlist | None = None,
    **options: Any,
) -> Iterator[tuple[ConfigController, ServerCore, FakeRuntime]]:
    """A started controller (startup config applied and its models ready), always shut down."""
    runtime = FakeRuntime()
    kwargs: dict[str, Any] = {
        "file_system_poll_wait_seconds": POLL,
        "version_settle_seconds": SETTLE,
        "max_num_load_retries": 0,
        "load_retry_interval_micros": 0,
        **options,
    }
    core = ServerCore(load_options=LoadOptions(), runtime_for=lambda _: runtime, **kwargs)
    file = str(config_file) if config_file else ""
    controller = ConfigController(core, config_file=file, on_served=on_served, allowlist=allowlist)
    try:
        controller.start(startup)
        core.wait_until_ready(timeout=10)
        _settle(core, [model.name for model in startup.model_config_list.config])
        yield controller, core, runtime
    finally:
        core.shutdown()
