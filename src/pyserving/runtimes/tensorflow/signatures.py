"""A MetaGraphDef's SignatureDefs -> neutral :class:`Signature` plus the SignatureDefs themselves.

Every SignatureDef is listed, ``__saved_model_init_op`` included, sorted by key. Each is also kept
serialized deterministically (:class:`NativeSignatures`), so metadata answers are TensorFlow
Serving's. A SignatureDef's ``method_name`` becomes the neutral ``Signature.calls``: a predict
signature serves Predict; a classify (regress) signature serves Classify (Regress) and, as in
TensorFlow Serving's method-name check, Predict too; any other method name declares no call.

Dense inputs and outputs (``TensorInfo.name``) become ``TensorSpec(name=<tensor name>)``. Sparse
(``coo_sparse``) and composite (``composite_tensor``) TensorInfo have no single tensor to feed or
fetch by name: their spec gets the empty name :data:`NOT_RUNNABLE`, the empty ``TensorInfo.name``
TensorFlow Serving itself would pass to the session, and running with it raises UNIMPLEMENTED. They
stay intact in the serialized SignatureDef. (JSON requests cannot express them either.)
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from pyserving.dtypes import DataType
from pyserving.errors import invalid_argument
from pyserving.runtimes.tensorflow import _tf
from pyserving.runtimes.tensorflow.status import describe
from pyserving.signature import (
    PREDICT_ONLY,
    CallKind,
    NativeSignatures,
    Signature,
    TensorSpec,
)

NOT_RUNNABLE: Final = ""
"""The TensorSpec name of a sparse or composite signature tensor, which cannot be fed or fetched."""

# DataType numbers above this are reference types (DT_FLOAT_REF = 101): TF1 variables exported
# as signature outputs (the counter model). The fetched tensor has the base type.
_REF_OFFSET: Final = 100


SIGNATURE_DEF_FORMAT: Final = "tensorflow.SignatureDef"

_CALLS: Final = {
    "tensorflow/serving/predict": PREDICT_ONLY,
    "tensorflow/serving/classify": frozenset({CallKind.PREDICT, CallKind.CLASSIFY}),
    "tensorflow/serving/regress": frozenset({CallKind.PREDICT, CallKind.REGRESS}),
}


def signatures_from_meta_graph(
    meta_graph: Any,
) -> tuple[dict[str, Signature], NativeSignatures]:
    """The signatures of a ``tensorflow.MetaGraphDef`` by key, and its serialized SignatureDefs.

    Raises ServingError(INVALID_ARGUMENT) if a signature's ``defaults`` cannot be decoded.
    """
    keys = sorted(meta_graph.signature_def)
    signatures = {key: _signature(key, meta_graph.signature_def[key]) for key in keys}
    serialized = {
        key: bytes(meta_graph.signature_def[key].SerializeToString(deterministic=True))
        for key in keys
    }
    return signatures, NativeSignatures(SIGNATURE_DEF_FORMAT, serialized)


def _signature(key: str, signature_def: Any) -> Signature:
    return Signature(
        key=key,
        inputs=_specs(signature_def.inputs),
        outputs=_specs(signature_def.outputs),
        defaults=_defaults(key, signature_def.defaults),
        calls=_CALLS.get(str(signature_def.method_name), frozenset()),
    )


def _specs(tensor_infos: Any) -> dict[str, TensorSpec]:
    return {alias: _spec(tensor_infos[alias]) for alias in sorted(tensor_infos)}


def _spec(tensor_info: Any) -> TensorSpec:
    dense = tensor_info.WhichOneof("encoding") == "name"
    return TensorSpec(
        name=str(tensor_info.name) if dense else NOT_RUNNABLE,
        dtype=data_type(int(tensor_info.dtype)),
        shape=_shape(tensor_info.tensor_shape),
    )


def _shape(shape_proto: Any) -> tuple[int, ...] | None:
    if shape_proto.unknown_rank:
        return None
    return tuple(int(dim.size) for dim in shape_proto.dim)


def data_type(number: int) -> DataType:
    """The DataType of a ``tensorflow.DataType`` number: reference types map to their base type,
    numbers pyserving does not know (float8, int4...) to DT_INVALID."""
    if number > _REF_OFFSET:
        number -= _REF_OFFSET
    try:
        return DataType(number)
    except ValueError:
        return DataType.DT_INVALID


def _defaults(key: str, defaults: Any) -> dict[str, np.ndarray]:
    decoded: dict[str, np.ndarray] = {}
    for alias in sorted(defaults):
        try:
            value = _tf.tf.make_ndarray(defaults[alias])
        except Exception as exc:  # make_ndarray raises TypeError/ValueError/... on odd protos.
            raise invalid_argument(
                f"Signature {key!r}: cannot decode the default value of input {alias!r}: "
                f"{describe(exc)}"
            ) from None
        decoded[alias] = np.asarray(value)
    return decoded
