"""``pyserving.admin.ModelAdminService``: the admin API over gRPC (protos/pyserving/admin.proto).

A thin adapter: each RPC runs one :mod:`~pyserving.management.edits` edit through
:meth:`ConfigController.change` in a worker thread (it blocks while an added model loads),
bounded by the client deadline (none: wait as long as the load takes). Errors are the edit's
ServingErrors, mapped to gRPC statuses like every other RPC.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import grpc

from pyserving.api.grpc.errors import Context, rpc
from pyserving.management.controller import Change, ConfigController
from pyserving.management.edits import (
    Edited,
    delete_label,
    delete_model,
    find_model,
    put_model,
    set_label,
)
from pyserving.protos import admin_pb2, admin_pb2_grpc


class ModelAdminServicer(admin_pb2_grpc.ModelAdminServiceServicer):
    def __init__(self, controller: ConfigController) -> None:
        self._controller = controller

    @rpc
    async def ListModels(
        self, request: admin_pb2.ListModelsRequest, context: Context
    ) -> admin_pb2.ListModelsResponse:
        config = self._controller.current()
        return admin_pb2.ListModelsResponse(
            models=config.model_config_list.config, config_file=self._controller.config_file
        )

    @rpc
    async def GetModel(
        self, request: admin_pb2.GetModelRequest, context: Context
    ) -> admin_pb2.ModelResponse:
        return admin_pb2.ModelResponse(config=find_model(self._controller.current(), request.name))

    @rpc
    async def PutModel(
        self, request: admin_pb2.PutModelRequest, context: Context
    ) -> admin_pb2.ModelResponse:
        return await self._change(put_model(request.config), context)

    @rpc
    async def DeleteModel(
        self, request: admin_pb2.DeleteModelRequest, context: Context
    ) -> admin_pb2.ModelResponse:
        return await self._change(delete_model(request.name), context)

    @rpc
    async def SetVersionLabel(
        self, request: admin_pb2.SetVersionLabelRequest, context: Context
    ) -> admin_pb2.ModelResponse:
        edit = set_label(request.model_name, request.label, request.version)
        return await self._change(edit, context)

    @rpc
    async def DeleteVersionLabel(
        self, request: admin_pb2.DeleteVersionLabelRequest, context: Context
    ) -> admin_pb2.ModelResponse:
        return await self._change(delete_label(request.model_name, request.label), context)

    async def _change(self, edit: Change[Edited], context: Context) -> admin_pb2.ModelResponse:
        edited = await asyncio.to_thread(
            self._controller.change, edit, timeout=context.time_remaining()
        )
        return admin_pb2.ModelResponse(config=edited.model, created=edited.created)


def admin_service(controller: ConfigController) -> Callable[[grpc.aio.Server], None]:
    """Registers the admin servicer (for ``GrpcServer(extra_services=...)``)."""

    def register(server: grpc.aio.Server) -> None:
        admin_pb2_grpc.add_ModelAdminServiceServicer_to_server(
            ModelAdminServicer(controller), server
        )

    return register
