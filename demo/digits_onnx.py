"""The demo's `digits` classifier as ONNX, exported from the same trained weights (no converter).

The MLP is two dense layers: the graph is Gemm, Relu, Gemm, Softmax, ArgMax, written with the
`onnx` helper API. Same names as the SavedModel's serving_default signature, so the same Predict
request works on both:
    pixels float32 [-1, 64] -> probabilities float32 [-1, 10], class_id int64 [-1].
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

MODEL_FILE = "model.onnx"
OPSET = 17
IR_VERSION = 8


def export(weights: list[FloatArray], export_dir: Path) -> None:
    """Write ``export_dir/model.onnx`` for (hidden kernel, hidden bias, output kernel, output
    bias), the order of ``digits_model.Mlp.variables``."""
    hidden_kernel, hidden_bias, output_kernel, output_bias = weights
    initializers = [
        numpy_helper.from_array(np.asarray(array, np.float32), name)
        for name, array in (
            ("hidden_kernel", hidden_kernel),
            ("hidden_bias", hidden_bias),
            ("output_kernel", output_kernel),
            ("output_bias", output_bias),
        )
    ]
    nodes = [
        helper.make_node("Gemm", ["pixels", "hidden_kernel", "hidden_bias"], ["hidden_pre"]),
        helper.make_node("Relu", ["hidden_pre"], ["hidden"]),
        helper.make_node("Gemm", ["hidden", "output_kernel", "output_bias"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
        helper.make_node("ArgMax", ["probabilities"], ["class_id"], axis=1, keepdims=0),
    ]
    features = hidden_kernel.shape[0]
    classes = output_kernel.shape[1]
    graph = helper.make_graph(
        nodes,
        "digits",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["batch", features])],
        [
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", classes]),
            helper.make_tensor_value_info("class_id", TensorProto.INT64, ["batch"]),
        ],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    export_dir.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, str(export_dir / MODEL_FILE))


def verify_export(
    export_dir: Path, x: FloatArray, expected_probabilities: FloatArray, expected_classes: IntArray
) -> None:
    """Run the export with onnxruntime, as the server does, against the SavedModel's answers.
    Mismatches raise RuntimeError."""
    import onnxruntime

    session = onnxruntime.InferenceSession(
        str(export_dir / MODEL_FILE), providers=["CPUExecutionProvider"]
    )
    probabilities, classes = session.run(["probabilities", "class_id"], {"pixels": x})
    if not np.allclose(probabilities, expected_probabilities, rtol=1e-5, atol=1e-6):
        raise RuntimeError(f"{export_dir}: the ONNX probabilities disagree with the SavedModel's")
    if not np.array_equal(classes, expected_classes):
        raise RuntimeError(f"{export_dir}: the ONNX class_id disagrees with the SavedModel's")
