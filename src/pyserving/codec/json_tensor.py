"""Predict request bodies (``instances`` / ``inputs``) to named numpy tensors, as TF Serving does.

The entry points follow TF Serving's ``FillPredictRequestFromJson``: ``request_signature_name``
validates the document and reads ``signature_name``; the caller resolves the signature (its
"not found" error is the caller's); ``decode_predict_inputs`` then decodes the tensors with the
signature's dtypes. Shapes come from the request only; they are never checked against the
signature (TF1 sessions feed tensors by name whatever their shape).

Input names are visited in sorted order wherever TF Serving walks its (unordered) protobuf map, so
errors that depend on that order are at least deterministic.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

import numpy as np

from pyserving.codec.b64 import is_b64_object
from pyserving.codec.json_text import value_text
from pyserving.codec.predict_rows import decode_rows
from pyserving.codec.tensor_fast import fast_tensor
from pyserving.codec.tensor_fill import dense_shape, fill, to_array
from pyserving.dtypes import DataType
from pyserving.errors import ServingError, invalid_argument
from pyserving.signature import DEFAULT_SERVING_SIGNATURE, Signature, TensorSpec


class Format(enum.Enum):
    """Which request layout was used; the response mirrors it."""

    ROW = "row"  # {"instances": [...]}  -> {"predictions": [...]}
    COLUMNAR = "columnar"  # {"inputs": ...}  -> {"outputs": ...}


def request_signature_name(body: object) -> str:
    """The signature a predict/classify/regress body names (``serving_default`` if none/empty).

    Raises INVALID_ARGUMENT when the body is not a JSON object or ``signature_name`` is not a
    string, with TF Serving's messages (which quote the whole document).
    """
    if type(body) is not dict:
        raise invalid_argument(f"JSON Value: {value_text(body)} Is not object")
    if "signature_name" not in body:
        return DEFAULT_SERVING_SIGNATURE
    name = body["signature_name"]
    if not isinstance(name, str):
        raise invalid_argument(
            f"JSON Value: {value_text(body)} not formatted correctly. "
            "'signature_name' key must be a string value."
        )
    return name or DEFAULT_SERVING_SIGNATURE


def decode_predict_inputs(
    body: dict[str, object], signature: Signature, *, booleans: bool = True
) -> tuple[Format, dict[str, np.ndarray]]:
    """The request's layout and its tensors, keyed by input alias, typed by the signature.

    ``booleans=False``: the caller knows the document holds no JSON boolean (see
    :func:`~pyserving.codec.tensor_fast.may_hold_booleans`), which saves looking for them.

    ``body`` is a document already accepted by ``request_signature_name``. Every malformed
    request raises ``ServingError`` with TF Serving's code and message: INVALID_ARGUMENT, or
    UNIMPLEMENTED for element types JSON cannot express (half, bfloat16, complex...).
    """
    if not signature.inputs:
        raw_name = body.get("signature_name")
        shown = raw_name if isinstance(raw_name, str) and raw_name else "DEFAULT"
        raise invalid_argument(f"Failed to get input map for signature: {shown}")
    if "instances" in body:
        if "inputs" in body:
            raise _document_error(
                body,
                "Not formatted correctly expecting only one of 'inputs' or 'instances' keys "
                "to exist ",  # sic: TF Serving's message ends with a space
            )
        instances = body["instances"]
        if not isinstance(instances, list):
            # The reference's wording; the upstream json_tensor.cc versions we could read spell
            # it "Excepting 'instances' ...". Clients match on the tail, which is the same.
            raise _document_error(body, "Expecting 'instances' to be an list/array")
        if not instances:
            raise _document_error(body, "No values in 'instances' array")
        return Format.ROW, decode_rows(instances, signature.inputs, booleans=booleans)
    if "inputs" in body:
        return Format.COLUMNAR, _decode_columns(body["inputs"], signature.inputs, booleans)
    raise invalid_argument("Missing 'inputs' or 'instances' key")


def _document_error(body: object, problem: str) -> ServingError:
    return invalid_argument(f"JSON Value: {value_text(body)} {problem}")


def _decode_columns(
    value: object, inputs: Mapping[str, TensorSpec], booleans: bool
) -> dict[str, np.ndarray]:
    """``inputs``: a bare value (one-input signatures only) or an object of named values."""
    names = sorted(inputs)
    if type(value) is not dict or is_b64_object(value):
        if len(names) > 1:
            raise invalid_argument(
                "inputs is a plain value/list, but expecting an object as multiple input "
                "tensors required as per tensorinfo_map"
            )
        return {names[0]: decode_tensor(value, inputs[names[0]].dtype, booleans=booleans)}
    tensors: dict[str, np.ndarray] = {}
    for name in names:  # keys that are not inputs are ignored
        if name not in value:
            raise invalid_argument(f"Missing named input: {name} in 'inputs' object.")
        tensors[name] = decode_tensor(value[name], inputs[name].dtype, booleans=booleans)
    return tensors


def decode_tensor(value: object, dtype: DataType, *, booleans: bool = True) -> np.ndarray:
    """One whole tensor (a scalar is rank 0); errors are TF's, unwrapped."""
    tensor = fast_tensor(value, dtype, booleans=booleans)
    if tensor is not None:
        return tensor
    shape = dense_shape(value)
    leaves: list[object] = []
    fill(value, shape, dtype, leaves)
    return to_array(leaves, shape, dtype)
