"""``tensorflow.serving.ModelService``: GetModelStatus and HandleReloadConfigRequest.

Reload follows ``model_service_impl.cc``/``server_core.cc``: only a ``model_config_list`` is
accepted; the new list replaces the old one (removed models unload in the background) and the call
blocks until every configured model is AVAILABLE, answering UNKNOWN ``N model(s) did not become
available: {...}`` when one fails to load. The wait runs in a worker thread, bounded by the client
deadline. ``metric_names`` is accepted but no metric increases are reported yet.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from pyserving.api.grpc.errors import Context, rpc
from pyserving.codec.proto_views import status_response
from pyserving.config.models import models_from_config
from pyserving.errors import Code, ServingError
from pyserving.lifecycle.config import ModelConfig
from pyserving.lifecycle.state import ServableId, ServableState, VersionStatus
from pyserving.protos import get_model_status_pb2, model_management_pb2, model_service_pb2_grpc
from pyserving.service.core import ServingService

_UNSUPPORTED_CONFIG = (
    "ServerModelConfig type not supported by HandleReloadConfigRequest. "
    "Only ModelConfigList is currently supported"
)


class ReloadableCore(Protocol):
    """What reloading needs from :class:`pyserving.lifecycle.core.ServerCore`."""

    def reload_config(self, models: Sequence[ModelConfig]) -> None: ...

    def wait_until_ready(self, timeout: float | None = None) -> None: ...

    def model_status(self, name: str, version: int | None = None) -> list[VersionStatus]: ...


class ModelServicer(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, service: ServingService, core: ReloadableCore) -> None:
        self._service = service
        self._core = core

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
        models = models_from_config(request.config)
        await asyncio.to_thread(self._reload, models, context.time_remaining())
        response = model_management_pb2.ReloadConfigResponse()
        response.status.error_code = Code.OK.value  # type: ignore[assignment]
        return response

    def _reload(self, models: list[ModelConfig], timeout: float | None) -> None:
        self._core.reload_config(models)
        try:
            self._core.wait_until_ready(timeout)
        except ServingError:
            raise ServingError(Code.UNKNOWN, self._unavailable(models)) from None
        except TimeoutError as exc:
            raise ServingError(Code.DEADLINE_EXCEEDED, str(exc)) from None

    def _unavailable(self, models: Sequence[ModelConfig]) -> str:
        """TF Serving's ``WaitUntilModelsAvailable`` message."""
        parts: list[str] = []
        for model in models:
            try:
                statuses = self._core.model_status(model.name)
            except ServingError:
                statuses = []
            if any(s.state is ServableState.AVAILABLE for s in statuses):
                continue
            failed = next((s for s in statuses if s.error_code is not Code.OK), None)
            reason = ""
            if failed is not None:
                reason = f" due to error: {failed.error_code.name}: {failed.error_message}"
            version = failed.version if failed else (statuses[0].version if statuses else 0)
            parts.append(f"{{{ServableId(model.name, version)}{reason}}}, ")
        return f"{len(parts)} model(s) did not become available: {{{''.join(parts)}}}"
