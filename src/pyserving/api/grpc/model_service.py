"""``tensorflow.serving.ModelService``: GetModelStatus and HandleReloadConfigRequest.

Reload follows ``model_service_impl.cc``: only a ``model_config_list`` is accepted (anything
else, an empty config included, is INVALID_ARGUMENT); the config is applied by the
:class:`~pyserving.management.controller.ConfigController` (TF Serving's ``ReloadConfig``: the
new list replaces the old one, removed models unload in the background, and the call blocks until
every *added* model is AVAILABLE, answering UNKNOWN ``N model(s) did not become available: {...}``
when one fails). The wait runs in a worker thread, bounded by the client deadline. For each of
``metric_names`` the response reports the metric's increase across the reload
(:mod:`~pyserving.api.grpc.reload_metrics`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from pyserving.api.grpc.errors import Context, rpc
from pyserving.api.grpc.reload_metrics import metric_values
from pyserving.codec.proto_views import status_response
from pyserving.errors import Code, ServingError
from pyserving.protos import (
    get_model_status_pb2,
    model_management_pb2,
    model_server_config_pb2,
    model_service_pb2_grpc,
)
from pyserving.service.core import ServingService

logger = logging.getLogger("pyserving.grpc")

_UNSUPPORTED_CONFIG = (
    "ServerModelConfig type not supported by HandleReloadConfigRequest. "
    "Only ModelConfigList is currently supported"
)


class ConfigReloader(Protocol):
    """What reloading needs: :meth:`pyserving.management.controller.ConfigController.reload`."""

    def reload(
        self, config: model_server_config_pb2.ModelServerConfig, *, timeout: float | None = None
    ) -> None: ...


class ModelServicer(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, service: ServingService, reloader: ConfigReloader) -> None:
        self._service = service
        self._reloader = reloader

    @rpc
    async def GetModelStatus(
        self, request: get_model_status_pb2.GetModelStatusRequest, context: Context
    ) -> get_model_status_pb2.GetModelStatusResponse:
        if not request.HasField("model_spec"):
            raise ServingError(Code.INVALID_ARGUMENT, "Missing ModelSpec")
        spec = request.model_spec
        # TF Serving ignores version_label here and reports every version.
        version = spec.version.value if spec.HasField("version") else None
        return status_response(self._service.model_status(spec.name, version))

    @rpc
    async def HandleReloadConfigRequest(
        self, request: model_management_pb2.ReloadConfigRequest, context: Context
    ) -> model_management_pb2.ReloadConfigResponse:
        if request.config.WhichOneof("config") != "model_config_list":
            raise ServingError(Code.INVALID_ARGUMENT, _UNSUPPORTED_CONFIG)
        names = list(request.metric_names)
        before = metric_values(names)
        try:
            await asyncio.to_thread(
                self._reloader.reload, request.config, timeout=context.time_remaining()
            )
        except ServingError as error:
            logger.error("ReloadConfig failed: %s", error.message)
            raise
        after = metric_values(names)
        response = model_management_pb2.ReloadConfigResponse()
        response.status.error_code = Code.OK.value  # type: ignore[assignment]
        for name, value in before.items():
            response.metric.add(name=name, int64_value_increase=after[name] - value)
        return response
