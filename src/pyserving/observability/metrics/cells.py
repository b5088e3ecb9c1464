"""Cheap recording into prometheus-client metric children, for paths that run per request.

prometheus-client's ``Counter.inc`` and ``Histogram.observe`` check their arguments and state on
every call, and ``observe`` finds its bucket by a Python loop over the limits (34 limits for the
latency histograms); ``.labels(...)`` builds and hashes the label tuple under a lock. Together they
cost more than a fifth of a small model's request. The functions here take a child once (after
``.labels(...)``) and return a callable that updates the child's own value cells directly:

* :func:`adder` (counter or gauge): ``add(amount)``, the cell's ``inc``;
* :func:`observer` (histogram): ``observe(amount)``, the bucket found by :func:`bisect.bisect_left`
  in the limits (the first limit ``>= amount``, as prometheus-client's loop), then bucket and sum.

The cells are prometheus-client's own (a locked float, or the shared file in multi-process mode),
so every reader (the page, the console, ``REGISTRY.get_sample_value``) sees the values at once and
they stay safe from any thread. Contracts kept by the callers: counter amounts are ``>= 0``
(gauges take any), observed amounts are never NaN. When a child lacks the cells this relies on
(another prometheus-client layout), the returned callable is the child's public method.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

Add = Callable[[float], None]
Observe = Callable[[float], None]


def adder(child: Counter | Gauge) -> Add:
    """``add(amount)`` for a counter child (``amount >= 0``) or an unlabelled / labelled gauge
    child of a summing mode (not ``mostrecent``, which keeps a timestamp)."""
    cell_inc = _cell_inc(getattr(child, "_value", None))
    if cell_inc is None or getattr(child, "_is_most_recent", False):
        return child.inc
    return cell_inc


def observer(child: Histogram) -> Observe:
    """``observe(amount)`` for a histogram child (``amount`` not NaN)."""
    layout = histogram_cells(child)
    if layout is None:
        return child.observe
    limits, incs, sum_inc = layout

    def observe(amount: float) -> None:
        # The last limit is +Inf: every amount but NaN has a bucket.
        incs[bisect_left(limits, amount)](1)
        sum_inc(amount)

    return observe


def histogram_cells(child: Histogram) -> tuple[tuple[float, ...], tuple[Add, ...], Add] | None:
    """A histogram child's limits (the last one +Inf), the ``inc`` of the bucket under each limit
    (not cumulative) and of the sum; None when the child lacks those cells."""
    bounds: Any = getattr(child, "_upper_bounds", None)
    buckets: Any = getattr(child, "_buckets", None)
    sum_inc = _cell_inc(getattr(child, "_sum", None))
    if not isinstance(bounds, list) or not isinstance(buckets, list) or sum_inc is None:
        return None
    bucket_incs = [_cell_inc(bucket) for bucket in buckets]
    if len(bucket_incs) != len(bounds) or any(inc is None for inc in bucket_incs):
        return None
    limits = tuple(float(bound) for bound in bounds)
    return limits, tuple(inc for inc in bucket_incs if inc is not None), sum_inc


def _cell_inc(cell: object) -> Add | None:
    inc = getattr(cell, "inc", None)
    return inc if callable(inc) else None
