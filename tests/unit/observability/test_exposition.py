"""TF Serving's Prometheus page format (reference §7), rendered from prometheus-client samples."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.parser import text_string_to_metric_families

from pyserving.observability.metrics.definitions import (
    ALL_SPECS,
    LATENCY_BUCKETS,
    MetricSpec,
    exponential_buckets,
)
from pyserving.observability.metrics.exposition import render

COUNT = MetricSpec("/tensorflow/serving/request_count", "counter", "", ("model_name", "status"))
TOTAL = MetricSpec("/t/example_count_total", "counter", "", ("model",))
PLAIN = MetricSpec("/t/plain-runs", "counter", "")
LATENCY = MetricSpec("/t/latency", "histogram", "", ("model_name", "API"), (10.0, 18.0, 32.4))
SIZES = MetricSpec("/t/sizes", "histogram", "", (), (1.0, 2.0))
DEPTH = MetricSpec("pyserving_depth", "gauge", "")
SPECS = tuple(sorted((COUNT, TOTAL, PLAIN, LATENCY, SIZES, DEPTH), key=lambda s: s.internal))


def _registry() -> tuple[CollectorRegistry, Counter, Counter, Counter, Histogram, Histogram, Gauge]:
    registry = CollectorRegistry()
    count = Counter(COUNT.exported, "x", COUNT.labels, registry=registry)
    total = Counter(TOTAL.exported, "x", TOTAL.labels, registry=registry)
    plain = Counter(PLAIN.exported, "x", registry=registry)
    latency = Histogram(
        LATENCY.exported, "x", LATENCY.labels, buckets=LATENCY.buckets, registry=registry
    )
    sizes = Histogram(SIZES.exported, "x", buckets=SIZES.buckets, registry=registry)
    depth = Gauge(DEPTH.exported, "x", registry=registry)
    return registry, count, total, plain, latency, sizes, depth


def test_names_follow_tf_exporter() -> None:
    assert COUNT.exported == ":tensorflow:serving:request_count"
    assert PLAIN.exported == ":t:plain:runs"
    assert MetricSpec("9lives", "gauge", "").exported == "_9lives"


def test_latency_buckets_are_tf_exponential_buckets() -> None:
    assert len(LATENCY_BUCKETS) == 33
    assert LATENCY_BUCKETS[:3] == (10.0, 18.0, 32.4)
    assert exponential_buckets(1, 2, 4) == (1.0, 2.0, 4.0, 8.0)


def test_exact_page() -> None:
    registry, count, total, plain, latency, sizes, depth = _registry()
    count.labels("half", "OK").inc(3)
    count.labels('we"ird\\name', "NOT_FOUND").inc()
    total.labels("half").inc(5)
    latency.labels("half", "predict").observe(12)
    latency.labels("half", "predict").observe(1000)
    depth.set(2)
    page = render(registry.collect(), SPECS).decode()
    assert page == textwrap.dedent(
        """\
        # TYPE :t:example_count_total counter
        :t:example_count_total{model="half"} 5
        # TYPE :t:latency histogram
        :t:latency_bucket{model_name="half",API="predict",le="10"} 0
        :t:latency_bucket{model_name="half",API="predict",le="18"} 1
        :t:latency_bucket{model_name="half",API="predict",le="32.4"} 1
        :t:latency_bucket{model_name="half",API="predict",le="+Inf"} 2
        :t:latency_sum{model_name="half",API="predict"} 1012
        :t:latency_count{model_name="half",API="predict"} 2
        # TYPE :t:plain:runs counter
        # TYPE :t:sizes histogram
        # TYPE :tensorflow:serving:request_count counter
        :tensorflow:serving:request_count{model_name="half",status="OK"} 3
        :tensorflow:serving:request_count{model_name="we\\"ird\\\\name",status="NOT_FOUND"} 1
        # TYPE pyserving_depth gauge
        pyserving_depth{} 2
        """
    )
    # Unlabelled counters and histograms get their point once recorded.
    plain.inc()
    sizes.observe(2)
    page = render(registry.collect(), SPECS).decode()
    assert ":t:plain:runs{} 1\n" in page
    assert ':t:sizes_bucket{le="1"} 0\n:t:sizes_bucket{le="2"} 1\n' in page
    assert ':t:sizes_bucket{le="+Inf"} 1\n:t:sizes_sum{} 2\n:t:sizes_count{} 1\n' in page


def test_limits_print_like_c_six_digits_and_sums_exactly() -> None:
    spec = MetricSpec("/t/us", "histogram", "", (), LATENCY_BUCKETS)
    registry = CollectorRegistry()
    histogram = Histogram(spec.exported, "x", buckets=spec.buckets, registry=registry)
    histogram.observe(123_456_789)
    lines = render(registry.collect(), [spec]).decode().splitlines()
    limits = [line.split('le="')[1].split('"')[0] for line in lines if "_bucket" in line]
    assert limits[:9] == ["10", "18", "32.4", "58.32", "104.976", "188.957", "340.122", "612.22",
                          "1102"]  # fmt: skip
    assert limits[20] == "1.27482e+06"  # 10 * 1.8**20
    assert limits[-1] == "+Inf" and len(limits) == 34
    assert ":t:us_sum{} 123456789" in lines


def test_page_parses_as_prometheus_text() -> None:
    registry, count, _, _, latency, _, _ = _registry()
    count.labels("a", "OK").inc(2)
    latency.labels("a", "regress").observe(50)
    families = {
        f.name: f
        for f in text_string_to_metric_families(render(registry.collect(), SPECS).decode())
    }
    counted = families[":tensorflow:serving:request_count"]
    assert counted.type == "counter"
    assert [(s.labels, s.value) for s in counted.samples] == [
        ({"model_name": "a", "status": "OK"}, 2)
    ]
    histogram = families[":t:latency"]
    assert histogram.type == "histogram"
    assert {s.name for s in histogram.samples} == {
        ":t:latency_bucket", ":t:latency_sum", ":t:latency_count"
    }  # fmt: skip


def test_every_server_metric_is_listed_once_in_internal_name_order() -> None:
    internal = [spec.internal for spec in ALL_SPECS]
    assert internal == sorted(internal)
    assert len({spec.exported for spec in ALL_SPECS}) == len(ALL_SPECS)


_RECORD = """
import sys
from pyserving.observability.metrics import record_batch, set_batch_queue_depth
from pyserving.observability.metrics import registry as m
m.REQUEST_COUNT.labels("mp", "OK").inc(int(sys.argv[1]))
m.REQUEST_LATENCY.labels("mp", "predict", "REST").observe(100)
set_batch_queue_depth("mp", int(sys.argv[1]))
record_batch(model_name="mp", thread_pool_name="pool", input_size=3, processed_size=4,
             queuing_micros=[150.0])
"""


def test_multiprocess_mode_merges_every_process(tmp_path: Path) -> None:
    """With PROMETHEUS_MULTIPROC_DIR, a page rendered by any process adds up all processes."""
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    for increment in ("2", "5"):
        subprocess.run([sys.executable, "-c", _RECORD, increment], env=env, check=True)
    render_script = "from pyserving.observability.metrics import render_page; import sys; " \
        "sys.stdout.write(render_page().decode())"  # fmt: skip
    page = subprocess.run(
        [sys.executable, "-c", render_script], env=env, check=True, capture_output=True, text=True
    ).stdout
    assert ':tensorflow:serving:request_count{model_name="mp",status="OK"} 7\n' in page
    assert (
        ':tensorflow:serving:request_latency_count{model_name="mp",API="predict",entrypoint="REST"}'
        " 2\n" in page
    )
    assert ":tensorflow:serving:batching_session:wrapped_run_count{} 2\n" in page
    assert (
        ':tensorflow:serving:batching_session:padding_size_sum{execution_batch_size="4"} 2\n'
        in page
    )
    assert "pyserving_process_resident_memory_bytes{} " in page
    # "livesum" gauges add up the processes not marked dead (mark_process_dead is the
    # supervisor's job), so both writers count here.
    assert 'pyserving_batch_queue_depth{model_name="mp"} 7\n' in page
