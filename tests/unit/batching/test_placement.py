"""Where batches run: probed on threads, then on the loop; slow models never settle inline."""

from __future__ import annotations

from pyserving.batching.placement import PROBE_RUNS, SLOW_STREAK, Placement

T = 20e-6


def feed(placement: Placement, seconds: float, runs: int) -> None:
    for _ in range(runs):
        placement.record(seconds, placement.inline)


def test_a_fast_model_is_probed_on_the_loop_then_runs_there() -> None:
    placement = Placement(T)
    feed(placement, 50e-6, PROBE_RUNS)  # thread measurements overstate: < 10 x T is plausible
    assert placement.inline  # now probing on the loop
    feed(placement, 5e-6, PROBE_RUNS)
    assert placement.inline


def test_a_slow_model_never_touches_the_loop() -> None:
    placement = Placement(T)
    feed(placement, 10 * T, PROBE_RUNS)
    assert not placement.inline
    feed(placement, 1e-6, 10 * PROBE_RUNS)  # settled for good
    assert not placement.inline


def test_loop_probes_decide() -> None:
    placement = Placement(T)
    feed(placement, 50e-6, PROBE_RUNS)
    feed(placement, 30e-6, PROBE_RUNS)  # accurate on the loop, and too slow
    assert not placement.inline


def test_an_inline_queue_that_slows_down_goes_back_to_threads() -> None:
    placement = Placement(T)
    feed(placement, 5e-6, 2 * PROBE_RUNS)
    assert placement.inline
    feed(placement, 5 * T, SLOW_STREAK - 1)
    placement.record(1e-6, True)  # the streak is broken
    feed(placement, 5 * T, SLOW_STREAK - 1)
    assert placement.inline
    feed(placement, 5 * T, 1)
    assert not placement.inline


def test_stale_measurements_are_ignored_and_zero_threshold_disables() -> None:
    placement = Placement(T)
    feed(placement, 50e-6, PROBE_RUNS)
    placement.record(1.0, False)  # a batch handed to a thread before the switch
    feed(placement, 5e-6, PROBE_RUNS)
    assert placement.inline
    disabled = Placement(0.0)
    feed(disabled, 1e-9, 3 * PROBE_RUNS)
    assert not disabled.inline
