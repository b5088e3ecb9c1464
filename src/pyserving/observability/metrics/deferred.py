"""Request-path recording that costs a list append: observations wait in the recorder and are
folded into prometheus-client's value cells (:mod:`.cells`) before anything reads the metrics.

Every read goes through :func:`fold_all` first: :data:`FOLD_FIRST` is registered in the registry
ahead of the metrics (``REGISTRY.collect()``, hence ``get_sample_value``, the page and the
console, fold before the first family is produced), and :func:`.registry.collect` calls it too. So
a reader sees exactly what it would see had every request written its cells itself. A recorder
also folds itself when :data:`FOLD_AT` observations are waiting, which bounds its memory when
nothing reads.

Writers (the ``record``/``begin``/``end`` methods) run on one thread, the event loop's; folds run
on any thread, one at a time (:data:`_fold_lock`). A fold takes the first ``n`` waiting
observations and deletes exactly those (``del values[:n]``), so an append racing with it is kept
for the next fold. Multi-process mode needs no deferral: a page rendered by another process could
not fold this one's observations, so there the recorders are made with ``defer=False`` and write
their cells at once.

Sums stay the very values per-observation recording leaves: integer amounts (latencies in µs,
sizes) are summed in one add, which is exact; float amounts (queuing times) are added one by one,
in order.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import Counter as Tally
from functools import partial
from typing import Final

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.metrics_core import Metric

from pyserving.observability.metrics import cells

#: Waiting observations at which a recorder folds itself.
FOLD_AT: Final = 512

_fold_lock = threading.Lock()
# Kept for the life of the process (a recorder dropped with waiting observations would lose them);
# they are few: one per series and per server component.
_recorders: list[Deferred] = []


def register(recorder: Deferred) -> None:
    """Fold ``recorder`` whenever the metrics are read (from now on, for good)."""
    with _fold_lock:
        _recorders.append(recorder)


def fold_all() -> None:
    """Write every recorder's waiting observations into their cells."""
    with _fold_lock:
        for recorder in _recorders:
            recorder.fold_locked()


class _FoldFirst:
    """A collector producing no metric: collecting it folds every recorder (see module doc)."""

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> list[Metric]:
        fold_all()
        return []


FOLD_FIRST: Final = _FoldFirst()


class Deferred:
    """A recorder whose waiting observations :func:`fold_all` writes (registered when it defers)."""

    __slots__ = ()

    def fold_locked(self) -> None:
        raise NotImplementedError

    def fold(self) -> None:
        with _fold_lock:
            self.fold_locked()


class ObserveMany:
    """Observes a list of amounts in one histogram child: the buckets counted in C
    (:class:`collections.Counter` over :func:`bisect.bisect_left`), one ``inc`` per bucket hit.
    ``integral`` (every amount an int): the sum gets one ``inc``, exact; else one per amount, in
    order, which leaves the float prometheus-client's own ``observe`` calls would."""

    __slots__ = ("_bucket_incs", "_index", "_integral", "_observe", "_sum")

    def __init__(self, histogram: Histogram, *, integral: bool) -> None:
        self._integral = integral
        self._observe = cells.observer(histogram)
        layout = cells.histogram_cells(histogram)
        self._index: partial[int] | None = None
        self._bucket_incs: tuple[cells.Add, ...] = ()
        self._sum: cells.Add | None = None
        if layout is not None:
            limits, self._bucket_incs, self._sum = layout
            self._index = partial(bisect_left, limits)

    def __call__(self, amounts: list[int] | list[float]) -> None:
        if self._index is None or self._sum is None:
            for amount in amounts:
                self._observe(amount)
            return
        for index, hits in Tally(map(self._index, amounts)).items():
            self._bucket_incs[index](hits)
        if self._integral:
            self._sum(sum(amounts))
        else:
            for amount in amounts:
                self._sum(amount)


class Outcomes(Deferred):
    """Requests of one series: :meth:`record` (``amount`` an int) adds one to ``count`` (if any)
    and observes ``amount`` in ``histogram`` (if any)."""

    __slots__ = ("_count", "_defer", "_many", "_observe", "_values")

    def __init__(self, count: Counter | None, histogram: Histogram | None, *, defer: bool) -> None:
        self._defer = defer
        self._values: list[int] = []
        self._count = cells.adder(count) if count is not None else None
        self._observe = cells.observer(histogram) if histogram is not None else None
        self._many = ObserveMany(histogram, integral=True) if histogram is not None else None
        if defer:
            register(self)

    def record(self, amount: int) -> None:
        if self._defer:
            values = self._values
            values.append(amount)
            if len(values) >= FOLD_AT:
                self.fold()
            return
        if self._count is not None:
            self._count(1)
        if self._observe is not None:
            self._observe(amount)

    def fold_locked(self) -> None:
        values = self._values
        n = len(values)
        if not n:
            return
        taken = values[:n]
        del values[:n]
        if self._count is not None:
            self._count(n)
        if self._many is not None:
            self._many(taken)


class InFlight(Deferred):
    """A gauge of what has begun and not ended: :meth:`begin` / :meth:`end` count, a fold adds the
    change since the previous fold to the gauge (other writers of the gauge keep theirs)."""

    __slots__ = ("_add", "_defer", "_reported", "begun", "ended")

    def __init__(self, gauge: Gauge, *, defer: bool) -> None:
        self._add = cells.adder(gauge)
        self._defer = defer
        self.begun = 0
        self.ended = 0
        self._reported = 0
        if defer:
            register(self)

    def begin(self) -> None:
        if self._defer:
            self.begun += 1
        else:
            self._add(1)

    def end(self) -> None:
        if self._defer:
            self.ended += 1
        else:
            self._add(-1)

    def fold_locked(self) -> None:
        ended = self.ended  # read first: a request ending in between is counted at the next fold
        current = self.begun - ended
        if current != self._reported:
            self._add(current - self._reported)
            self._reported = current
