"""Load and version-state metrics, fed by the lifecycle without changing it.

* :class:`TimedRuntime` wraps a runtime (via :func:`timed_runtimes`, the ``runtime_for`` the
  server gives its ServerCore): each ``load`` is one of TF's ``load_attempt_count{model_path,
  status}`` and, when it succeeds, adds its µs to ``load_latency{model_path}``. It times the
  runtime's load only, as TF times the SavedModel load (warmup and retries are not included).
* :class:`VersionStateMetrics` is a ServerCore state listener: ``pyserving_model_version_state``
  (the state number) and ``pyserving_model_version_load_seconds`` (LOADING to AVAILABLE,
  retries and warmup included) per model version.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from pyserving.errors import ServingError
from pyserving.lifecycle.state import ServableState
from pyserving.observability.metrics import registry as m
from pyserving.observability.metrics.recorders import record_load_attempt
from pyserving.runtimes.base import LoadOptions, Model, Runtime


class TimedRuntime(Runtime):
    """``inner`` with its loads counted and timed; every other capability is ``inner``'s."""

    def __init__(self, inner: Runtime) -> None:
        self._inner = inner
        self.platform = inner.platform

    def is_version_complete(self, path: str) -> bool:
        return self._inner.is_version_complete(path)

    def load(self, path: str, options: LoadOptions) -> Model:
        started = time.perf_counter_ns()
        try:
            model = self._inner.load(path, options)
        except BaseException:
            record_load_attempt(path, False, 0)
            raise
        record_load_attempt(path, True, (time.perf_counter_ns() - started) / 1000)
        return model


def timed_runtimes(runtime_for: Callable[[str], Runtime]) -> Callable[[str], Runtime]:
    """``runtime_for`` whose runtimes are :class:`TimedRuntime` (one wrapper per platform)."""
    wrapped: dict[str, Runtime] = {}
    lock = threading.Lock()

    def resolve(platform: str) -> Runtime:
        with lock:
            runtime = wrapped.get(platform)
            if runtime is None:
                runtime = wrapped[platform] = TimedRuntime(runtime_for(platform))
            return runtime

    return resolve


class VersionStateMetrics:
    """State listener (``ServerCore.add_state_listener``) keeping the per-version gauges."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._loading_since: dict[tuple[str, int], float] = {}

    def __call__(
        self, name: str, version: int, state: ServableState, error: ServingError | None
    ) -> None:
        label = str(version)
        m.VERSION_STATE.labels(name, label).set(int(state))
        key = (name, version)
        with self._lock:
            if state is ServableState.LOADING:
                self._loading_since[key] = self._clock()
                return
            started = self._loading_since.pop(key, None)
        if state is ServableState.AVAILABLE and started is not None:
            m.VERSION_LOAD_SECONDS.labels(name, label).set(self._clock() - started)
