"""Core results as TF Serving protos, and those protos as TF Serving's REST JSON.

Both adapters answer status and metadata with the same messages (gRPC sends them, REST prints
them with protobuf's JSON mapping: snake_case names, int64 as strings, enums by name, defaults
printed), so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pyserving.lifecycle.state import VersionStatus
from pyserving.protos import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    message_to_json_dict,
    meta_graph_pb2,
)
from pyserving.service.method_names import method_name
from pyserving.signature import NativeSignatures, Signature

_SIGNATURE_DEF_FORMAT = meta_graph_pb2.SignatureDef.DESCRIPTOR.full_name


def status_response(
    statuses: Sequence[VersionStatus],
) -> get_model_status_pb2.GetModelStatusResponse:
    response = get_model_status_pb2.GetModelStatusResponse()
    for status in statuses:
        entry = response.model_version_status.add()
        entry.version = status.version
        entry.state = int(status.state)  # type: ignore[assignment]
        entry.status.error_code = int(status.error_code)  # type: ignore[assignment]
        entry.status.error_message = status.error_message
    return response


def signature_def_map(
    signatures: Mapping[str, Signature], native: NativeSignatures | None = None
) -> get_model_metadata_pb2.SignatureDefMap:
    """The model's signatures as TF Serving reports them: the runtime's own SignatureDefs when it
    keeps them (TensorFlow: byte for byte), otherwise built from the neutral description."""
    result = get_model_metadata_pb2.SignatureDefMap()
    if native is not None and native.format == _SIGNATURE_DEF_FORMAT:
        for key, serialized in native.by_key.items():
            result.signature_def[key].ParseFromString(serialized)
        return result
    for key, signature in signatures.items():
        _fill_signature_def(result.signature_def[key], signature)
    return result


def _fill_signature_def(target: meta_graph_pb2.SignatureDef, signature: Signature) -> None:
    """A SignatureDef describing a runtime's neutral signature (for runtimes without one)."""
    target.method_name = method_name(signature)
    for specs, infos in ((signature.inputs, target.inputs), (signature.outputs, target.outputs)):
        for alias, spec in specs.items():
            info = infos[alias]
            info.name = spec.name
            info.dtype = int(spec.dtype)  # type: ignore[assignment]
            if spec.shape is None:
                info.tensor_shape.unknown_rank = True
            else:
                for size in spec.shape:
                    info.tensor_shape.dim.add(size=size)


def status_json(statuses: Sequence[VersionStatus]) -> dict[str, Any]:
    return message_to_json_dict(status_response(statuses))


def metadata_json(
    name: str,
    version: int,
    signatures: Mapping[str, Signature],
    native: NativeSignatures | None = None,
) -> dict[str, Any]:
    signature_defs = signature_def_map(signatures, native)
    return {
        "model_spec": {"name": name, "signature_name": "", "version": str(version)},
        "metadata": {"signature_def": message_to_json_dict(signature_defs)},
    }
