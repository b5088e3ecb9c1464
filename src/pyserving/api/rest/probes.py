"""Liveness and readiness probes on the REST port (pyserving extension; tensorflow/serving#1754).

* ``/healthz`` and ``/v2/health/live``: 200 ``{"alive": true}`` as long as the process serves HTTP.
* ``/readyz`` and ``/v2/health/ready``: 200 ``{"ready": true}`` when every configured model has an
  AVAILABLE version; otherwise 503 with what is missing::

    {"ready": false, "shutting_down": false,
     "unavailable_models": {"b": [{"version": 1, "state": "LOADING", "error": ""}]}}

  (a model with no version found yet lists ``[]``). Once shutdown begins it answers 503 with
  ``"shutting_down": true`` before the ports stop accepting, so load balancers drain first.

The REST port opens only after startup loaded every model (as TF Serving), so readiness can be 503
only later: a config reload adding a model still loading, a model whose versions were all removed,
or shutdown. Probes are not ``/v1`` requests: they are not counted in the request metrics.
"""

from __future__ import annotations

from typing import Any, Protocol

from pyserving.api.rest.extensions import HttpRequest, HttpResponse
from pyserving.api.rest.router import BaseRoute, json_route
from pyserving.codec.json_encode import encode_json
from pyserving.errors import ServingError
from pyserving.lifecycle.state import ServableState, VersionStatus

LIVE_PATHS = ("/healthz", "/v2/health/live")
READY_PATHS = ("/readyz", "/v2/health/ready")

_ALIVE = b'{"alive":true}'
_READY = b'{"ready":true}'


class ReadinessSource(Protocol):
    """What readiness needs from :class:`pyserving.lifecycle.core.ServerCore`."""

    def is_ready(self) -> bool: ...

    def model_names(self) -> list[str]: ...

    def model_status(self, name: str, version: int | None = None) -> list[VersionStatus]: ...


class Probes:
    def __init__(self, core: ReadinessSource) -> None:
        self._core = core
        self._shutting_down = False

    def begin_shutdown(self) -> None:
        """From now on readiness answers 503 (liveness stays 200)."""
        self._shutting_down = True

    def routes(self) -> list[BaseRoute]:
        """The probe routes (GET and HEAD) for the front door's router."""
        live = {"GET": self.live, "HEAD": self.live}
        ready = {"GET": self.ready, "HEAD": self.ready}
        return [
            *(json_route(path, live) for path in LIVE_PATHS),
            *(json_route(path, ready) for path in READY_PATHS),
        ]

    async def live(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(200, _ALIVE)

    async def ready(self, request: HttpRequest) -> HttpResponse:
        if not self._shutting_down and self._core.is_ready():
            return HttpResponse(200, _READY)
        missing = self.unavailable_models()
        if not missing and not self._shutting_down:  # became ready meanwhile
            return HttpResponse(200, _READY)
        body = {
            "ready": False,
            "shutting_down": self._shutting_down,
            "unavailable_models": missing,
        }
        return HttpResponse(503, encode_json(body))

    def unavailable_models(self) -> dict[str, list[dict[str, Any]]]:
        """Configured models without an AVAILABLE version, with the versions they do have."""
        missing: dict[str, list[dict[str, Any]]] = {}
        for name in self._core.model_names():
            try:
                statuses = self._core.model_status(name)
            except ServingError:  # no version known yet
                statuses = []
            if any(s.state is ServableState.AVAILABLE for s in statuses):
                continue
            missing[name] = [
                {
                    "version": s.version,
                    "state": s.state.name,
                    "error": f"{s.error_code.name}: {s.error_message}" if s.error_message else "",
                }
                for s in statuses
            ]
        return missing
