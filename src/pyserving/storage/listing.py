"""What a remote version holds at one look: file paths, sizes and content tags."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Entry:
    """One object: its path relative to the version, its size, and a tag that changes whenever
    its content does (an S3 ETag, a GCS generation)."""

    path: str
    size: int
    tag: str


@dataclass(frozen=True, slots=True)
class Listing:
    """A version's objects, sorted by path. Equal listings mean nothing was written between."""

    entries: tuple[Entry, ...]

    @property
    def names(self) -> frozenset[str]:
        return frozenset(e.path for e in self.entries)

    @property
    def total_bytes(self) -> int:
        return sum(e.size for e in self.entries)

    def to_json(self) -> list[list[Any]]:
        return [[e.path, e.size, e.tag] for e in self.entries]

    @classmethod
    def from_json(cls, rows: Any) -> Listing:
        if not isinstance(rows, list):
            raise ValueError("a listing is a JSON list")
        return cls(tuple(Entry(str(p), int(s), str(t)) for p, s, t in rows))
