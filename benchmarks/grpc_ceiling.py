"""The gRPC ceiling: a bare grpc.aio server on uvloop, the stack pyserving's gRPC API runs on,
that parses each PredictRequest, decodes its tensors and does no model work (an empty
PredictResponse). What any Python server built on grpcio's asyncio API can reach at best.

Usage: python grpc_ceiling.py PORT
"""

from __future__ import annotations

import sys

import grpc
import uvloop

from pyserving.codec.tensor_proto import decode_tensor
from pyserving.protos import predict_pb2

SERVICE = "tensorflow.serving.PredictionService"


async def predict(
    request: predict_pb2.PredictRequest, context: grpc.aio.ServicerContext[object, object]
) -> predict_pb2.PredictResponse:
    for alias, proto in request.inputs.items():
        decode_tensor(proto, alias)
    return predict_pb2.PredictResponse()


async def serve(port: int) -> None:
    server = grpc.aio.server(maximum_concurrent_rpcs=4096)
    handler = grpc.unary_unary_rpc_method_handler(
        predict,
        request_deserializer=predict_pb2.PredictRequest.FromString,
        response_serializer=predict_pb2.PredictResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(SERVICE, {"Predict": handler}),)
    )
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


if __name__ == "__main__":
    uvloop.run(serve(int(sys.argv[1])))
