"""Servable states and the transitions allowed between them (TF Serving's ``ServableState``).

A version moves START -> LOADING -> AVAILABLE -> UNLOADING -> END. Two shortcuts end early: a
version un-aspired before its load began goes START -> END, and a load that fails all its retries
goes LOADING -> END with the error. END is terminal; a version number that comes back later starts
a new life at START. The enum numbers are those of ``ModelVersionStatus.State`` so the adapters can
put them on the wire unchanged.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from pyserving.errors import Code


class ServableState(enum.IntEnum):
    UNKNOWN = 0
    START = 10
    """Aspired and known to the manager; its load has not begun."""
    LOADING = 20
    """Loading (including the waits between retries)."""
    AVAILABLE = 30
    """Published only after the version can be acquired."""
    UNLOADING = 40
    """Published before the version stops being acquirable."""
    END = 50
    """Unloaded, never loaded, or failed (then with a non-OK status)."""


_S = ServableState

TRANSITIONS: Final[Mapping[ServableState, frozenset[ServableState]]] = {
    _S.UNKNOWN: frozenset({_S.START}),
    _S.START: frozenset({_S.LOADING, _S.END}),
    _S.LOADING: frozenset({_S.AVAILABLE, _S.END}),
    _S.AVAILABLE: frozenset({_S.UNLOADING}),
    _S.UNLOADING: frozenset({_S.END}),
    _S.END: frozenset(),
}


def check_transition(current: ServableState, target: ServableState) -> None:
    """Raise ``RuntimeError`` (a lifecycle bug, never a client error) for a disallowed move."""
    if target not in TRANSITIONS[current]:
        raise RuntimeError(f"illegal servable state transition {current.name} -> {target.name}")


@dataclass(frozen=True, slots=True)
class ServableId:
    """A (model name, version) pair; prints the way TF Serving's logs do."""

    name: str
    version: int

    def __str__(self) -> str:
        return f"{{name: {self.name} version: {self.version}}}"


@dataclass(frozen=True, slots=True)
class VersionStatus:
    """One row of GetModelStatus: a version, its state and its (load) status."""

    version: int
    state: ServableState
    error_code: Code = Code.OK
    error_message: str = ""
