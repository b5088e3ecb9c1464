"""Per-model request rate, error rate, p50/p99 latency and batch size over the last minutes,
computed from the server's own Prometheus metrics (``request_count``, ``request_latency``,
``pyserving_batch_size``).

A background thread snapshots the cumulative counters every ``interval`` seconds and keeps the
snapshots of the last ``window`` seconds (bounded: ``window / interval + 1`` of them). The console
costs requests nothing: they only update the metrics, and a sample collects just these three.
Each point of a series is the difference between two consecutive snapshots, so it shows that
interval only.
Latency percentiles are interpolated inside the histogram's buckets (the way Prometheus'
``histogram_quantile`` does), so they are as precise as the buckets (factors of 1.8).
In multi-process mode the snapshots sum all processes, like the Prometheus page.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from prometheus_client.metrics_core import Metric

from pyserving.observability.metrics import definitions as d
from pyserving.observability.metrics import registry
from pyserving.observability.metrics.exposition import family_name

_COUNT: Final = family_name(d.REQUEST_COUNT)
_LATENCY: Final = family_name(d.REQUEST_LATENCY)
_BATCH: Final = family_name(d.BATCH_SIZE)
_BOUNDS: Final = (*d.LATENCY_BUCKETS, math.inf)
_SAMPLED: Final = (registry.REQUEST_COUNT, registry.REQUEST_LATENCY, registry.BATCH_SIZE)


@dataclass
class _ModelTotals:
    requests: float = 0.0
    errors: float = 0.0
    latency: list[float] = field(default_factory=lambda: [0.0] * len(_BOUNDS))
    batch_rows: float = 0.0
    batches: float = 0.0


Snapshot = dict[str, _ModelTotals]


def snapshot(families: Iterable[Metric]) -> Snapshot:
    """Cumulative per-model totals from collected metric families."""
    totals: Snapshot = {}
    for family in families:
        if family.name not in (_COUNT, _LATENCY, _BATCH):
            continue
        for sample in family.samples:
            model = sample.labels.get("model_name", "")
            if not model:
                continue
            entry = totals.setdefault(model, _ModelTotals())
            if sample.name == _COUNT + "_total":
                entry.requests += sample.value
                if sample.labels.get("status") != "OK":
                    entry.errors += sample.value
            elif sample.name == _LATENCY + "_bucket" and sample.labels.get("API"):
                # Only inference calls (predict, classify...): status and metadata GETs have
                # API "" and would drag the percentiles down.
                entry.latency[_BOUNDS.index(float(sample.labels["le"]))] += sample.value
            elif sample.name == _BATCH + "_sum":
                entry.batch_rows += sample.value
            elif sample.name == _BATCH + "_count":
                entry.batches += sample.value
    return totals


def quantile(q: float, cumulative: Sequence[float]) -> float | None:
    """The ``q`` quantile (µs) of a histogram given as cumulative counts per bound of ``_BOUNDS``;
    None without observations. Past the last finite bound, that bound is the answer."""
    total = cumulative[-1]
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for bound, count in zip(_BOUNDS, cumulative, strict=True):
        if count >= rank:
            if math.isinf(bound):
                return lower
            inside = count - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, count
    return lower


def interval_point(
    t: float, seconds: float, old: _ModelTotals, new: _ModelTotals
) -> dict[str, Any]:
    requests = max(new.requests - old.requests, 0.0)
    errors = max(new.errors - old.errors, 0.0)
    latency = [max(n - o, 0.0) for n, o in zip(new.latency, old.latency, strict=True)]
    batches = new.batches - old.batches
    p50, p99 = quantile(0.5, latency), quantile(0.99, latency)
    return {
        "t": round(t, 3),
        "requests": requests,
        "rps": requests / seconds,
        "error_rate": errors / requests if requests else 0.0,
        "p50_ms": None if p50 is None else p50 / 1000,
        "p99_ms": None if p99 is None else p99 / 1000,
        "batch_size": (new.batch_rows - old.batch_rows) / batches if batches > 0 else None,
    }


class MetricsWindow:
    """See the module docstring. :meth:`start` the sampler thread, :meth:`close` to stop it."""

    def __init__(self, *, interval: float = 2.0, window: float = 300.0) -> None:
        self.interval = interval
        self.window = window
        self._snapshots: deque[tuple[float, Snapshot]] = deque(maxlen=int(window / interval) + 1)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.sample()
        self._thread = threading.Thread(target=self._run, name="console-metrics", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self, now: float | None = None) -> None:
        taken = snapshot(registry.collect(_SAMPLED))
        with self._lock:
            self._snapshots.append((time.time() if now is None else now, taken))

    def document(self) -> dict[str, Any]:
        """``{"interval", "window", "models": {name: [point, ...]}}``, oldest point first."""
        with self._lock:
            snapshots = list(self._snapshots)
        series: dict[str, list[dict[str, Any]]] = {}
        for (t0, old), (t1, new) in itertools.pairwise(snapshots):
            seconds = max(t1 - t0, 1e-3)
            for model, totals in new.items():
                before = old.get(model, _ModelTotals())
                series.setdefault(model, []).append(interval_point(t1, seconds, before, totals))
        return {"interval": self.interval, "window": self.window, "models": series}
