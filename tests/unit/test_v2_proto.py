"""Our ``inference/grpc_predict_v2.proto`` against the protos of Triton's own client
(``tritonclient.grpc``, package ``inference``): every message we declare has the same fields
(names, numbers, types, labels, oneofs) and every RPC the same method name and message types, so
the wire format is the same and Triton's client works unchanged."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google.protobuf.descriptor import Descriptor

from pyserving.protos import grpc_predict_v2_pb2 as ours

service_pb2 = pytest.importorskip("tritonclient.grpc.service_pb2")


def _messages(descriptor: Descriptor) -> Iterator[Descriptor]:
    yield descriptor
    for nested in descriptor.nested_types:
        yield from _messages(nested)


def _all_ours() -> list[Descriptor]:
    return [m for top in ours.DESCRIPTOR.message_types_by_name.values() for m in _messages(top)]


def _triton(full_name: str) -> Descriptor:
    return service_pb2.DESCRIPTOR.pool.FindMessageTypeByName(full_name)  # type: ignore[no-any-return]


@pytest.mark.parametrize("message", _all_ours(), ids=lambda m: m.full_name)
def test_message_matches_triton(message: Descriptor) -> None:
    real = _triton(message.full_name)

    def fields(descriptor: Descriptor) -> dict[str, tuple[object, ...]]:
        return {
            f.name: (
                f.number,
                f.type,
                f.is_repeated,
                f.message_type.full_name if f.message_type else "",
                f.containing_oneof.name if f.containing_oneof else "",
            )
            for f in descriptor.fields
        }

    assert fields(message) == fields(real)


def test_service_methods_match_triton() -> None:
    service = ours.DESCRIPTOR.services_by_name["GRPCInferenceService"]
    real = service_pb2.DESCRIPTOR.services_by_name["GRPCInferenceService"]
    assert service.full_name == real.full_name == "inference.GRPCInferenceService"
    for method in service.methods:
        twin = real.methods_by_name[method.name]
        assert method.input_type.full_name == twin.input_type.full_name
        assert method.output_type.full_name == twin.output_type.full_name
        assert not twin.server_streaming and not twin.client_streaming
    # The Open Inference Protocol's six RPCs and Triton's three repository RPCs.
    assert len(service.methods) == 9
