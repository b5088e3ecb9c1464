"""Deferred request recording (metrics.deferred): folded values equal direct recording, reads of
the registry fold first, memory stays bounded, and no observation is lost to a concurrent fold."""

from __future__ import annotations

import sys
import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from pyserving.observability.metrics import deferred
from pyserving.observability.metrics import registry as m
from pyserving.observability.metrics.definitions import LATENCY_BUCKETS

AMOUNTS = [0, 1, 10, 11, 18, 19, 612, 5_000, 10**6, 10**10, 10]


def _pair(registry: CollectorRegistry) -> tuple[Counter, Histogram]:
    count = Counter("c", "", ["m"], registry=registry)
    latency = Histogram("h", "", ["m"], registry=registry, buckets=LATENCY_BUCKETS)
    return count, latency


def _values(registry: CollectorRegistry) -> dict[tuple[str, str], float]:
    return {
        (s.name, s.labels.get("le", "")): s.value
        for family in registry.collect()
        for s in family.samples
        if not s.name.endswith("_created")
    }


def test_folded_observations_equal_direct_ones() -> None:
    pages = []
    for defer in (False, True):
        registry = CollectorRegistry()
        count, latency = _pair(registry)
        outcomes = deferred.Outcomes(count.labels("x"), latency.labels("x"), defer=defer)
        for amount in AMOUNTS:
            outcomes.record(amount)
        if defer:
            assert registry.get_sample_value("c_total", {"m": "x"}) == 0  # waiting
            deferred.fold_all()
        pages.append(_values(registry))
    assert pages[0] == pages[1]
    assert pages[1][("c_total", "")] == len(AMOUNTS)
    assert pages[1][("h_sum", "")] == sum(AMOUNTS)


def test_reading_the_server_registry_folds_first() -> None:
    child = m.REQUEST_COUNT.labels("deferred_read", "OK")
    outcomes = deferred.Outcomes(child, None, defer=True)
    outcomes.record(5)
    outcomes.record(7)
    labels = {"model_name": "deferred_read", "status": "OK"}
    assert m.REGISTRY.get_sample_value(":tensorflow:serving:request_count_total", labels) == 2


def test_a_recorder_folds_itself_when_many_observations_wait() -> None:
    registry = CollectorRegistry()
    count, latency = _pair(registry)
    outcomes = deferred.Outcomes(count.labels("x"), latency.labels("x"), defer=True)
    for _ in range(deferred.FOLD_AT - 1):
        outcomes.record(1)
    assert registry.get_sample_value("c_total", {"m": "x"}) == 0
    outcomes.record(1)
    assert registry.get_sample_value("c_total", {"m": "x"}) == deferred.FOLD_AT


def test_in_flight_adds_its_change_to_a_shared_gauge() -> None:
    gauge = Gauge("g", "", registry=(registry := CollectorRegistry()))
    first = deferred.InFlight(gauge, defer=True)
    second = deferred.InFlight(gauge, defer=False)
    first.begin()
    first.begin()
    second.begin()
    assert registry.get_sample_value("g") == 1  # the direct one at once
    deferred.fold_all()
    assert registry.get_sample_value("g") == 3
    first.end()
    second.end()
    deferred.fold_all()
    assert registry.get_sample_value("g") == 1


def test_no_observation_is_lost_to_folds_on_another_thread() -> None:
    registry = CollectorRegistry()
    count, latency = _pair(registry)
    outcomes = deferred.Outcomes(count.labels("x"), latency.labels("x"), defer=True)
    done = threading.Event()

    def fold_repeatedly() -> None:
        while not done.is_set():
            deferred.fold_all()

    folder = threading.Thread(target=fold_repeatedly)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns often, inside folds too
    folder.start()
    total = 100_000
    try:
        for i in range(total):
            outcomes.record(i % 100)
    finally:
        done.set()
        folder.join()
        sys.setswitchinterval(switch)
    deferred.fold_all()
    assert registry.get_sample_value("c_total", {"m": "x"}) == total
    assert registry.get_sample_value("h_count", {"m": "x"}) == total
    assert registry.get_sample_value("h_sum", {"m": "x"}) == sum(i % 100 for i in range(total))


def _batch_samples(model: str, pool: str) -> dict[str, float]:
    """The batch metrics' samples of ``model`` / ``pool`` and the unlabelled ones, keyed without
    the model and pool names."""
    found: dict[str, float] = {}
    for family in m.REGISTRY.collect():
        for s in family.samples:
            labels = dict(s.labels)
            if (
                labels.pop("model_name", model) != model
                or labels.pop("thread_pool_name", pool) != pool
            ):
                continue
            if s.name.endswith("_created") or not (
                "batching_session" in s.name or s.name.startswith("pyserving_batch")
            ):
                continue
            found[s.name + str(sorted(labels.items()))] = s.value
    return found


def test_deferred_batches_record_what_record_batch_does() -> None:
    from pyserving.batching.observer import BatchStats
    from pyserving.observability.metrics import recorders
    from pyserving.observability.metrics.batches import BatchRecorder

    batches = [((2, 1), (0.0011, 0.0000213), 4, 3), ((5,), (0.3,), 8, 0), ((1, 1, 1), (), 4, 7)]
    changes = []
    for path in ("direct", "deferred"):
        model, pool = f"batches_{path}", f"pool_{path}"
        before = _batch_samples(model, pool)
        recorder = BatchRecorder()
        for sizes, waits, processed, queued in batches:
            if path == "direct":
                recorders.record_batch(
                    model_name=model,
                    thread_pool_name=pool,
                    input_size=sum(sizes),
                    processed_size=processed,
                    queuing_micros=[seconds * 1e6 for seconds in waits],
                )
                recorders.set_batch_queue_depth(model, queued)
            else:
                recorder.record(BatchStats(model, pool, sizes, waits, processed, 0, 0.0, queued))
        after = _batch_samples(model, pool)
        changes.append({k: v - before.get(k, 0.0) for k, v in after.items()})
    assert changes[0] == changes[1]
    assert any(v for k, v in changes[1].items() if "queuing_latency_sum" in k)
