"""A scriptable model and lease for the batching tests, and a runner factory."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pyserving.batching import BatchingOptions, BatchingPolicy, BatchingRunner
from pyserving.errors import ServingError
from pyserving.runtimes.base import Model
from pyserving.service.execution import ThreadRunner
from pyserving.signature import Signature

WAIT = 10.0  # upper bound on any wait in these tests


class RecordingModel(Model):
    """``y:0 = 2x + 1`` elementwise on ``x:0``; also ``sum:0`` (rank 0, not batch-major).

    Records the dim 0 of every call's ``x:0``. While ``gate`` is cleared, calls block on it
    (``entered`` counts calls that started), so a test can hold batch threads busy. ``error``, if
    set, is raised by every call.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.batch_sizes: list[int] = []
        self.seen: list[np.ndarray] = []
        self.threads: list[int] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Semaphore(0)
        self.in_flight = 0
        self.max_in_flight = 0
        self.error: ServingError | None = None

    @property
    def signatures(self) -> Mapping[str, Signature]:
        return {}

    def run(
        self, feeds: Mapping[str, np.ndarray], fetches: Sequence[str], timeout_ms: int = 0
    ) -> list[np.ndarray]:
        x = feeds["x:0"]
        with self.lock:
            self.batch_sizes.append(int(x.shape[0]))
            self.seen.append(x.copy())
            self.threads.append(threading.get_ident())
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.entered.release()
        try:
            if not self.gate.wait(WAIT):
                raise AssertionError("gate never opened")
            if self.error is not None:
                raise self.error
            outputs = {"y:0": x * 2 + 1, "sum:0": np.asarray(x.sum()), "x:0": x}
            return [outputs[name] for name in fetches]
        finally:
            with self.lock:
                self.in_flight -= 1

    def unload(self) -> None:
        pass


class Lease:
    def __init__(self, model: Any, version: int = 1, name: str = "m") -> None:
        self.model = model
        self.version = version
        self.name = name
        self.releases = 0

    def release(self) -> None:
        self.releases += 1


def runner_for(
    options: BatchingOptions | None, *, threads: int = 1, inline_threshold_s: float = 0.0
) -> BatchingRunner:
    from concurrent.futures import ThreadPoolExecutor

    fallback = ThreadRunner(ThreadPoolExecutor(max_workers=2))
    return BatchingRunner(
        BatchingPolicy(options),
        fallback,
        num_batch_threads=threads,
        inline_threshold_s=inline_threshold_s,
    )


def column(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float32).reshape(-1, 1)
