"""The gRPC front end's observer: attached where servicers register, it sees every RPC of every
servicer (the core ones and extra services alike) with its outcome, but not health checks."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tensorflow_serving.apis import (
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from pyserving.api.grpc.server import GrpcServer
from pyserving.config.options import ServerOptions
from pyserving.observability.requests import RequestObserver
from pyserving.protos import admin_pb2, admin_pb2_grpc
from pyserving.service.core import ServingService
from pyserving.service.execution import ThreadRunner
from tests.unit.api.grpc_fakes import MODEL, FakeServables
from tests.unit.api.test_grpc_servicers import Loop, _free_port, predict_request, tensor


class _Admin(admin_pb2_grpc.ModelAdminServiceServicer):
    """An extra service whose servicer does not use the ``rpc`` decorator."""

    async def ListModels(
        self, request: admin_pb2.ListModelsRequest, context: Any
    ) -> admin_pb2.ListModelsResponse:
        return admin_pb2.ListModelsResponse(config_file="f")


def _register_admin(server: grpc.aio.Server) -> None:
    # Only ListModels is called; the other methods keep the generated UNIMPLEMENTED answers.
    admin_pb2_grpc.add_ModelAdminServiceServicer_to_server(_Admin(), server)  # type: ignore[abstract]


@pytest.fixture
def channel() -> Iterator[grpc.Channel]:
    loop, executor, servables = Loop(), ThreadPoolExecutor(2), FakeServables()
    options = ServerOptions(port=_free_port(), enable_grpc_healthcheck_service=True)
    server = GrpcServer(
        ServingService(servables, ThreadRunner(executor)),
        servables,
        options,
        extra_services=[_register_admin],
        observer=RequestObserver(metrics=False, access_log=True),
    )
    loop.run(server.start())
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as opened:
            yield opened
    finally:
        loop.run(server.stop(1.0))
        loop.close()
        executor.shutdown()


def test_every_rpc_is_observed_with_its_outcome(
    channel: grpc.Channel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pyserving.access")
    predict = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    predict.Predict(predict_request(x=tensor([2.0], [1, 1])))
    with pytest.raises(grpc.RpcError):
        predict.Predict(predict_request("nope", x=tensor([2.0], [1, 1])))
    with pytest.raises(grpc.RpcError):
        predict.Predict(predict_pb2.PredictRequest())  # Missing ModelSpec
    status = model_service_pb2_grpc.ModelServiceStub(channel)
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = MODEL
    status.GetModelStatus(request)
    admin_pb2_grpc.ModelAdminServiceStub(channel).ListModels(admin_pb2.ListModelsRequest())
    health = health_pb2_grpc.HealthStub(channel)
    health.Check(health_pb2.HealthCheckRequest(service=""))
    lines = [r.fields for r in caplog.records if r.name == "pyserving.access"]  # type: ignore[attr-defined]
    assert [(f["path"], f["code"], f["model"]) for f in lines] == [
        ("/PredictionService/Predict", "OK", MODEL),
        ("/PredictionService/Predict", "FAILED_PRECONDITION", MODEL),
        ("/PredictionService/Predict", "INVALID_ARGUMENT", ""),
        ("/ModelService/GetModelStatus", "OK", MODEL),
        ("/ModelAdminService/ListModels", "OK", ""),
    ]
