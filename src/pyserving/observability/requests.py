"""Per-request bookkeeping shared by the REST and gRPC adapters: metrics and the access log.

Each adapter calls :meth:`RequestObserver.begin` when a request starts and ``end_rest`` /
``end_grpc`` exactly once when it ends (in a ``finally``), with the outcome as a canonical code.
Recorded, as TF Serving does (reference §7):

* ``request_count{model_name,status}``: every REST ``/v1`` request (errors included, ``""`` as
  the model when the URL names none), every gRPC Predict/Classify/Regress/MultiInference, and
  every Open Inference Protocol infer (REST ``/v2/.../infer``, gRPC ModelInfer);
* ``request_latency{model_name,API,entrypoint}`` (µs) for the successful ones: REST API
  ``predict``/``classify``/``regress`` (``""`` for GETs, ``ModelInfer`` for V2) and entrypoint
  ``REST``; gRPC API the method name and entrypoint ``GRPC``;
* ``pyserving_requests_in_flight``: every request and RPC between begin and end.

The hot path does no string formatting and no ``.labels()``: a recorder per (model, API, outcome)
is bound once and cached; a request appends its latency to it, folded into the metrics before
anything reads them (see :mod:`pyserving.observability.metrics.deferred`). To bound memory against
clients naming random models, at most :data:`MAX_MODEL_LABELS` distinct model names get their own
series; later ones share ``model_name="__other__"``. Methods run on the event loop thread (not
thread-safe).

:data:`CURRENT_API` carries the API of the request being served (``Predict``, ``Classify``...)
down to the model runner, which records ``runtime_latency`` with it.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from time import perf_counter_ns
from typing import Final

from pyserving.errors import Code
from pyserving.observability.metrics import registry as m
from pyserving.observability.metrics.deferred import InFlight, Outcomes

CURRENT_API: Final[ContextVar[str]] = ContextVar("pyserving_current_api", default="")
INFERENCE_RPCS: Final = frozenset(
    {"Predict", "Classify", "Regress", "MultiInference", "ModelInfer"}
)
MAX_MODEL_LABELS: Final = 1000
OTHER_MODEL: Final = "__other__"

access_logger = logging.getLogger("pyserving.access")


class RequestObserver:
    """See the module docstring. ``metrics``: record the request metrics; ``access_log``: log one
    line per request on the ``pyserving.access`` logger (INFO)."""

    def __init__(self, *, metrics: bool = True, access_log: bool = False) -> None:
        self._metrics = metrics
        self._access_log = access_log
        self._defer = m.defer_recording()
        self._in_flight = InFlight(m.IN_FLIGHT, defer=self._defer)
        # (model, API) -> recorder of OK requests, (model, API, code) -> of the others; one pair of
        # maps per entrypoint. Only label-capped model names are keys: the maps stay bounded.
        self._rest_ok: dict[tuple[str, str], Outcomes] = {}
        self._rest: dict[tuple[str, str, Code], Outcomes] = {}
        self._grpc_ok: dict[tuple[str, str], Outcomes] = {}
        self._grpc: dict[tuple[str, str, Code], Outcomes] = {}
        self._models: set[str] = set()

    def begin(self, api: str = "") -> int:
        """A request starts; returns the start time to pass to the matching ``end_*``."""
        if self._metrics:
            self._in_flight.begin()
        if api:
            CURRENT_API.set(api)
        return perf_counter_ns()

    def end_rest(
        self, method: str, path: str, model: str, api: str, code: Code, status: int, started: int
    ) -> None:
        elapsed = perf_counter_ns() - started
        if self._metrics:
            self._in_flight.end()
            if code is Code.OK:  # keyed without the code: an enum member hashes in Python
                series = self._rest_ok.get((model, api))
            else:
                series = self._rest.get((model, api, code))
            if series is None:
                series = self._bind("REST", model, api, code)
            series.record(elapsed // 1000)
        if self._access_log:
            _log_access("REST", method, path, status, code, elapsed, model)

    def end_grpc(
        self, service: str, method: str, request: object, code: Code, started: int
    ) -> None:
        elapsed = perf_counter_ns() - started
        counted = method in INFERENCE_RPCS
        model = _model_of(request) if counted or self._access_log else ""
        if self._metrics:
            self._in_flight.end()
            if counted:
                if code is Code.OK:
                    series = self._grpc_ok.get((model, method))
                else:
                    series = self._grpc.get((model, method, code))
                if series is None:
                    series = self._bind("GRPC", model, method, code)
                series.record(elapsed // 1000)
        if self._access_log:
            _log_access("GRPC", "POST", f"/{service}/{method}", 200, code, elapsed, model)

    def _bind(self, entrypoint: str, model: str, api: str, code: Code) -> Outcomes:
        """The recorder of a first-seen key: ``request_count``, and ``request_latency`` if OK."""
        rest = entrypoint == "REST"
        ok = code is Code.OK
        if model not in self._models:
            if len(self._models) >= MAX_MODEL_LABELS:
                model = OTHER_MODEL
            else:
                self._models.add(model)
        if ok:
            ok_map = self._rest_ok if rest else self._grpc_ok
            series = ok_map.get((model, api))
            if series is None:
                series = ok_map[(model, api)] = Outcomes(
                    m.REQUEST_COUNT.labels(model, code.name),
                    m.REQUEST_LATENCY.labels(model, api, entrypoint),
                    defer=self._defer,
                )
            return series
        error_map = self._rest if rest else self._grpc
        series = error_map.get((model, api, code))
        if series is None:
            count = m.REQUEST_COUNT.labels(model, code.name)
            series = error_map[(model, api, code)] = Outcomes(count, None, defer=self._defer)
        return series


def _model_of(request: object) -> str:
    """The model a request addresses: a TF Serving request's ``model_spec`` (MultiInference: its
    first task's), a V2 request's ``model_name``."""
    spec = getattr(request, "model_spec", None)
    if spec is not None:
        return str(spec.name)
    name = getattr(request, "model_name", None)
    if name is not None:
        return str(name)
    tasks = getattr(request, "tasks", None)
    if tasks:
        return str(tasks[0].model_spec.name)
    return ""


def _log_access(
    entrypoint: str, method: str, path: str, status: int, code: Code, elapsed_ns: int, model: str
) -> None:
    millis = elapsed_ns / 1e6
    access_logger.info(
        "%s %s %s %d %s %.3fms model=%s",
        entrypoint,
        method,
        path,
        status,
        code.name,
        millis,
        model,
        extra={
            "fields": {
                "entrypoint": entrypoint,
                "method": method,
                "path": path,
                "status": status,
                "code": code.name,
                "duration_ms": round(millis, 3),
                "model": model,
            }
        },
    )
