"""Cross-cutting operations code: logs, Prometheus metrics, request logs (wired by
:mod:`pyserving.operations`)."""
