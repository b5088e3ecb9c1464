"""Every metric the server exports: TF Serving's (reference §7) and pyserving's own.

Each :class:`MetricSpec` names a metric the way TF Serving's registry does (``/tensorflow/...``);
the exported name replaces every character outside ``[a-zA-Z0-9_]`` with ``:``, as TF's Prometheus
exporter does. pyserving's own metrics are named ``pyserving_*`` (unchanged by that rule). The page
lists metrics in internal-name order (TF's exporter walks a sorted map).

Units follow TF Serving: latencies in microseconds, exponential buckets ``scale * growth**i``
(the exporter adds the overflow bucket as ``le="+Inf"``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

Kind = Literal["counter", "gauge", "histogram"]


def exponential_buckets(scale: float, growth: float, count: int) -> tuple[float, ...]:
    """TF's ``Buckets::Exponential``: ``count`` limits, each ``growth`` times the previous one
    (computed by repeated multiplication, as TF does, so the printed limits agree)."""
    limits: list[float] = []
    bound = float(scale)
    for _ in range(count):
        limits.append(bound)
        bound *= growth
    return tuple(limits)


#: Request, runtime and warmup latency (µs): 10 µs .. ~20 minutes.
LATENCY_BUCKETS: Final = exponential_buckets(10, 1.8, 33)
#: Batching queueing latency (µs): 100 µs .. ~1 s (TF's batching_session.cc).
QUEUING_BUCKETS: Final = exponential_buckets(100, 1.2, 52)
#: Examples per request and batch sizes: 1, 2, 4 .. 16384.
SIZE_BUCKETS: Final = exponential_buckets(1, 2, 15)

# prometheus-client gauge modes with PROMETHEUS_MULTIPROC_DIR: "livesum" adds the values of the
# live processes, "mostrecent" keeps the value written last by any process.
GaugeMode = Literal["livesum", "mostrecent"]


@dataclass(frozen=True, slots=True)
class MetricSpec:
    internal: str
    kind: Kind
    doc: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()
    gauge_mode: GaugeMode = "livesum"

    @property
    def exported(self) -> str:
        """The name on the page (TF's ``GetPrometheusMetricName``)."""
        name = re.sub(r"[^a-zA-Z0-9_]", ":", self.internal)
        return f"_{name}" if name[:1].isdigit() else name


_SERVING = "/tensorflow/serving/"
_BATCHING = _SERVING + "batching_session/"

REQUEST_COUNT: Final = MetricSpec(
    _SERVING + "request_count", "counter", "The total number of requests.",
    ("model_name", "status"),
)  # fmt: skip
REQUEST_LATENCY: Final = MetricSpec(
    _SERVING + "request_latency", "histogram",
    "Distribution of wall time (in microseconds) for Tensorflow Serving request.",
    ("model_name", "API", "entrypoint"), LATENCY_BUCKETS,
)  # fmt: skip
RUNTIME_LATENCY: Final = MetricSpec(
    _SERVING + "runtime_latency", "histogram",
    "Distribution of wall time (in microseconds) for Tensorflow runtime.",
    ("model_name", "API", "runtime"), LATENCY_BUCKETS,
)  # fmt: skip
EXAMPLE_COUNTS: Final = MetricSpec(
    _SERVING + "request_example_counts", "histogram",
    "The number of tensorflow.Examples per request.", ("model",), SIZE_BUCKETS,
)  # fmt: skip
EXAMPLE_COUNT_TOTAL: Final = MetricSpec(
    _SERVING + "request_example_count_total", "counter",
    "The total number of tensorflow.Examples.", ("model",),
)  # fmt: skip
WARMUP_LATENCY: Final = MetricSpec(
    _SERVING + "model_warmup_latency", "histogram",
    "Distribution of wall time (in microseconds) for warming up the model.",
    ("model_path", "status"), LATENCY_BUCKETS,
)  # fmt: skip
WARMUP_RECORDS: Final = MetricSpec(
    _SERVING + "model_warmup_records_read", "counter",
    "Warmup records replayed.", ("model_path", "status"),
)  # fmt: skip
REQUEST_LOG_COUNT: Final = MetricSpec(
    _SERVING + "request_log_count", "counter",
    "Requests sampled for request logging, by outcome (RESOURCE_EXHAUSTED = dropped).",
    ("model_name", "status_code"),
)  # fmt: skip
QUEUING_LATENCY: Final = MetricSpec(
    _BATCHING + "queuing_latency", "histogram",
    "Distribution of wall time spent (in microseconds) in queuing",
    ("thread_pool_name",), QUEUING_BUCKETS,
)  # fmt: skip
WRAPPED_RUN_COUNT: Final = MetricSpec(
    _BATCHING + "wrapped_run_count", "counter", "Total count of run calls on the wrapped session"
)
INPUT_BATCH_SIZE: Final = MetricSpec(
    _BATCHING + "input_batch_size", "histogram",
    "Tracks the batch size distribution on the inputs.", (), SIZE_BUCKETS,
)  # fmt: skip
PROCESSED_BATCH_SIZE: Final = MetricSpec(
    _BATCHING + "processed_batch_size", "histogram",
    "Tracks the batch size distribution on processing.", (), SIZE_BUCKETS,
)  # fmt: skip
PADDING_SIZE: Final = MetricSpec(
    _BATCHING + "padding_size", "histogram",
    "Tracks the padding size distribution on batches.", ("execution_batch_size",), SIZE_BUCKETS,
)  # fmt: skip
LOAD_ATTEMPT_COUNT: Final = MetricSpec(
    "/tensorflow/cc/saved_model/load_attempt_count", "counter",
    "SavedModel load attempts, by outcome (success, fail).", ("model_path", "status"),
)  # fmt: skip
LOAD_LATENCY: Final = MetricSpec(
    "/tensorflow/cc/saved_model/load_latency", "counter",
    "Latency in microseconds for SavedModels that were successfully loaded.", ("model_path",),
)  # fmt: skip

IN_FLIGHT: Final = MetricSpec(
    "pyserving_requests_in_flight", "gauge", "REST /v1 requests and RPCs being served now."
)
BATCH_QUEUE_DEPTH: Final = MetricSpec(
    "pyserving_batch_queue_depth", "gauge", "Requests waiting in the batch queues of a model.",
    ("model_name",),
)  # fmt: skip
BATCH_SIZE: Final = MetricSpec(
    "pyserving_batch_size", "histogram", "Rows per executed batch (after padding).",
    ("model_name",), SIZE_BUCKETS,
)  # fmt: skip
VERSION_STATE: Final = MetricSpec(
    "pyserving_model_version_state", "gauge",
    "State of a model version: 10 START, 20 LOADING, 30 AVAILABLE, 40 UNLOADING, 50 END.",
    ("model_name", "version"), gauge_mode="mostrecent",
)  # fmt: skip
VERSION_LOAD_SECONDS: Final = MetricSpec(
    "pyserving_model_version_load_seconds", "gauge",
    "Seconds from LOADING to AVAILABLE (retries and warmup included).",
    ("model_name", "version"), gauge_mode="mostrecent",
)  # fmt: skip
STORAGE_DOWNLOAD_BYTES: Final = MetricSpec(
    "pyserving_storage_download_bytes", "counter",
    "Bytes of model versions downloaded from object storage into the local cache.", ("scheme",),
)  # fmt: skip
STORAGE_DOWNLOAD_SECONDS: Final = MetricSpec(
    "pyserving_storage_download_seconds", "counter",
    "Seconds spent downloading model versions from object storage.", ("scheme",),
)  # fmt: skip
STORAGE_DOWNLOAD_FAILURES: Final = MetricSpec(
    "pyserving_storage_download_failures", "counter",
    "Failed or cancelled downloads of model versions from object storage.", ("scheme",),
)  # fmt: skip
AUTH_FAILURES: Final = MetricSpec(
    "pyserving_auth_failures_total", "counter",
    "Requests refused by the token check: reason missing, invalid or scope; protocol rest or grpc.",
    ("reason", "protocol"),
)  # fmt: skip
RESIDENT_MEMORY: Final = MetricSpec(
    "pyserving_process_resident_memory_bytes", "gauge", "Resident set size of the server."
)

ALL_SPECS: Final[tuple[MetricSpec, ...]] = tuple(
    sorted(
        (
            REQUEST_COUNT,
            REQUEST_LATENCY,
            RUNTIME_LATENCY,
            EXAMPLE_COUNTS,
            EXAMPLE_COUNT_TOTAL,
            WARMUP_LATENCY,
            WARMUP_RECORDS,
            REQUEST_LOG_COUNT,
            QUEUING_LATENCY,
            WRAPPED_RUN_COUNT,
            INPUT_BATCH_SIZE,
            PROCESSED_BATCH_SIZE,
            PADDING_SIZE,
            LOAD_ATTEMPT_COUNT,
            LOAD_LATENCY,
            IN_FLIGHT,
            AUTH_FAILURES,
            BATCH_QUEUE_DEPTH,
            BATCH_SIZE,
            VERSION_STATE,
            VERSION_LOAD_SECONDS,
            STORAGE_DOWNLOAD_BYTES,
            STORAGE_DOWNLOAD_SECONDS,
            STORAGE_DOWNLOAD_FAILURES,
            RESIDENT_MEMORY,
        ),
        key=lambda spec: spec.internal,
    )
)
