"""A deterministic in-process runtime for tests: ``y = scale * x + offset``.

A version directory is complete when it holds ``fake_model.json`` (all keys optional)::

    {"scale": 0.5, "offset": 2.0, "load_seconds": 0.0, "fail_load": null, "fail_code": "UNKNOWN",
     "run_seconds": 0.0}

``fail_load`` set to a message makes every load attempt fail with that message (and ``fail_code``).
Models have one signature, ``serving_default`` (predict): input ``x`` (``x:0``, DT_FLOAT [-1, 1]),
output ``y`` (``y:0``, same). The runtime counts loads, unloads and runs so tests can assert on
them; every counter is guarded by one lock, so the fake is safe to use from any thread.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Final

import numpy as np

from pyserving.dtypes import DataType, from_numpy
from pyserving.errors import Code, ServingError, deadline_exceeded, invalid_argument
from pyserving.runtimes.base import LoadOptions, Model, Runtime
from pyserving.signature import Signature, TensorSpec

MARKER: Final = "fake_model.json"

_SIGNATURES: Final[Mapping[str, Signature]] = {
    "serving_default": Signature(
        key="serving_default",
        inputs={"x": TensorSpec("x:0", DataType.DT_FLOAT, (-1, 1))},
        outputs={"y": TensorSpec("y:0", DataType.DT_FLOAT, (-1, 1))},
    )
}


@dataclass(frozen=True, slots=True)
class FakeSpec:
    """The contents of ``fake_model.json``."""

    scale: float = 0.5
    offset: float = 2.0
    load_seconds: float = 0.0
    fail_load: str | None = None
    fail_code: str = "UNKNOWN"
    run_seconds: float = 0.0

    @classmethod
    def read(cls, path: str) -> FakeSpec:
        marker = os.path.join(path, MARKER)
        try:
            with open(marker, encoding="utf-8") as f:
                data: Any = json.load(f)
        except FileNotFoundError:
            raise ServingError(Code.NOT_FOUND, f"Could not find {MARKER} in {path}") from None
        except (OSError, ValueError) as exc:
            raise invalid_argument(f"Could not read {marker}: {exc}") from None
        known = {f.name for f in fields(cls)}
        if not isinstance(data, dict) or not known.issuperset(data):
            raise invalid_argument(f"{marker} must be an object with keys among {sorted(known)}")
        return cls(**data)


def write_fake_model(path: str, **spec: Any) -> str:
    """Create the version directory ``path`` with a marker holding ``spec`` (test helper)."""
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, MARKER), "w", encoding="utf-8") as f:
        json.dump(spec, f)
    return path


class FakeRuntime(Runtime):
    """Platform ``fake``.

    Counters: ``load_attempts``, ``loads`` (successful), ``max_concurrent_loads``, ``unloads``,
    ``runs``, ``in_flight`` and ``max_in_flight`` (concurrent runs), and ``events``: ("load" |
    "unload", path) in order.
    """

    platform = "fake"

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.load_attempts = 0
        self.loads_in_progress = 0
        self.max_concurrent_loads = 0
        self.loads = 0
        self.unloads = 0
        self.runs = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.events: list[tuple[str, str]] = []

    def is_version_complete(self, path: str) -> bool:
        return os.path.isfile(os.path.join(path, MARKER))

    def load(self, path: str, options: LoadOptions) -> FakeModel:
        with self.lock:
            self.load_attempts += 1
            self.loads_in_progress += 1
            self.max_concurrent_loads = max(self.max_concurrent_loads, self.loads_in_progress)
        try:
            spec = FakeSpec.read(path)
            if spec.load_seconds > 0:
                time.sleep(spec.load_seconds)
            if spec.fail_load is not None:
                raise ServingError(Code[spec.fail_code], spec.fail_load)
        finally:
            with self.lock:
                self.loads_in_progress -= 1
        with self.lock:
            self.loads += 1
            self.events.append(("load", path))
        return FakeModel(self, path, spec)


class FakeModel(Model):
    """A loaded fake version (see the module docstring). ``run`` is thread-safe."""

    def __init__(self, runtime: FakeRuntime, path: str, spec: FakeSpec) -> None:
        self.runtime = runtime
        self.path = path
        self.spec = spec
        self.unloaded = False

    @property
    def signatures(self) -> Mapping[str, Signature]:
        return _SIGNATURES

    def run(
        self, feeds: Mapping[str, np.ndarray], fetches: Sequence[str], timeout_ms: int = 0
    ) -> list[np.ndarray]:
        if self.unloaded:
            raise ServingError(Code.FAILED_PRECONDITION, f"Fake model {self.path} was unloaded")
        x = self._input(feeds)
        rt = self.runtime
        with rt.lock:
            rt.runs += 1
            rt.in_flight += 1
            rt.max_in_flight = max(rt.max_in_flight, rt.in_flight)
        try:
            self._wait(timeout_ms)
            y = (x * np.float32(self.spec.scale) + np.float32(self.spec.offset)).astype(np.float32)
            outputs = {"x:0": x, "y:0": y}
            for name in fetches:
                if name not in outputs:
                    raise invalid_argument(f"Tensor {name}, specified in fetches, not in the graph")
            return [outputs[name] for name in fetches]
        finally:
            with rt.lock:
                rt.in_flight -= 1

    def _input(self, feeds: Mapping[str, np.ndarray]) -> np.ndarray:
        for name in feeds:
            if name != "x:0":
                raise invalid_argument(f"Tensor {name}, specified in feeds, not in the graph")
        if "x:0" not in feeds:
            raise invalid_argument(
                "You must feed a value for placeholder tensor 'x' with dtype float"
            )
        x = np.asarray(feeds["x:0"])
        if x.dtype != np.float32:
            got = from_numpy(x.dtype).short_name
            raise invalid_argument(f"Expects arg[0] to be float but {got} is provided")
        return x

    def _wait(self, timeout_ms: int) -> None:
        seconds = self.spec.run_seconds
        if timeout_ms > 0 and seconds * 1000 > timeout_ms:
            time.sleep(timeout_ms / 1000)
            raise deadline_exceeded("Timed out waiting for the fake model run")
        if seconds > 0:
            time.sleep(seconds)

    def unload(self) -> None:
        rt = self.runtime
        with rt.lock:
            self.unloaded = True
            rt.unloads += 1
            rt.events.append(("unload", self.path))
