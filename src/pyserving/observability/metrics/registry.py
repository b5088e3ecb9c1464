"""The process's metric objects (prometheus-client's default registry), created once at import.

prometheus-client does the concurrent bookkeeping (and, with ``PROMETHEUS_MULTIPROC_DIR``, the
shared files of a multi-process server); :mod:`.exposition` renders what it collects in TF
Serving's format.

Multi-process mode: when ``PROMETHEUS_MULTIPROC_DIR`` names a directory in the environment of every
server process (set before the process starts: prometheus-client picks its value store at import),
each process writes its values to files there and :func:`collect` merges all processes' files, so
the page is the same whichever process serves it. Counters and histograms add up; gauges use each
spec's ``gauge_mode`` ("livesum" or "mostrecent"). The directory must be emptied before the server
starts, and a supervisor that replaces a dead worker should call
``prometheus_client.multiprocess.mark_process_dead(pid)``.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Sequence
from typing import Final

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

from pyserving.observability.metrics import deferred
from pyserving.observability.metrics import definitions as d
from pyserving.observability.metrics.definitions import MetricSpec

MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"

# prometheus-client's default registry, so code reading metrics the usual way (e.g. the
# ``metric_names`` of HandleReloadConfigRequest) finds these; the page renders only the metrics of
# :data:`~.definitions.ALL_SPECS`, not the default registry's process/platform collectors.
REGISTRY: Final = prometheus_client.REGISTRY
# Ahead of the metrics below: collecting the registry folds the deferred request observations
# into them first (see .deferred).
REGISTRY.register(deferred.FOLD_FIRST)


def _counter(spec: MetricSpec) -> Counter:
    assert spec.kind == "counter"
    return Counter(spec.exported, spec.doc, spec.labels, registry=REGISTRY)


def _gauge(spec: MetricSpec) -> Gauge:
    assert spec.kind == "gauge"
    return Gauge(
        spec.exported, spec.doc, spec.labels, registry=REGISTRY, multiprocess_mode=spec.gauge_mode
    )


def _histogram(spec: MetricSpec) -> Histogram:
    assert spec.kind == "histogram"
    return Histogram(spec.exported, spec.doc, spec.labels, registry=REGISTRY, buckets=spec.buckets)


REQUEST_COUNT: Final = _counter(d.REQUEST_COUNT)
REQUEST_LATENCY: Final = _histogram(d.REQUEST_LATENCY)
RUNTIME_LATENCY: Final = _histogram(d.RUNTIME_LATENCY)
EXAMPLE_COUNTS: Final = _histogram(d.EXAMPLE_COUNTS)
EXAMPLE_COUNT_TOTAL: Final = _counter(d.EXAMPLE_COUNT_TOTAL)
WARMUP_LATENCY: Final = _histogram(d.WARMUP_LATENCY)
WARMUP_RECORDS: Final = _counter(d.WARMUP_RECORDS)
REQUEST_LOG_COUNT: Final = _counter(d.REQUEST_LOG_COUNT)
QUEUING_LATENCY: Final = _histogram(d.QUEUING_LATENCY)
WRAPPED_RUN_COUNT: Final = _counter(d.WRAPPED_RUN_COUNT)
INPUT_BATCH_SIZE: Final = _histogram(d.INPUT_BATCH_SIZE)
PROCESSED_BATCH_SIZE: Final = _histogram(d.PROCESSED_BATCH_SIZE)
PADDING_SIZE: Final = _histogram(d.PADDING_SIZE)
LOAD_ATTEMPT_COUNT: Final = _counter(d.LOAD_ATTEMPT_COUNT)
LOAD_LATENCY: Final = _counter(d.LOAD_LATENCY)
IN_FLIGHT: Final = _gauge(d.IN_FLIGHT)
AUTH_FAILURES: Final = _counter(d.AUTH_FAILURES)
BATCH_QUEUE_DEPTH: Final = _gauge(d.BATCH_QUEUE_DEPTH)
BATCH_SIZE: Final = _histogram(d.BATCH_SIZE)
VERSION_STATE: Final = _gauge(d.VERSION_STATE)
VERSION_LOAD_SECONDS: Final = _gauge(d.VERSION_LOAD_SECONDS)
STORAGE_DOWNLOAD_BYTES: Final = _counter(d.STORAGE_DOWNLOAD_BYTES)
STORAGE_DOWNLOAD_SECONDS: Final = _counter(d.STORAGE_DOWNLOAD_SECONDS)
STORAGE_DOWNLOAD_FAILURES: Final = _counter(d.STORAGE_DOWNLOAD_FAILURES)
RESIDENT_MEMORY: Final = _gauge(d.RESIDENT_MEMORY)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def defer_recording() -> bool:
    """Whether request-path recorders may defer (:mod:`.deferred`): not in multi-process mode."""
    return multiprocess_dir() is None


def collect(only: Sequence[MetricWrapperBase] = ()) -> Iterable[Metric]:
    """Every metric family with its samples: this process's, or all processes' in multi-process
    mode (read fresh from the shared directory on each call). ``only``: a single process collects
    just these metrics (cheaper); in multi-process mode every family comes back anyway."""
    directory = multiprocess_dir()
    if directory is None:
        if only:
            deferred.fold_all()
            return itertools.chain.from_iterable(metric.collect() for metric in only)
        return REGISTRY.collect()
    merged = CollectorRegistry(auto_describe=False)
    MultiProcessCollector(merged, path=directory)  # type: ignore[no-untyped-call]
    return merged.collect()
