"""Classify/Regress request bodies to serialized ``tensorflow.Example`` records.

Body: ``{"signature_name"?: str, "context"?: {features}, "examples": [{features}, ...]}``. Each
feature is a scalar or a flat list; its kind comes from the JSON token, as in TF Serving's
``AddValueToFeature``:

* string -> ``bytes_list``; ``{"b64": "..."}`` -> ``bytes_list`` (decoded);
* a number written with ``.``/exponent (or NaN/Infinity) -> ``float_list`` (float32, overflow to
  +-inf); an integer literal -> ``int64_list`` (above int64 is an error); ``true``/``false`` ->
  ``int64_list`` 1/0. So ``{"x": 2}`` is an int64 feature and ``{"x": 2.0}`` a float feature;
* ``null``, nested lists and other objects are errors, and so is mixing kinds in one feature.

The parsed values keep exactly that distinction: the parsers return ``float`` for every literal
with a decimal point or exponent and ``int`` for integer literals (beyond 64 bits: ``float``, as
rapidjson stores them as doubles).
"""

from __future__ import annotations

from typing import Final

import numpy as np

from pyserving.codec.b64 import b64_decode, is_b64_object
from pyserving.codec.json_tensor import request_signature_name
from pyserving.codec.json_text import json_type_name, value_text
from pyserving.codec.tensor_fill import to_bytes
from pyserving.errors import ServingError, invalid_argument
from pyserving.protos import example_pb2, feature_pb2

_INT64_MAX: Final = 2**63 - 1


def decode_examples_request(body: object, method: str) -> tuple[str, list[bytes], bytes | None]:
    """(signature name, serialized examples, serialized context or None) of a request body.

    ``method`` is ``"classify"`` or ``"regress"``; TF Serving's missing-``examples`` message says
    "When method is classify" for both, and so does this function. Errors are INVALID_ARGUMENT
    with TF Serving's messages; the ones about the document's shape quote the whole document.
    """
    del method  # the message is the same for both methods (see the docstring)
    signature_name = request_signature_name(body)
    assert isinstance(body, dict)
    context = _example(body["context"]) if "context" in body else None
    if "examples" not in body:
        raise _document_error(
            body, "When method is classify, key 'examples' is expected and was not found"
        )
    examples = body["examples"]
    if not isinstance(examples, list):
        raise _document_error(body, "Expecting 'examples' value to be an list/array")
    if not examples:
        raise _document_error(body, "'examples' value is an empty array")
    return signature_name, [_example(example) for example in examples], context


def _document_error(body: object, problem: str) -> ServingError:
    return invalid_argument(f"JSON Value: {value_text(body)} {problem}")


def _example(value: object) -> bytes:
    """TF's ``MakeExampleFromJsonObject``, serialized."""
    if type(value) is not dict:
        raise invalid_argument(f"Example must be JSON object but got JSON {json_type_name(value)}")
    example = example_pb2.Example()
    features = example.features.feature
    for name, content in value.items():
        _fill_feature(name, content if isinstance(content, list) else [content], features[name])
    return example.SerializeToString(deterministic=True)


class _Kind:
    BYTES: Final = "bytes"
    FLOAT: Final = "float"
    INT64: Final = "int64"


def _fill_feature(name: str, values: list[object], feature: feature_pb2.Feature) -> None:
    kind: str | None = None
    items: list[object] = []
    for value in values:
        if (
            value is None
            or isinstance(value, list)
            or (isinstance(value, dict) and not is_b64_object(value))
        ):
            raise invalid_argument(
                f"Feature: {name} has element with unexpected JSON type: {json_type_name(value)}"
            )
        if isinstance(value, bool):
            value_kind = _Kind.INT64
        elif isinstance(value, str | dict):
            value_kind = _Kind.BYTES
        elif isinstance(value, float):
            value_kind = _Kind.FLOAT
        else:
            value_kind = _Kind.INT64
        if kind is not None and kind != value_kind:
            raise invalid_argument(
                f"Unexpected element type in feature: {name} expecting type: {kind}"
            )
        kind = value_kind
        if isinstance(value, str):
            items.append(to_bytes(value))
        elif isinstance(value, dict):
            items.append(b64_decode(value["b64"]))
        elif isinstance(value, int) and value > _INT64_MAX:
            raise invalid_argument(
                f"Feature: {name} has uint64_t element. Only int64_t is supported."
            )
        else:
            items.append(value)
    if kind == _Kind.BYTES:
        feature.bytes_list.value.extend(items)  # type: ignore[arg-type]
    elif kind == _Kind.FLOAT:
        with np.errstate(over="ignore"):  # float32 like TF's GetFloat(): overflow gives +-inf
            feature.float_list.value.extend(np.array(items, np.float64).astype(np.float32).tolist())
    elif kind == _Kind.INT64:
        feature.int64_list.value.extend(int(item) for item in items)  # type: ignore[call-overload]
