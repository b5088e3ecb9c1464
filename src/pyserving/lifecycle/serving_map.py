"""The request path's view of what is servable: an immutable map, swapped whole on every change.

The manager builds a new :class:`ServingMap` whenever a version becomes AVAILABLE, starts
UNLOADING, or a model's labels change, and publishes it with a single attribute assignment (atomic
in Python). Readers never lock: a lookup is two dict reads, O(1) in the number of models and
versions. Resolution implements TF Serving's ``ServableRequest`` rules and error messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from pyserving.errors import invalid_argument, not_found
from pyserving.lifecycle.handle import LoadedServable

_EMPTY: Final[Mapping[int, LoadedServable]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class StreamView:
    """One model as requests see it: its AVAILABLE versions, the highest of them, its labels."""

    versions: Mapping[int, LoadedServable] = field(default_factory=lambda: _EMPTY)
    labels: Mapping[str, int] = field(default_factory=dict)
    latest: LoadedServable | None = field(init=False)

    def __post_init__(self) -> None:
        top = max(self.versions, default=None)
        object.__setattr__(self, "latest", None if top is None else self.versions[top])


class ServingMap:
    """Model name -> :class:`StreamView`. Immutable; ``with_stream``/``without`` return copies."""

    __slots__ = ("_streams",)

    def __init__(self, streams: Mapping[str, StreamView] | None = None) -> None:
        self._streams: Mapping[str, StreamView] = dict(streams or {})

    def with_stream(self, name: str, view: StreamView) -> ServingMap:
        return ServingMap({**self._streams, name: view})

    def without(self, name: str) -> ServingMap:
        return ServingMap({k: v for k, v in self._streams.items() if k != name})

    def get(self, name: str) -> StreamView | None:
        return self._streams.get(name)

    def names(self) -> list[str]:
        return list(self._streams)

    def resolve(self, name: str, version: int | None, label: str | None) -> LoadedServable:
        """The servable a request means, or the ServingError TF Serving would return.

        No version and no label -> the highest AVAILABLE version (``Latest``); a label -> the
        version it names, which must be AVAILABLE (``Specific``).
        """
        if not name:
            raise invalid_argument("ModelSpec has no name specified.")
        view = self._streams.get(name)
        if label is not None:
            if view is None or label not in view.labels:
                raise invalid_argument(f"Unrecognized servable version label: {label}")
            version = view.labels[label]
        if version is not None:
            servable = view.versions.get(version) if view is not None else None
            if servable is None:
                raise not_found(f"Servable not found for request: Specific({name}, {version})")
            return servable
        if view is None or view.latest is None:
            raise not_found(f"Servable not found for request: Latest({name})")
        return view.latest
