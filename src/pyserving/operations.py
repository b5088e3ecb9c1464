"""The operations side of the composition root: metrics, probes, logs, request logs.

:class:`Operations` is built from the options before any model loads (so a bad monitoring config or
request log directory fails startup early) and gives ``pyserving.server`` the pieces to wire:

* :meth:`~Operations.runtime_for` for the ServerCore (load metrics), :meth:`~Operations.attach` to
  the core (state listeners: version metrics, load progress lines; readiness);
* :meth:`~Operations.service` builds the core service: the model runner wrapped to time runs, and
  sampled request logging (an observer of the core) when ``--request_log_dir`` is set;
* :attr:`~Operations.observer` for the REST app and the gRPC server (both report every request
  to it), :meth:`~Operations.rest_routes` (probes and the Prometheus page);
* :meth:`~Operations.begin_shutdown` (readiness 503) and :meth:`~Operations.close` (request logs
  flushed, threads stopped).

Nothing is recorded per request unless the Prometheus page is enabled or ``--access_log`` is on.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from pyserving.api.rest.metrics_page import metrics_routes
from pyserving.api.rest.probes import Probes
from pyserving.api.rest.router import BaseRoute
from pyserving.config.monitoring import prometheus_path
from pyserving.config.options import ServerOptions
from pyserving.errors import Code, ServingError
from pyserving.lifecycle.core import ServerCore
from pyserving.observability.load_progress import LoadProgress
from pyserving.observability.metrics import refresh_process_metrics
from pyserving.observability.metrics.lifecycle import VersionStateMetrics, timed_runtimes
from pyserving.observability.metrics.registry import multiprocess_dir
from pyserving.observability.metrics.runner import TimedRunner
from pyserving.observability.metrics.storage import StorageMetrics
from pyserving.observability.request_log import settings as request_log
from pyserving.observability.request_log.observer import RequestLogger
from pyserving.observability.request_log.writer import RecordWriter
from pyserving.observability.requests import RequestObserver
from pyserving.runtimes.base import Runtime
from pyserving.runtimes.registry import get_runtime
from pyserving.service.calls import CallObserver
from pyserving.service.core import ServingService
from pyserving.service.execution import ModelRunner

logger = logging.getLogger("pyserving.operations")

# How often each process refreshes its RSS gauge in multi-process mode (single-process servers
# refresh it when the page is rendered).
PROCESS_SAMPLE_SECONDS = 10.0


class Operations:
    def __init__(self, options: ServerOptions) -> None:
        """Raises ServingError for an unreadable monitoring config or request log directory."""
        self._options = options
        self.metrics_path = prometheus_path(options)
        # The console's charts read the same metrics, so it turns recording on too.
        self.record_metrics = self.metrics_path is not None or options.enable_console
        self.observer: RequestObserver | None = None
        if self.record_metrics or options.access_log:
            self.observer = RequestObserver(
                metrics=self.record_metrics, access_log=options.access_log
            )
        self._writer = _request_log_writer(options)
        request_log.enable(options.request_log_dir if self._writer is not None else None)
        self._progress = LoadProgress()
        self._probes: Probes | None = None
        self._stop = threading.Event()
        if self.metrics_path is not None and multiprocess_dir() is not None:
            threading.Thread(target=self._sample_process, name="rss", daemon=True).start()

    def runtime_for(self) -> Callable[[str], Runtime]:
        return timed_runtimes(get_runtime) if self.record_metrics else get_runtime

    def attach(self, core: ServerCore) -> None:
        """Listen to ``core``'s state changes (call before ``core.start``)."""
        core.add_state_listener(self._progress)
        self._progress.start()
        if self.record_metrics:
            core.add_state_listener(VersionStateMetrics())
            core.storage.set_observer(StorageMetrics())
        self._probes = Probes(core)

    def service(self, core: ServerCore, runner: ModelRunner, **kwargs: Any) -> ServingService:
        """The core service (``kwargs`` are ServingService's keyword arguments)."""
        if self.record_metrics:
            runner = TimedRunner(runner)
        observers: list[CallObserver] = []
        if self._writer is not None:
            tags = [t.strip() for t in self._options.saved_model_tags.split(",") if t.strip()]
            observers.append(RequestLogger(self._writer, tags))
        return ServingService(core, runner, observers=observers, **kwargs)

    def rest_routes(self) -> list[BaseRoute]:
        """The probes and the Prometheus page, for the front door's router."""
        routes: list[BaseRoute] = []
        if self.metrics_path is not None:
            routes.extend(metrics_routes(self.metrics_path))
        if self._probes is not None:
            routes.extend(self._probes.routes())
        return routes

    def begin_shutdown(self) -> None:
        if self._probes is not None:
            self._probes.begin_shutdown()

    def close(self) -> None:
        """Flush the request logs and stop the helper threads (idempotent)."""
        self._stop.set()
        self._progress.stop()
        if self._writer is not None:
            self._writer.close()

    def _sample_process(self) -> None:
        while not self._stop.wait(PROCESS_SAMPLE_SECONDS):  # ends with close()
            refresh_process_metrics()


def _request_log_writer(options: ServerOptions) -> RecordWriter | None:
    directory = options.request_log_dir
    if not directory:
        return None
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise ServingError(
            Code.INVALID_ARGUMENT, f"--request_log_dir={directory}: {exc.strerror}"
        ) from exc
    return RecordWriter(directory, max_file_bytes=options.request_log_max_bytes)
