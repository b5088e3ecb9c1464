"""Download metrics for models on object storage: a :class:`~pyserving.storage.observer.
DownloadObserver` the composition root gives the core's storage when metrics are on."""

from __future__ import annotations

from pyserving.observability.metrics import registry as m


class StorageMetrics:
    """``pyserving_storage_download_{bytes,seconds,failures}{scheme}``."""

    def downloaded(self, scheme: str, num_bytes: int, seconds: float) -> None:
        m.STORAGE_DOWNLOAD_BYTES.labels(scheme).inc(num_bytes)
        m.STORAGE_DOWNLOAD_SECONDS.labels(scheme).inc(seconds)

    def failed(self, scheme: str) -> None:
        m.STORAGE_DOWNLOAD_FAILURES.labels(scheme).inc()
