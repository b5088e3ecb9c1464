"""One function per REST action: decode the JSON body, call the core service, encode the answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import numpy as np

from pyserving.api.rest.routes import Route
from pyserving.codec import json_encode, json_examples, json_parse, json_tensor
from pyserving.codec.proto_views import metadata_json, status_json
from pyserving.codec.tensor_fast import may_hold_booleans
from pyserving.errors import Code, ServingError
from pyserving.service.core import ServingService
from pyserving.service.types import ExampleInput, ModelSpec
from pyserving.signature import DEFAULT_SERVING_SIGNATURE, Signature


async def predict(service: ServingService, route: Route, body: bytes, timeout_ms: int) -> bytes:
    document = json_parse.parse_json_body(body)
    signature_name = json_tensor.request_signature_name(document)
    request = cast(dict[str, object], document)  # request_signature_name checked it is an object
    booleans = may_hold_booleans(body)
    decoded: list[json_tensor.Format] = []

    def decode(signatures: Mapping[str, Signature]) -> Mapping[str, np.ndarray]:
        key = signature_name or DEFAULT_SERVING_SIGNATURE
        signature = signatures.get(key)
        if signature is None:
            raise ServingError(
                Code.INVALID_ARGUMENT, f'Serving signature name: "{key}" not found in signature def'
            )
        fmt, inputs = json_tensor.decode_predict_inputs(request, signature, booleans=booleans)
        decoded.append(fmt)
        return inputs

    spec = ModelSpec(route.name, route.version, route.label, signature_name)
    result = await service.predict(spec, decode, (), timeout_ms)
    return json_encode.encode_predict_response(decoded[0], result.outputs)


def _example_spec(route: Route, body: bytes, method: str) -> tuple[ModelSpec, ExampleInput]:
    document = json_parse.parse_json_body(body)
    signature_name, examples, context = json_examples.decode_examples_request(document, method)
    spec = ModelSpec(route.name, route.version, route.label, signature_name)
    return spec, ExampleInput(examples, context)


async def classify(service: ServingService, route: Route, body: bytes, timeout_ms: int) -> bytes:
    spec, data = _example_spec(route, body, "classify")
    result = await service.classify(spec, data, timeout_ms)
    return json_encode.encode_classify_response(result.classifications)


async def regress(service: ServingService, route: Route, body: bytes, timeout_ms: int) -> bytes:
    spec, data = _example_spec(route, body, "regress")
    result = await service.regress(spec, data, timeout_ms)
    return json_encode.encode_regress_response(result.values)


def status(service: ServingService, route: Route) -> bytes:
    # TF Serving ignores a label on status requests and reports every version.
    return json_encode.encode_json(status_json(service.model_status(route.name, route.version)))


def metadata(service: ServingService, route: Route) -> bytes:
    result = service.metadata(ModelSpec(route.name, route.version, route.label))
    return json_encode.encode_json(
        metadata_json(result.name, result.version, result.signatures, result.native_signatures)
    )
