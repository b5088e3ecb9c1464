"""Shared helpers for the lifecycle tests: fast-polling cores over the fake runtime, recorders."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pyserving.errors import ServingError
from pyserving.lifecycle import ModelConfig, ServableState, ServerCore, VersionPolicy
from pyserving.runtimes.base import LoadOptions, Runtime
from pyserving.runtimes.fake import FakeRuntime, write_fake_model

POLL = 0.1  # seconds between polls in these tests
SETTLE = 0.02
WAIT = 10.0  # upper bound for anything a test waits for; tests normally take far less

Event = tuple[str, int, ServableState, "ServingError | None"]


def fake_model(base: Path, version: int | str, **spec: Any) -> Path:
    """Write a complete fake version directory ``base/<version>``."""
    return Path(write_fake_model(os.fspath(base / str(version)), **spec))


def config(name: str, base: Path, policy: VersionPolicy | None = None, **kw: Any) -> ModelConfig:
    return ModelConfig(name, os.fspath(base), "fake", policy or VersionPolicy.latest(), **kw)


class Recorder:
    """A state listener keeping every event, thread-safely."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: list[Event] = []

    def __call__(
        self, name: str, version: int, state: ServableState, error: ServingError | None
    ) -> None:
        with self._lock:
            self.events.append((name, version, state, error))

    def states(self, name: str, version: int) -> list[ServableState]:
        with self._lock:
            return [e[2] for e in self.events if e[0] == name and e[1] == version]

    def index(self, name: str, version: int, state: ServableState) -> int:
        with self._lock:
            keys = [(e[0], e[1], e[2]) for e in self.events]
        return keys.index((name, version, state))


def eventually(predicate: Callable[[], bool], timeout: float = WAIT, what: str = "") -> None:
    """Poll ``predicate`` until true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.01)


def state_of(core: ServerCore, name: str, version: int) -> ServableState | None:
    try:
        return core.model_status(name, version)[0].state
    except ServingError:
        return None


@contextmanager
def running_core(
    models: Sequence[ModelConfig],
    runtime: Runtime | None = None,
    recorder: Recorder | None = None,
    **options: Any,
) -> Iterator[ServerCore]:
    """A started core (fast polling, no retry waits by default) that is always shut down."""
    rt: Runtime = runtime if runtime is not None else FakeRuntime()
    kwargs: dict[str, Any] = {
        "file_system_poll_wait_seconds": POLL,
        "version_settle_seconds": SETTLE,
        "max_num_load_retries": 0,
        "load_retry_interval_micros": 0,
        **options,
    }
    core = ServerCore(load_options=LoadOptions(), runtime_for=lambda platform: rt, **kwargs)
    if recorder is not None:
        core.add_state_listener(recorder)
    core.start(models)
    try:
        yield core
    finally:
        core.shutdown()


def served(
    core: ServerCore, name: str, version: int | None = None, label: str | None = None
) -> int:
    """The version a request would be served by (the handle is released at once)."""
    with core.acquire(name, version, label) as handle:
        return handle.version
