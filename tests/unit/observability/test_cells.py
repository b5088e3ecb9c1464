"""Direct value-cell recording (metrics.cells) agrees with prometheus-client's own methods."""

from __future__ import annotations

import math

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from pyserving.observability.metrics import cells
from pyserving.observability.metrics.definitions import LATENCY_BUCKETS


def _samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in registry.collect()
        for s in family.samples
        if not s.name.endswith("_created")
    }


def test_histogram_cells_fill_the_same_buckets_and_sum_as_observe() -> None:
    amounts = [0, -3, 1, 10, 10.0000001, 18, 17.99, 32.4, 5e5, 1.27475e6, 1e12, math.inf]
    amounts += [bound for bound in LATENCY_BUCKETS]
    pages = []
    for fast in (False, True):
        registry = CollectorRegistry()
        histogram = Histogram("h", "", ["m"], registry=registry, buckets=LATENCY_BUCKETS)
        child = histogram.labels("x")
        observe = cells.observer(child) if fast else child.observe
        for amount in amounts:
            observe(amount)
        pages.append(_samples(registry))
    assert pages[0] == pages[1]
    assert pages[1][("h_count", (("m", "x"),))] == len(amounts)


def test_counter_and_gauge_cells_add_like_inc() -> None:
    registry = CollectorRegistry()
    counter = Counter("c", "", ["m"], registry=registry)
    gauge = Gauge("g", "", registry=registry)
    add, move = cells.adder(counter.labels("x")), cells.adder(gauge)
    for _ in range(3):
        add(2)
        move(1)
    move(-1)
    assert registry.get_sample_value("c_total", {"m": "x"}) == 6
    assert registry.get_sample_value("g") == 2


def test_the_installed_prometheus_client_gets_the_direct_path() -> None:
    """A prometheus-client whose children lack the cells would fall back to the public methods
    (correct, but slow again): this says so when an upgrade changes the layout."""
    registry = CollectorRegistry()
    child = Histogram("h", "", ["m"], registry=registry, buckets=(1.0, 2.0)).labels("x")
    counter = Counter("c", "", registry=registry)
    assert cells.observer(child) != child.observe
    assert cells.adder(counter) != counter.inc


class _Opaque:
    """A metric child without prometheus-client's cells."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []

    def inc(self, amount: float = 1) -> None:
        self.calls.append(("inc", amount))

    def observe(self, amount: float) -> None:
        self.calls.append(("observe", amount))


def test_children_without_cells_are_recorded_through_their_methods() -> None:
    child = _Opaque()
    cells.adder(child)(3)  # type: ignore[arg-type]
    cells.observer(child)(7)  # type: ignore[arg-type]
    assert child.calls == [("inc", 3), ("observe", 7)]


def test_mostrecent_gauges_keep_their_own_set_path() -> None:
    gauge = Gauge("g", "", registry=CollectorRegistry(), multiprocess_mode="mostrecent")
    assert cells.adder(gauge) == gauge.inc
