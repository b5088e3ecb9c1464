"""``ReloadConfigRequest.metric_names``: how much int64 metrics grew across a reload.

TF Serving reads its own metric registry by TF metric name (``/tensorflow/serving/...``).
pyserving's metrics live in prometheus_client's default ``REGISTRY`` under TF Serving's
Prometheus names (``:tensorflow:serving:...``: the TF name with ``/`` replaced by ``:``); a name
may be given in either form. A metric's value is the sum of its samples over all label values
(a counter's ``_total`` samples, a gauge's value). A name that is not registered reads as 0, so
its increase is 0: metrics are registered by the observability code as it grows, and asking for
one it does not (yet) export is not an error, as in TF Serving.
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import REGISTRY, CollectorRegistry


def prometheus_name(name: str) -> str:
    """``/tensorflow/serving/x`` -> ``:tensorflow:serving:x``; other names are kept."""
    return name.replace("/", ":")


def metric_values(names: Sequence[str], registry: CollectorRegistry = REGISTRY) -> dict[str, int]:
    """Current value of each metric in ``names`` (duplicates collapse), 0 when unknown."""
    values = dict.fromkeys(names, 0)
    if not values:
        return values
    wanted: dict[str, list[str]] = {}
    for name in values:
        wanted.setdefault(prometheus_name(name), []).append(name)
    for family in registry.collect():
        asked = wanted.get(family.name, []) + wanted.get(f"{family.name}_total", [])
        if not asked:
            continue
        counted = {family.name, f"{family.name}_total"}
        total = sum(s.value for s in family.samples if s.name in counted)
        for name in asked:
            values[name] = round(total)
    return values
