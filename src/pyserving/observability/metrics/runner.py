"""A :class:`~pyserving.service.execution.ModelRunner` wrapper recording TF's runtime metrics.

Every model run goes through the runner, so wrapping it (rather than editing the core) times runs
for REST and gRPC alike, whichever runner is inside (worker threads or the batcher; with batching
the time includes queueing, as TF's ``runtime_latency`` around a batching session does):

* ``runtime_latency{model_name,API,runtime}`` (µs) of each successful run, ``API`` from
  :data:`~pyserving.observability.requests.CURRENT_API`, ``runtime`` ``TF1`` as in TF Serving;
* ``request_example_counts{model}`` / ``request_example_count_total{model}``: the Examples of each
  successful Classify, Regress and MultiInference run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from time import perf_counter_ns
from typing import Final

import numpy as np

from pyserving.observability.metrics import cells
from pyserving.observability.metrics import registry as m
from pyserving.observability.metrics.deferred import Outcomes
from pyserving.observability.requests import CURRENT_API
from pyserving.service.execution import Lease, ModelRunner

EXAMPLE_APIS: Final = frozenset({"Classify", "Regress", "MultiInference"})
RUNTIME: Final = "TF1"


class TimedRunner:
    """Delegates to ``inner`` and records the metrics above (recorders cached per model and API,
    see :mod:`.deferred`; called on the event loop thread only)."""

    def __init__(self, inner: ModelRunner) -> None:
        self.inner = inner
        self._defer = m.defer_recording()
        self._latency: dict[tuple[str, str], Outcomes] = {}
        self._examples: dict[str, tuple[cells.Observe, cells.Add]] = {}

    async def run(
        self,
        lease: Lease,
        feeds: Mapping[str, np.ndarray],
        fetches: Sequence[str],
        timeout_ms: int = 0,
    ) -> list[np.ndarray]:
        name = lease.name
        api = CURRENT_API.get()
        started = perf_counter_ns()
        outputs = await self.inner.run(lease, feeds, fetches, timeout_ms)
        micros = (perf_counter_ns() - started) // 1000
        key = (name, api)
        latency = self._latency.get(key)
        if latency is None:
            child = m.RUNTIME_LATENCY.labels(name, api, RUNTIME)
            latency = self._latency[key] = Outcomes(None, child, defer=self._defer)
        latency.record(micros)
        if api in EXAMPLE_APIS and feeds:
            self._count_examples(name, len(next(iter(feeds.values()))))
        return outputs

    def _count_examples(self, name: str, count: int) -> None:
        children = self._examples.get(name)
        if children is None:
            children = self._examples[name] = (
                cells.observer(m.EXAMPLE_COUNTS.labels(name)),
                cells.adder(m.EXAMPLE_COUNT_TOTAL.labels(name)),
            )
        children[0](count)
        children[1](count)
