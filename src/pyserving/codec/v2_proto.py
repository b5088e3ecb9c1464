"""Open Inference Protocol (V2) gRPC messages ⇄ numpy (``inference.ModelInferRequest`` and
``ModelInferResponse``).

Input data comes either typed (``contents``, the field of the datatype: ``int_contents`` for
INT8/16/32, ``uint_contents`` for UINT8/16/32, ``fp32_contents``...; FP16 has none) or raw
(``raw_input_contents``, one entry per input, for all inputs or none). The answer uses the same
form as the request: raw outputs for raw inputs (and whenever an output has no typed field),
typed contents otherwise. Element counts are checked against the shape before anything is built.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from pyserving.codec.v2_json import datatype_of
from pyserving.codec.v2_raw import decode_raw, element_count, encode_raw, numpy_dtype
from pyserving.codec.v2_request import Parameters, V2Input, V2Output, V2Request, V2Result
from pyserving.errors import invalid_argument
from pyserving.protos import grpc_predict_v2_pb2 as pb

# datatype -> the InferTensorContents field that carries it.
CONTENT_FIELDS: Final = {
    "BOOL": "bool_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}


def parameters(message: Any) -> Parameters:
    """A ``map<string, InferParameter>`` as plain Python values."""
    out: dict[str, object] = {}
    for key, value in message.items():
        which = value.WhichOneof("parameter_choice")
        out[key] = getattr(value, which) if which else None
    return out


def request_from_proto(request: pb.ModelInferRequest) -> V2Request:
    raw = request.raw_input_contents
    if raw and len(raw) != len(request.inputs):
        raise invalid_argument(
            f"The request has {len(raw)} raw_input_contents for {len(request.inputs)} inputs: "
            "send one per input, in the order of 'inputs', or none"
        )
    if not request.inputs:
        raise invalid_argument("The request has no inputs")
    inputs = []
    for index, tensor in enumerate(request.inputs):
        name, datatype, shape = tensor.name, tensor.datatype, list(tensor.shape)
        if raw:
            if tensor.HasField("contents"):
                raise invalid_argument(
                    f"Input '{name}' has contents but the request uses raw_input_contents: "
                    "send every input one way"
                )
            array = decode_raw(name, datatype, shape, raw[index])
        else:
            array = _typed(name, datatype, shape, tensor.contents)
        inputs.append(V2Input(name, datatype, array))
    outputs = [V2Output(o.name) for o in request.outputs]
    return V2Request(inputs, outputs, request.id, parameters(request.parameters))


def _typed(
    name: str, datatype: str, shape: list[int], contents: pb.InferTensorContents
) -> np.ndarray:
    dtype = numpy_dtype(name, datatype)
    count = element_count(name, shape)
    field = CONTENT_FIELDS.get(datatype)
    if field is None:
        raise invalid_argument(
            f"Input '{name}' is {datatype}, which has no typed contents: send it in "
            "raw_input_contents"
        )
    values = getattr(contents, field)
    if len(values) != count:
        raise invalid_argument(
            f"Input '{name}' has shape {shape} ({count} elements), but {len(values)} "
            f"elements in contents.{field}"
        )
    if dtype.kind == "O":
        array = np.empty(count, dtype=object)
        array[:] = list(values)
        return array.reshape(shape)
    if dtype.kind in "iu" and dtype.itemsize < 4 and count:
        wide = np.array(values, dtype=np.int64)
        info = np.iinfo(dtype.type)  # type: ignore[type-var]
        if wide.min() < info.min or wide.max() > info.max:
            raise invalid_argument(
                f"Input '{name}' has values out of the range of {datatype} [{info.min}, {info.max}]"
            )
        return wide.astype(dtype).reshape(shape)
    return np.array(values, dtype=dtype).reshape(shape)


def response_to_proto(result: V2Result, *, raw: bool) -> pb.ModelInferResponse:
    response = pb.ModelInferResponse(
        model_name=result.model_name, model_version=result.model_version, id=result.id
    )
    raw = raw or any(datatype_of(n, a) not in CONTENT_FIELDS for n, a in result.outputs)
    for name, array in result.outputs:
        datatype = datatype_of(name, array)
        tensor = response.outputs.add(name=name, datatype=datatype, shape=array.shape)
        if raw:
            response.raw_output_contents.append(encode_raw(array))
        elif datatype == "BYTES":
            tensor.contents.bytes_contents.extend(
                e.encode() if isinstance(e, str) else bytes(e) for e in array.flat
            )
        else:
            getattr(tensor.contents, CONTENT_FIELDS[datatype]).extend(array.reshape(-1).tolist())
    return response
