"""What a download reports, for metrics; attached by the composition root (see operations)."""

from __future__ import annotations

from typing import Protocol


class DownloadObserver(Protocol):
    def downloaded(self, scheme: str, num_bytes: int, seconds: float) -> None:
        """One version copied into the cache (``num_bytes`` over ``seconds``)."""

    def failed(self, scheme: str) -> None:
        """One download attempt failed (the store, the network, a cancelled download)."""
