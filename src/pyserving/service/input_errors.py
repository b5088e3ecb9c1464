"""Explaining a model call that failed because of its inputs.

TensorFlow answers a wrong input with its graph's view (``Matrix size-incompatible: In[0]:
[1,3], In[1]: [64,32] [[{{node StatefulPartitionedCall_1/...}}]]``), which does not say which
request input was wrong. When a call fails with INVALID_ARGUMENT, :func:`explain_input_error`
puts in front of that text each input whose dtype or shape differs from what the signature
declares: ``input 'x': sent float32 [1,3]; the signature declares float32 [-1,64]``.

It only explains failures: requests are never checked against declared shapes before running,
since signatures often declare shapes the graph does not enforce (TF Serving runs whatever the
graph accepts).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pyserving.dtypes import DataType, to_numpy
from pyserving.errors import Code, ModelRunError, ServingError
from pyserving.signature import Signature, TensorSpec


def explain_input_error(
    error: ServingError, signature: Signature, inputs: Mapping[str, np.ndarray]
) -> ServingError:
    """``error`` with the mismatching inputs named first; ``error`` itself when it is not an
    INVALID_ARGUMENT the model call raised (:class:`ModelRunError`: the batcher's and the
    request checks' own errors are exact already) or no input differs from the signature."""
    if not isinstance(error, ModelRunError) or error.code is not Code.INVALID_ARGUMENT:
        return error
    parts = []
    for alias in sorted(inputs):
        spec = signature.inputs.get(alias)
        tensor = inputs[alias]
        if spec is not None and _differs(spec, tensor):
            parts.append(
                f"input '{alias}': sent {_dtype_name(tensor.dtype)} {_shape(tensor.shape)}; "
                f"the signature declares {_declared_dtype(spec.dtype)} {_shape(spec.shape)}"
            )
    if not parts:
        return error
    return ModelRunError(error.code, f"{'. '.join(parts)}. {error.message}")


def _differs(spec: TensorSpec, tensor: np.ndarray) -> bool:
    declared = to_numpy(spec.dtype)
    if declared is not None and declared != tensor.dtype and declared.kind != "O":
        return True
    if spec.shape is None:
        return False
    if len(spec.shape) != tensor.ndim:
        return True
    return any(want not in (-1, got) for want, got in zip(spec.shape, tensor.shape, strict=True))


def _shape(shape: tuple[int, ...] | None) -> str:
    if shape is None:
        return "of any shape"
    return "[" + ",".join(str(d) for d in shape) + "]"


def _dtype_name(dtype: np.dtype[np.generic]) -> str:
    return "string" if dtype.kind in "OSU" else dtype.name


def _declared_dtype(dtype: DataType) -> str:
    numpy_dtype = to_numpy(dtype)
    if numpy_dtype is None or numpy_dtype.kind == "O":
        return "string" if dtype is DataType.DT_STRING else dtype.name.removeprefix("DT_").lower()
    return numpy_dtype.name
