from __future__ import annotations

import pytest

from pyserving.security.scopes import Scope, grpc_scope, rest_scope

METRICS = "/monitoring/prometheus/metrics"


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "/healthz", None),
        ("GET", "/readyz", None),
        ("GET", "/v2/health/ready", None),
        ("OPTIONS", "/v1/models/m:predict", None),
        ("POST", "/v1/models/m:predict", Scope.INFER),
        ("POST", "/v1/models/m/versions/2:classify", Scope.INFER),
        ("POST", "/v1/models/m/labels/stable:regress", Scope.INFER),
        ("GET", "/v1/models/m", Scope.READ),
        ("GET", "/v1/models/m/metadata", Scope.READ),
        ("GET", "/v1/admin/models", Scope.ADMIN),
        ("PUT", "/v1/admin/models/m", Scope.ADMIN),
        ("DELETE", "/V1/ADMIN/models/m", Scope.ADMIN),
        ("POST", "/v2/models/m/infer", Scope.INFER),
        ("POST", "/v2/models/m/versions/1/infer", Scope.INFER),
        ("GET", "/v2/models/m", Scope.READ),
        ("GET", "/v2/models/m/ready", Scope.READ),
        ("GET", "/v2", Scope.READ),
        ("POST", "/v2/repository/index", Scope.READ),
        ("POST", "/v2/repository/models/m/load", Scope.ADMIN),
        ("POST", "/v2/repository/models/m/unload", Scope.ADMIN),
        ("GET", METRICS, Scope.METRICS),
        ("GET", "/", None),
        ("GET", "/console/static/app.js", None),
        ("GET", "/console/api/models", Scope.READ),
        ("GET", "/openapi.json", Scope.READ),
        ("POST", "/whatever", Scope.READ),
    ],
)
def test_rest_scopes(method: str, path: str, scope: Scope | None) -> None:
    assert rest_scope(method, path, METRICS) is scope


@pytest.mark.parametrize(
    ("method", "scope"),
    [
        ("/tensorflow.serving.PredictionService/Predict", Scope.INFER),
        ("/tensorflow.serving.PredictionService/MultiInference", Scope.INFER),
        ("/tensorflow.serving.PredictionService/GetModelMetadata", Scope.READ),
        ("/tensorflow.serving.ModelService/GetModelStatus", Scope.READ),
        ("/tensorflow.serving.ModelService/HandleReloadConfigRequest", Scope.ADMIN),
        ("/inference.GRPCInferenceService/ModelInfer", Scope.INFER),
        ("/inference.GRPCInferenceService/ServerLive", None),
        ("/inference.GRPCInferenceService/RepositoryModelLoad", Scope.ADMIN),
        ("/grpc.health.v1.Health/Check", None),
        ("/pyserving.admin.ModelAdminService/PutModel", Scope.ADMIN),
        ("/pyserving.admin.ModelAdminService/ListModels", Scope.ADMIN),
        ("/tensorflow.ProfilerService/Profile", Scope.ADMIN),
        ("/unknown.Service/Method", Scope.ADMIN),
    ],
)
def test_grpc_scopes(method: str, scope: Scope | None) -> None:
    assert grpc_scope(method) is scope
