"""The availability-preserving aspired-version policy, as a pure function.

The manager asks the policy, for one servable stream at a time, which single load or unload to do
next; it applies the action, updates the snapshots and asks again until the answer is None. Like TF
Serving's policies this one is stateless and idempotent: the same snapshots give the same action.

The rule keeps a model servable during a version swap: the old version serves until an aspired
version is AVAILABLE, and the only AVAILABLE version is never unloaded for one that is still
loading (or that failed).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from pyserving.lifecycle.state import ServableState


class ActionKind(enum.Enum):
    LOAD = "load"
    UNLOAD = "unload"


@dataclass(frozen=True, slots=True)
class Action:
    kind: ActionKind
    version: int


@dataclass(frozen=True, slots=True)
class VersionSnapshot:
    """What the policy may know of one version: its state and whether the source still wants it.

    START means "new": known, never loaded. A failed version is END (and stays aspired until the
    source drops it), so it is never picked for a load again.
    """

    version: int
    state: ServableState
    is_aspired: bool


def next_action(snapshots: Iterable[VersionSnapshot]) -> Action | None:
    """The next action for one stream, unloads before loads; None when there is nothing to do.

    * Unload the lowest un-aspired AVAILABLE version when that cannot leave the stream without a
      servable version: no version is aspired any more (the model is going away), or an aspired
      version is already AVAILABLE, or another un-aspired version is AVAILABLE too.
    * Otherwise load the highest aspired version not yet loaded (state START).
    """
    versions = list(snapshots)
    aspired = [s for s in versions if s.is_aspired]
    retiring = sorted(
        s.version for s in versions if not s.is_aspired and s.state is ServableState.AVAILABLE
    )
    if retiring:
        nothing_aspired = not aspired
        replacement_ready = any(s.state is ServableState.AVAILABLE for s in aspired)
        if nothing_aspired or replacement_ready or len(retiring) > 1:
            return Action(ActionKind.UNLOAD, retiring[0])
    new = [s.version for s in aspired if s.state is ServableState.START]
    if new:
        return Action(ActionKind.LOAD, max(new))
    return None
