"""The console's metric windows: rates, error rates, percentiles and batch sizes per interval."""

from __future__ import annotations

import math

import pytest
from prometheus_client.metrics_core import Metric

from pyserving.console.metrics_window import (
    _BOUNDS,
    MetricsWindow,
    quantile,
    snapshot,
)
from pyserving.observability.metrics import definitions as d
from pyserving.observability.metrics.exposition import family_name


def families(
    requests: dict[str, float], latency_us: list[float], batches: list[int]
) -> list[Metric]:
    """Cumulative metric families for model "m" as prometheus-client reports them."""
    count = Metric(family_name(d.REQUEST_COUNT), "", "counter")
    for status, value in requests.items():
        count.add_sample(count.name + "_total", {"model_name": "m", "status": status}, value)
    latency = Metric(family_name(d.REQUEST_LATENCY), "", "histogram")
    labels = {"model_name": "m", "API": "predict", "entrypoint": "REST"}
    for bound in _BOUNDS:
        below = sum(1 for v in latency_us if v <= bound)
        le = "+Inf" if math.isinf(bound) else str(bound)
        latency.add_sample(latency.name + "_bucket", {**labels, "le": le}, below)
    # A status GET (API "") must not count in the percentiles.
    latency.add_sample(latency.name + "_bucket", {**labels, "API": "", "le": "+Inf"}, 1000)
    batch = Metric(family_name(d.BATCH_SIZE), "", "histogram")
    batch.add_sample(batch.name + "_sum", {"model_name": "m"}, sum(batches))
    batch.add_sample(batch.name + "_count", {"model_name": "m"}, len(batches))
    return [count, latency, batch]


def test_quantile_interpolates_inside_the_bucket() -> None:
    counts = [0.0] * len(_BOUNDS)
    # 100 observations between the first and second bound (10 and 18 µs).
    for i in range(1, len(_BOUNDS)):
        counts[i] = 100
    assert quantile(0.5, counts) == pytest.approx(10 + 8 * 0.5)
    assert quantile(0.99, counts) == pytest.approx(10 + 8 * 0.99)


def test_quantile_without_observations_is_none_and_overflow_is_the_last_bound() -> None:
    assert quantile(0.5, [0.0] * len(_BOUNDS)) is None
    overflow = [0.0] * (len(_BOUNDS) - 1) + [5.0]
    assert quantile(0.99, overflow) == _BOUNDS[-2]


def test_document_points_are_per_interval_differences() -> None:
    window = MetricsWindow(interval=2.0, window=10.0)
    first = snapshot(families({"OK": 10, "INVALID_ARGUMENT": 0}, [100.0] * 10, [4]))
    second = snapshot(
        families({"OK": 28, "INVALID_ARGUMENT": 2}, [100.0] * 10 + [5000.0] * 18, [4, 8, 8])
    )
    with window._lock:
        window._snapshots.extend([(100.0, first), (102.0, second)])
    (point,) = window.document()["models"]["m"]
    assert point["t"] == 102.0
    assert point["requests"] == 20
    assert point["rps"] == pytest.approx(20 / 2.0)
    assert point["error_rate"] == pytest.approx(2 / 20)
    # Only the 18 new observations (all near 5 ms) count: both percentiles sit in their bucket.
    assert 3.5 < point["p50_ms"] <= 6.5  # the bucket (3570, 6427] µs
    assert 3.5 < point["p99_ms"] <= 6.5
    assert point["batch_size"] == pytest.approx(8.0)


def test_window_keeps_a_bounded_number_of_snapshots() -> None:
    window = MetricsWindow(interval=1.0, window=5.0)
    for t in range(50):
        window.sample(now=float(t))
    assert len(window._snapshots) == 6
    assert all(len(points) <= 5 for points in window.document()["models"].values())


def test_idle_interval_has_no_latency_or_batch_size() -> None:
    window = MetricsWindow(interval=2.0, window=10.0)
    same = snapshot(families({"OK": 3}, [50.0] * 3, [1]))
    with window._lock:
        window._snapshots.extend([(0.0, same), (2.0, same)])
    (point,) = window.document()["models"]["m"]
    assert point == {
        "t": 2.0, "requests": 0.0, "rps": 0.0, "error_rate": 0.0,
        "p50_ms": None, "p99_ms": None, "batch_size": None,
    }  # fmt: skip
