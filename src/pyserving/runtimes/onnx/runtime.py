"""The ``onnx`` platform: ``<version>/model.onnx`` served through onnxruntime's CPU provider.

Each version has one signature, ``serving_default``, built from the graph: one input per graph
input and one output per graph output, keyed (and named) by the graph's own names, with their
types and shapes (symbolic dimensions, such as a dynamic batch, are -1). Graph outputs that are not
tensors (the sequences and maps some converters add) are left out of the signature; an input of a
type pyserving cannot feed fails the load with INVALID_ARGUMENT. Inputs and outputs are sorted by
name, as in TensorFlow signatures.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any, Final

import onnxruntime as ort

from pyserving.dtypes import DataType
from pyserving.errors import Code, ServingError, invalid_argument
from pyserving.runtimes.base import LoadOptions, Runtime
from pyserving.runtimes.onnx import types
from pyserving.runtimes.onnx.errors import load_error
from pyserving.runtimes.onnx.model import OnnxModel
from pyserving.runtimes.onnx.options import OnnxLoadOptions, default_intra_op_threads
from pyserving.signature import DEFAULT_SERVING_SIGNATURE, Signature, TensorSpec

logger = logging.getLogger(__name__)

MODEL_FILE: Final = "model.onnx"

_LEVELS: Final = {
    "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


class OnnxRuntime(Runtime):
    """Loads ONNX versions. ``load`` is thread-safe."""

    platform = "onnx"

    def is_version_complete(self, path: str) -> bool:
        return os.path.isfile(os.path.join(path, MODEL_FILE))

    def load(self, path: str, options: LoadOptions) -> OnnxModel:
        """Load ``path/model.onnx``; blocking.

        Raises ServingError: NOT_FOUND without a model.onnx, DATA_LOSS for an unparsable one,
        INVALID_ARGUMENT for an invalid graph or an input type pyserving cannot feed.
        """
        started = time.monotonic()
        file = os.path.join(path, MODEL_FILE)
        if not os.path.isfile(file):
            raise ServingError(
                Code.NOT_FOUND, f"Could not find {MODEL_FILE} in the ONNX version directory {path}"
            )
        settings = options.get(self.platform, OnnxLoadOptions())
        try:
            session = ort.InferenceSession(
                file, _session_options(settings), providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise load_error(path, exc) from None
        signature, string_inputs, string_outputs = _signature(path, session)
        model = OnnxModel(
            path,
            session,
            {DEFAULT_SERVING_SIGNATURE: signature},
            string_inputs,
            string_outputs,
        )
        logger.info(
            "Loaded ONNX model %s (%d inputs, %d outputs) in %.0f ms",
            file,
            len(signature.inputs),
            len(signature.outputs),
            (time.monotonic() - started) * 1000,
        )
        return model


def _session_options(settings: OnnxLoadOptions) -> ort.SessionOptions:
    result = ort.SessionOptions()
    # Failures reach the client (and the load log) as errors already: onnxruntime's own log lines
    # for them (a bad request's shape, an expired deadline) would only repeat them on stderr.
    result.log_severity_level = 4
    result.graph_optimization_level = _LEVELS[settings.graph_optimization_level]
    result.intra_op_num_threads = settings.intra_op_threads or default_intra_op_threads()
    if settings.inter_op_threads > 0:
        result.execution_mode = ort.ExecutionMode.ORT_PARALLEL
        result.inter_op_num_threads = settings.inter_op_threads
    result.add_session_config_entry(
        "session.intra_op.allow_spinning", "1" if settings.allow_spinning else "0"
    )
    return result


def _signature(
    path: str, session: ort.InferenceSession
) -> tuple[Signature, frozenset[str], frozenset[str]]:
    inputs: dict[str, TensorSpec] = {}
    for arg in session.get_inputs():
        spec = _spec(arg)
        if spec is None:
            raise invalid_argument(
                f"The ONNX model at {path} has input {arg.name} of type {arg.type}, which "
                f"pyserving cannot feed; supported: {', '.join(types.ONNX_TENSOR_TYPES)}"
            )
        inputs[arg.name] = spec
    outputs: dict[str, TensorSpec] = {}
    for arg in session.get_outputs():
        spec = _spec(arg)
        if spec is None:
            logger.warning(
                "Output %s of the ONNX model at %s has type %s, which pyserving cannot return; "
                "it is left out of the signature",
                arg.name,
                path,
                arg.type,
            )
            continue
        outputs[arg.name] = spec
    if not outputs:
        raise invalid_argument(
            f"The ONNX model at {path} has no output pyserving can return (outputs: "
            + ", ".join(f"{a.name} {a.type}" for a in session.get_outputs())
            + ")"
        )
    # Sorted by name, as TensorFlow signatures are: answers list outputs in the same order.
    signature = Signature(
        key=DEFAULT_SERVING_SIGNATURE,
        inputs=dict(sorted(inputs.items())),
        outputs=dict(sorted(outputs.items())),
    )
    return signature, _strings(inputs), _strings(outputs)


def _spec(arg: Any) -> TensorSpec | None:
    dtype = types.data_type(str(arg.type))
    if dtype is None:
        return None
    return TensorSpec(str(arg.name), dtype, types.shape_of(list(arg.shape)))


def _strings(specs: dict[str, TensorSpec]) -> frozenset[str]:
    return frozenset(s.name for s in specs.values() if s.dtype is DataType.DT_STRING)
