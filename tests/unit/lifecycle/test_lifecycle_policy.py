"""The availability-preserving policy, as a table: snapshots in, one action (or None) out."""

from __future__ import annotations

import pytest

from pyserving.lifecycle.policy import Action, ActionKind, VersionSnapshot, next_action
from pyserving.lifecycle.state import ServableState

S = ServableState
LOAD, UNLOAD = ActionKind.LOAD, ActionKind.UNLOAD


def snap(version: int, state: ServableState, aspired: bool = True) -> VersionSnapshot:
    return VersionSnapshot(version, state, aspired)


CASES: list[tuple[str, list[VersionSnapshot], Action | None]] = [
    ("nothing known: nothing to do", [], None),
    ("a new aspired version is loaded", [snap(1, S.START)], Action(LOAD, 1)),
    (
        "several new versions: the highest loads first",
        [snap(1, S.START), snap(3, S.START), snap(2, S.START)],
        Action(LOAD, 3),
    ),
    ("a loading version needs nothing", [snap(1, S.LOADING)], None),
    ("an available aspired version needs nothing", [snap(1, S.AVAILABLE)], None),
    (
        "swap: the old version serves while the new one is not yet loaded",
        [snap(1, S.AVAILABLE, aspired=False), snap(2, S.START)],
        Action(LOAD, 2),
    ),
    (
        "swap: the old version is kept while the new one loads",
        [snap(1, S.AVAILABLE, aspired=False), snap(2, S.LOADING)],
        None,
    ),
    (
        "swap: once the new version is available the old one unloads",
        [snap(1, S.AVAILABLE, aspired=False), snap(2, S.AVAILABLE)],
        Action(UNLOAD, 1),
    ),
    (
        "the only available version is never dropped for a failed one",
        [snap(1, S.AVAILABLE, aspired=False), snap(2, S.END)],
        None,
    ),
    (
        "no version aspired any more: unload",
        [snap(1, S.AVAILABLE, aspired=False)],
        Action(UNLOAD, 1),
    ),
    (
        "unloads non-aspired first, before any load",
        [snap(1, S.AVAILABLE, aspired=False), snap(2, S.AVAILABLE), snap(3, S.START)],
        Action(UNLOAD, 1),
    ),
    (
        "two un-aspired available versions: the lowest unloads even with nothing ready",
        [snap(2, S.AVAILABLE, False), snap(1, S.AVAILABLE, False), snap(3, S.LOADING)],
        Action(UNLOAD, 1),
    ),
    (
        "an un-aspired version being unloaded is not unloaded twice",
        [snap(1, S.UNLOADING, aspired=False), snap(2, S.AVAILABLE)],
        None,
    ),
    ("a failed aspired version is not retried", [snap(1, S.END)], None),
    (
        "an un-aspired new version is not loaded",
        [snap(1, S.START, aspired=False)],
        None,
    ),
    (
        "all policy: loads continue while others load",
        [snap(1, S.AVAILABLE), snap(2, S.LOADING), snap(3, S.START)],
        Action(LOAD, 3),
    ),
]


@pytest.mark.parametrize(("scenario", "snapshots", "expected"), CASES, ids=[c[0] for c in CASES])
def test_next_action(
    scenario: str, snapshots: list[VersionSnapshot], expected: Action | None
) -> None:
    assert next_action(snapshots) == expected


def test_policy_is_idempotent() -> None:
    snapshots = [snap(1, S.AVAILABLE, aspired=False), snap(2, S.AVAILABLE)]
    assert next_action(snapshots) == next_action(snapshots) == Action(UNLOAD, 1)
