"""The four scopes a token may hold, and which one each operation needs.

``infer``: predict, classify, regress, multi-inference, V2 infer. ``read``: status, metadata, V2
model metadata and readiness, the console's views, the OpenAPI document. ``admin``: the admin
API, config reloads, V2 repository load/unload. ``metrics``: the Prometheus page.
Liveness/readiness probes and the console's static files need none (the console asks for a token
before it calls an API).
"""

from __future__ import annotations

import enum
import re
from typing import Final


class Scope(enum.Enum):
    INFER = "infer"
    READ = "read"
    ADMIN = "admin"
    METRICS = "metrics"

    @classmethod
    def parse(cls, text: str) -> Scope:
        try:
            return cls(text.strip().lower())
        except ValueError:
            known = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown scope {text.strip()!r} (known scopes: {known})") from None


OPEN_PATHS: Final = frozenset({"/healthz", "/readyz", "/v2/health/live", "/v2/health/ready"})
_INFER_V1: Final = re.compile(r"(?i)/v1/models/[^?]*:(predict|classify|regress)$")
_V2_INFER: Final = re.compile(r"/v2/models/[^/]+(/versions/[^/]+)?/infer$")
_STATIC_PREFIXES: Final = ("/console/static/", "/static/")

_GRPC: Final = {
    "/tensorflow.serving.PredictionService/Predict": Scope.INFER,
    "/tensorflow.serving.PredictionService/Classify": Scope.INFER,
    "/tensorflow.serving.PredictionService/Regress": Scope.INFER,
    "/tensorflow.serving.PredictionService/MultiInference": Scope.INFER,
    "/tensorflow.serving.PredictionService/GetModelMetadata": Scope.READ,
    "/tensorflow.serving.ModelService/GetModelStatus": Scope.READ,
    "/tensorflow.serving.ModelService/HandleReloadConfigRequest": Scope.ADMIN,
    "/inference.GRPCInferenceService/ModelInfer": Scope.INFER,
    "/inference.GRPCInferenceService/ModelMetadata": Scope.READ,
    "/inference.GRPCInferenceService/ModelReady": Scope.READ,
    "/inference.GRPCInferenceService/ServerMetadata": Scope.READ,
    "/inference.GRPCInferenceService/RepositoryIndex": Scope.READ,
    "/inference.GRPCInferenceService/RepositoryModelLoad": Scope.ADMIN,
    "/inference.GRPCInferenceService/RepositoryModelUnload": Scope.ADMIN,
}
_GRPC_OPEN_SERVICES: Final = ("/grpc.health.v1.Health/",)
_GRPC_OPEN_METHODS: Final = frozenset(
    {"/inference.GRPCInferenceService/ServerLive", "/inference.GRPCInferenceService/ServerReady"}
)


def rest_scope(method: str, path: str, metrics_path: str | None = None) -> Scope | None:
    """The scope an HTTP request needs; None when it is open to everyone."""
    if path in OPEN_PATHS or method == "OPTIONS":
        return None
    if metrics_path is not None and path == metrics_path:
        return Scope.METRICS
    lowered = path.lower()
    if lowered.startswith("/v1/admin") or path.startswith("/v2/repository/models/"):
        return Scope.ADMIN  # the admin API shows base paths: reading it is admin too
    if method == "POST" and (_INFER_V1.match(path) or _V2_INFER.match(path)):
        return Scope.INFER
    if lowered.startswith("/v1/") or path.startswith(("/v2", "/console/api", "/openapi.json")):
        return Scope.READ
    if path.startswith(_STATIC_PREFIXES) or method in ("GET", "HEAD"):
        return None  # pages and their assets: the page asks for a token before calling an API
    return Scope.READ


def grpc_scope(full_method: str) -> Scope | None:
    """The scope a gRPC method (``/package.Service/Method``) needs; None when open."""
    scope = _GRPC.get(full_method)
    if scope is not None:
        return scope
    if full_method in _GRPC_OPEN_METHODS or full_method.startswith(_GRPC_OPEN_SERVICES):
        return None
    return Scope.ADMIN  # the admin service, the profiler, anything unknown: the strongest scope
