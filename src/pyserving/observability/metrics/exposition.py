"""TF Serving's Prometheus page (``util/prometheus_exporter.cc``), rendered from collected samples.

prometheus-client's own exposition would add ``# HELP`` lines, ``_total``/``_created`` series and
Python-style numbers; dashboards built for TF Serving expect its format instead:

* per metric, in internal-name order, ``# TYPE <name> counter|gauge|histogram`` (no ``# HELP``),
  also for a metric without points;
* scalars ``name{k="v",...} <value>`` (``name{}`` without labels), labels in declaration order;
  a point exists once recorded: an unlabelled counter or histogram still at zero prints none (TF
  creates cells on first use; prometheus-client creates unlabelled ones up front);
* histograms: one ``name_bucket{...,le="<limit>"} <cumulative count>`` per limit, limits printed
  like C's ``%.6g`` (``10``, ``18``, ``32.4``, ``1.27475e+06``), the last one ``le="+Inf"``, then
  ``name_sum{...}`` and ``name_count{...}``;
* label values escape ``\\`` and ``"`` (and newline, which TF leaves raw and would break the page);
* lines end with ``\\n``.

Numbers: TF prints scalars as integers and ``_sum`` with 6 significant digits; pyserving prints
integral values as integers (so TF's metrics look the same) and others exactly (``_sum`` above one
million, pyserving's gauges such as seconds), which is the same text wherever TF's is exact.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from prometheus_client.metrics_core import Metric
from prometheus_client.samples import Sample

from pyserving.observability.metrics.definitions import ALL_SPECS, MetricSpec

CONTENT_TYPE = b"text/plain"


def family_name(spec: MetricSpec) -> str:
    """The family name prometheus-client reports (it drops a counter's ``_total`` suffix)."""
    name = spec.exported
    if spec.kind == "counter" and name.endswith("_total"):
        return name[: -len("_total")]
    return name


def render(families: Iterable[Metric], specs: Sequence[MetricSpec] = ALL_SPECS) -> bytes:
    """The page for ``specs`` (in that order) with the samples found in ``families``."""
    collected = {family.name: family for family in families}
    lines: list[str] = []
    for spec in specs:
        name = spec.exported
        lines.append(f"# TYPE {name} {spec.kind}")
        family = collected.get(family_name(spec))
        if family is None:
            continue
        if spec.kind == "histogram":
            _histogram(name, spec.labels, family.samples, lines)
        else:
            _scalars(name, family.name, spec, family.samples, lines)
    lines.append("")
    return "\n".join(lines).encode()


def _scalars(
    name: str, family: str, spec: MetricSpec, samples: Sequence[Sample], lines: list[str]
) -> None:
    value_names = (family, family + "_total")  # gauges, counters (not ``_created``)
    unrecorded = spec.kind == "counter" and not spec.labels
    for sample in samples:
        if sample.name in value_names and not (unrecorded and sample.value == 0):
            lines.append(f"{name}{{{_labels(spec.labels, sample.labels)}}} {_number(sample.value)}")


class _Points:
    __slots__ = ("buckets", "total")

    def __init__(self) -> None:
        self.buckets: list[tuple[float, float]] = []
        self.total = 0.0


def _histogram(
    name: str, labels: Sequence[str], samples: Sequence[Sample], lines: list[str]
) -> None:
    points: dict[
        str, _Points
    ] = {}  # rendered label text -> that child's points, in first-seen order
    for sample in samples:
        key = _labels(labels, sample.labels)
        point = points.get(key)
        if point is None:
            point = points[key] = _Points()
        if sample.name.endswith("_bucket"):
            point.buckets.append((float(sample.labels["le"]), sample.value))
        elif sample.name.endswith("_sum"):
            point.total = sample.value
    for key, point in points.items():
        if not labels and not any(count for _, count in point.buckets):
            continue  # an unlabelled histogram nothing was recorded in
        prefix = f'{name}_bucket{{{key}{"," if key else ""}le="'
        count = 0
        for limit, cumulative in sorted(point.buckets):
            count = int(cumulative)
            lines.append(f'{prefix}{_limit(limit)}"}} {count}')
        lines.append(f"{name}_sum{{{key}}} {_number(point.total)}")
        lines.append(f"{name}_count{{{key}}} {count}")


def _labels(names: Sequence[str], values: dict[str, str]) -> str:
    return ",".join(f'{label}="{_escape(values.get(label, ""))}"' for label in names)


def _escape(value: str) -> str:
    if "\\" in value or '"' in value or "\n" in value:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return value


def _limit(limit: float) -> str:
    return "+Inf" if math.isinf(limit) else f"{limit:.6g}"


def _number(value: float) -> str:
    if value.is_integer() and abs(value) < 2**63:
        return str(int(value))
    return repr(value)
