"""Classify and Regress: signature checks, the serialized-Example input tensor and the result
conversion, with TF Serving's messages (classifier.cc, regressor.cc, util.cc)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pyserving.dtypes import DataType, from_numpy
from pyserving.errors import Code, ServingError
from pyserving.service.method_names import CLASSIFY_METHOD, REGRESS_METHOD, method_name
from pyserving.service.types import ExampleInput
from pyserving.signature import DEFAULT_SERVING_SIGNATURE, CallKind, Signature

CLASSIFY_INPUTS = "inputs"
CLASSIFY_CLASSES = "classes"
CLASSIFY_SCORES = "scores"
REGRESS_OUTPUTS = "outputs"


def find_signature(signatures: Mapping[str, Signature], name: str) -> Signature:
    key = name or DEFAULT_SERVING_SIGNATURE
    signature = signatures.get(key)
    if signature is None:
        raise ServingError(Code.INVALID_ARGUMENT, f"No signature was found with the name: {key}")
    return signature


def _describe(signature: Signature) -> str:
    inputs = ", ".join(f"{a}: {s.name}" for a, s in signature.inputs.items())
    outputs = ", ".join(f"{a}: {s.name}" for a, s in signature.outputs.items())
    return f"{{inputs {{{inputs}}} outputs {{{outputs}}} method_name: {method_name(signature)}}}"


def _shape(array: np.ndarray) -> str:
    return "[" + ",".join(str(d) for d in array.shape) + "]"


def classify_fetches(signature: Signature, *, check_method_name: bool) -> tuple[str, list[str]]:
    """The input tensor name and the output aliases (classes and/or scores) to fetch."""
    if check_method_name and CallKind.CLASSIFY not in signature.calls:
        raise ServingError(
            Code.INVALID_ARGUMENT,
            f"Expected classification signature method_name to be {CLASSIFY_METHOD}. "
            f"Was: {method_name(signature)}",
        )
    if len(signature.inputs) != 1:
        raise ServingError(Code.INVALID_ARGUMENT, "Expected one input Tensor.")
    if len(signature.outputs) not in (1, 2):
        raise ServingError(
            Code.INVALID_ARGUMENT,
            f"Expected one or two output Tensors, found {len(signature.outputs)}",
        )
    spec = signature.inputs.get(CLASSIFY_INPUTS)
    if spec is None:
        raise ServingError(
            Code.FAILED_PRECONDITION,
            f"No classification inputs found in SignatureDef: {_describe(signature)}",
        )
    aliases = [a for a in (CLASSIFY_CLASSES, CLASSIFY_SCORES) if a in signature.outputs]
    if not aliases:
        raise ServingError(
            Code.FAILED_PRECONDITION,
            "Expected classification signature outputs to contain at least one of "
            f'"{CLASSIFY_CLASSES}" or "{CLASSIFY_SCORES}". Signature was: {_describe(signature)}',
        )
    return spec.name, aliases


def regress_fetch(signature: Signature, *, check_method_name: bool) -> str:
    """The input tensor name; the single output is ``outputs``."""
    if check_method_name and CallKind.REGRESS not in signature.calls:
        raise ServingError(
            Code.INVALID_ARGUMENT,
            f"Expected regression signature method_name to be {REGRESS_METHOD}. "
            f"Was: {method_name(signature)}",
        )
    if len(signature.inputs) != 1:
        raise ServingError(Code.INVALID_ARGUMENT, "Expected one input Tensor.")
    if len(signature.outputs) != 1:
        raise ServingError(Code.INVALID_ARGUMENT, "Expected one output Tensor.")
    spec = signature.inputs.get(CLASSIFY_INPUTS)
    if spec is None:
        raise ServingError(
            Code.FAILED_PRECONDITION,
            f"No regression inputs found in SignatureDef: {_describe(signature)}",
        )
    if REGRESS_OUTPUTS not in signature.outputs:
        raise ServingError(
            Code.FAILED_PRECONDITION,
            f"No regression outputs found in SignatureDef: {_describe(signature)}",
        )
    return spec.name


def example_tensor(data: ExampleInput) -> np.ndarray:
    """The DT_STRING vector fed to ``inputs``: one serialized Example per element.

    With a context, each element is the context's bytes followed by the example's: parsing
    concatenated protobuf messages merges them, so the example's own features win.
    """
    if not data.examples:
        raise ServingError(Code.INVALID_ARGUMENT, "Input is empty.")
    tensor = np.empty(len(data.examples), dtype=object)
    if data.context is None:
        tensor[:] = list(data.examples)
    else:
        context = data.context
        tensor[:] = [context + example for example in data.examples]
    return tensor


def _check_classify_output(name: str, tensor: np.ndarray, dtype: DataType, rows: int) -> None:
    if tensor.ndim != 2:
        raise ServingError(
            Code.INVALID_ARGUMENT,
            f"Expected Tensor shape: [batch_size num_classes] but got {_shape(tensor)}",
        )
    got = from_numpy(tensor.dtype)
    if got != dtype:
        raise ServingError(
            Code.INVALID_ARGUMENT, f"Expected {name} Tensor of {dtype.name}. Got: {got.name}"
        )
    if tensor.shape[0] != rows:
        raise ServingError(
            Code.INVALID_ARGUMENT,
            f"Expected {name} output batch size of {rows}. Got: {tensor.shape[0]}",
        )


def classifications(
    aliases: list[str], outputs: list[np.ndarray], rows: int
) -> list[list[tuple[bytes, float]]]:
    by_alias = dict(zip(aliases, outputs, strict=True))
    classes = by_alias.get(CLASSIFY_CLASSES)
    scores = by_alias.get(CLASSIFY_SCORES)
    if classes is not None:
        _check_classify_output("classes", classes, DataType.DT_STRING, rows)
    if scores is not None:
        _check_classify_output("scores", scores, DataType.DT_FLOAT, rows)
    if classes is not None and scores is not None and classes.shape[1] != scores.shape[1]:
        raise ServingError(
            Code.INVALID_ARGUMENT,
            "Tensors class and score should match in dim_size(1). "
            f"Got {classes.shape[1]} vs. {scores.shape[1]}",
        )
    reference = classes if classes is not None else scores
    if reference is None:  # classify_fetches guarantees one of them
        raise ServingError(Code.INTERNAL, "Classification produced no outputs")
    width = reference.shape[1]
    label_rows = classes.tolist() if classes is not None else [[b""] * width] * rows
    score_rows = scores.tolist() if scores is not None else [[0.0] * width] * rows
    return [
        [(bytes(label), float(score)) for label, score in zip(lr, sr, strict=True)]
        for lr, sr in zip(label_rows, score_rows, strict=True)
    ]


def regressions(output: np.ndarray, rows: int) -> list[float]:
    if not (output.ndim == 1 or (output.ndim == 2 and output.shape[1] == 1)):
        raise ServingError(
            Code.INVALID_ARGUMENT,
            "Expected output Tensor shape to be either [batch_size] or [batch_size, 1] "
            f"but got {_shape(output)}",
        )
    if output.dtype != np.float32:
        raise ServingError(
            Code.INVALID_ARGUMENT,
            f"Expected output Tensor of DT_FLOAT.  Got: {from_numpy(output.dtype).name}",
        )
    if output.shape[0] != rows:
        raise ServingError(
            Code.INVALID_ARGUMENT,
            f"Input batch size did not match output batch size: {rows} vs. {output.shape[0]}",
        )
    return [float(v) for v in output.reshape(-1).tolist()]
