"""``inference.GRPCInferenceService`` (protos/inference/grpc_predict_v2.proto) on the gRPC port.

The Open Inference Protocol's RPCs plus Triton's repository RPCs, as thin adapters over the same
core service, repository and readiness as the REST routes (:mod:`pyserving.api.v2.rest`). Errors
are ServingErrors mapped to gRPC statuses like every other RPC (INVALID_ARGUMENT for bad input,
NOT_FOUND for an unknown model); ModelInfer honours the client deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import grpc

from pyserving import __version__
from pyserving.api.grpc.errors import Context, rpc, timeout_ms
from pyserving.api.rest.admin_json import entry_from_json
from pyserving.api.v2 import inference
from pyserving.api.v2.rest import EXTENSIONS, SERVER_NAME
from pyserving.codec import v2_json, v2_proto
from pyserving.errors import invalid_argument
from pyserving.management.repository import ModelRepository
from pyserving.protos import grpc_predict_v2_pb2 as pb
from pyserving.protos import grpc_predict_v2_pb2_grpc as pb_grpc
from pyserving.service.core import ServingService

Readiness = Callable[[], bool]


class InferenceServicer(pb_grpc.GRPCInferenceServiceServicer):
    def __init__(
        self, service: ServingService, repository: ModelRepository, ready: Readiness
    ) -> None:
        self._service = service
        self._repository = repository
        self._ready = ready

    @rpc
    async def ServerLive(
        self, request: pb.ServerLiveRequest, context: Context
    ) -> pb.ServerLiveResponse:
        return pb.ServerLiveResponse(live=True)

    @rpc
    async def ServerReady(
        self, request: pb.ServerReadyRequest, context: Context
    ) -> pb.ServerReadyResponse:
        return pb.ServerReadyResponse(ready=self._ready())

    @rpc
    async def ModelReady(
        self, request: pb.ModelReadyRequest, context: Context
    ) -> pb.ModelReadyResponse:
        ready = inference.model_ready(self._service, request.name, request.version)
        return pb.ModelReadyResponse(ready=ready)

    @rpc
    async def ServerMetadata(
        self, request: pb.ServerMetadataRequest, context: Context
    ) -> pb.ServerMetadataResponse:
        return pb.ServerMetadataResponse(
            name=SERVER_NAME, version=__version__, extensions=EXTENSIONS
        )

    @rpc
    async def ModelMetadata(
        self, request: pb.ModelMetadataRequest, context: Context
    ) -> pb.ModelMetadataResponse:
        name = request.name
        meta = inference.model_metadata(
            self._service, self._repository.platform(name), name, request.version
        )
        tensor = pb.ModelMetadataResponse.TensorMetadata
        return pb.ModelMetadataResponse(
            name=meta.name,
            versions=meta.versions,
            platform=meta.platform,
            inputs=[tensor(name=t.name, datatype=t.datatype, shape=t.shape) for t in meta.inputs],
            outputs=[tensor(name=t.name, datatype=t.datatype, shape=t.shape) for t in meta.outputs],
        )

    @rpc
    async def ModelInfer(
        self, request: pb.ModelInferRequest, context: Context
    ) -> pb.ModelInferResponse:
        decoded = v2_proto.request_from_proto(request)
        result = await inference.infer(
            self._service,
            request.model_name,
            request.model_version,
            decoded,
            timeout_ms(context),
        )
        return v2_proto.response_to_proto(result, raw=bool(request.raw_input_contents))

    @rpc
    async def RepositoryIndex(
        self, request: pb.RepositoryIndexRequest, context: Context
    ) -> pb.RepositoryIndexResponse:
        rows = self._repository.index(ready_only=request.ready)
        index = pb.RepositoryIndexResponse.ModelIndex
        return pb.RepositoryIndexResponse(
            models=[
                index(name=r.name, version=r.version, state=r.state, reason=r.reason) for r in rows
            ]
        )

    @rpc
    async def RepositoryModelLoad(
        self, request: pb.RepositoryModelLoadRequest, context: Context
    ) -> pb.RepositoryModelLoadResponse:
        name = request.model_name
        entry = None
        if "config" in request.parameters:
            config = request.parameters["config"]
            if config.WhichOneof("parameter_choice") != "string_param":
                raise invalid_argument("The 'config' parameter must be a string of JSON")
            entry = entry_from_json(name, v2_json.load_document(config.string_param.encode()))
        await asyncio.to_thread(
            self._repository.load, name, entry, timeout=context.time_remaining()
        )
        return pb.RepositoryModelLoadResponse()

    @rpc
    async def RepositoryModelUnload(
        self, request: pb.RepositoryModelUnloadRequest, context: Context
    ) -> pb.RepositoryModelUnloadResponse:
        await asyncio.to_thread(
            self._repository.unload, request.model_name, timeout=context.time_remaining()
        )
        return pb.RepositoryModelUnloadResponse()


def inference_service(
    service: ServingService, repository: ModelRepository, ready: Readiness
) -> Callable[[grpc.aio.Server], None]:
    """Registers the V2 servicer (for ``GrpcServer(extra_services=...)``)."""

    def register(server: grpc.aio.Server) -> None:
        pb_grpc.add_GRPCInferenceServiceServicer_to_server(
            InferenceServicer(service, repository, ready), server
        )

    return register
