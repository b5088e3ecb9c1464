"""Small ONNX models built with the ``onnx`` helper API, for the ONNX runtime's tests.

Every builder returns a ``ModelProto``; :func:`write_version` saves one as
``<base>/<version>/model.onnx`` (optionally with its weights in an external-data file), published
with an atomic rename as a real publisher would. Imports no TensorFlow.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Final

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET: Final = 17
IR_VERSION: Final = 8  # readable by every onnxruntime the `onnx` extra allows

# The numeric types the dtype model echoes: (ONNX element type, numpy dtype).
NUMERIC_TYPES: Final = (
    (TensorProto.FLOAT, np.float32),
    (TensorProto.DOUBLE, np.float64),
    (TensorProto.FLOAT16, np.float16),
    (TensorProto.INT8, np.int8),
    (TensorProto.INT16, np.int16),
    (TensorProto.INT32, np.int32),
    (TensorProto.INT64, np.int64),
    (TensorProto.UINT8, np.uint8),
    (TensorProto.UINT16, np.uint16),
    (TensorProto.UINT32, np.uint32),
    (TensorProto.UINT64, np.uint64),
    (TensorProto.BOOL, np.bool_),
)

LINEAR_W: Final = np.array([[1.0, -1.0], [2.0, 0.5], [0.0, 3.0]], dtype=np.float32)
LINEAR_B: Final = np.array([0.25, -0.5], dtype=np.float32)


def _model(graph: onnx.GraphProto) -> onnx.ModelProto:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def _float(name: str, dims: list[int | str]) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)


def half_plus_two() -> onnx.ModelProto:
    """``y = 0.5 * x + 2`` on ``x`` float [batch]: TF Serving's half_plus_two as ONNX."""
    half = numpy_helper.from_array(np.array(0.5, np.float32), "half")
    two = numpy_helper.from_array(np.array(2.0, np.float32), "two")
    nodes = [
        helper.make_node("Mul", ["x", "half"], ["x_half"]),
        helper.make_node("Add", ["x_half", "two"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "half_plus_two", [_float("x", ["batch"])], [_float("y", ["batch"])], [half, two]
    )
    return _model(graph)


def half_plus_three() -> onnx.ModelProto:
    """``y = 0.5 * x + 3`` (a second version that answers differently from half_plus_two)."""
    model = half_plus_two()
    for init in model.graph.initializer:
        if init.name == "two":
            init.CopyFrom(numpy_helper.from_array(np.array(3.0, np.float32), "two"))
    return model


def linear() -> onnx.ModelProto:
    """``y = x @ W + b``: MatMul and Add on ``x`` float [batch, 3] -> ``y`` float [batch, 2]."""
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["xw"]),
        helper.make_node("Add", ["xw", "b"], ["y"]),
    ]
    weights = [numpy_helper.from_array(LINEAR_W, "W"), numpy_helper.from_array(LINEAR_B, "b")]
    graph = helper.make_graph(
        nodes, "linear", [_float("x", ["batch", 3])], [_float("y", ["batch", 2])], weights
    )
    return _model(graph)


def two_outputs() -> onnx.ModelProto:
    """``x`` float [batch] -> ``plus_one`` = x + 1 and ``times_two`` = 2x."""
    one = numpy_helper.from_array(np.array(1.0, np.float32), "one")
    two = numpy_helper.from_array(np.array(2.0, np.float32), "two")
    nodes = [
        helper.make_node("Add", ["x", "one"], ["plus_one"]),
        helper.make_node("Mul", ["x", "two"], ["times_two"]),
    ]
    outputs = [_float("plus_one", ["batch"]), _float("times_two", ["batch"])]
    graph = helper.make_graph(nodes, "two_outputs", [_float("x", ["batch"])], outputs, [one, two])
    return _model(graph)


def strings() -> onnx.ModelProto:
    """``text`` string [batch] -> ``echo`` (Identity) and ``upper`` (StringNormalizer, ASCII
    letters only: the C locale, present everywhere)."""
    nodes = [
        helper.make_node("Identity", ["text"], ["echo"]),
        helper.make_node(
            "StringNormalizer", ["text"], ["upper"], case_change_action="UPPER", locale="C"
        ),
    ]
    text = helper.make_tensor_value_info("text", TensorProto.STRING, ["batch"])
    outputs = [
        helper.make_tensor_value_info("echo", TensorProto.STRING, ["batch"]),
        helper.make_tensor_value_info("upper", TensorProto.STRING, ["batch"]),
    ]
    return _model(helper.make_graph(nodes, "strings", [text], outputs))


def numeric_echo() -> onnx.ModelProto:
    """One Identity per numeric type: ``in_<type>`` [batch] -> ``out_<type>``."""
    nodes, inputs, outputs = [], [], []
    for elem, dtype in NUMERIC_TYPES:
        name = np.dtype(dtype).name
        nodes.append(helper.make_node("Identity", [f"in_{name}"], [f"out_{name}"]))
        inputs.append(helper.make_tensor_value_info(f"in_{name}", elem, ["batch"]))
        outputs.append(helper.make_tensor_value_info(f"out_{name}", elem, ["batch"]))
    return _model(helper.make_graph(nodes, "numeric_echo", inputs, outputs))


def bfloat16_input() -> onnx.ModelProto:
    """A bfloat16 input: a type numpy (and so pyserving) cannot feed."""
    x = helper.make_tensor_value_info("x", TensorProto.BFLOAT16, ["batch"])
    y = helper.make_tensor_value_info("y", TensorProto.BFLOAT16, ["batch"])
    return _model(helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "bf16", [x], [y]))


def mlp(sizes: tuple[int, ...] = (784, 512, 512, 10), seed: int = 0) -> onnx.ModelProto:
    """A ReLU MLP ``x`` float [batch, sizes[0]] -> ``y`` float [batch, sizes[-1]]."""
    rng = np.random.default_rng(seed)
    nodes, weights = [], []
    current = "x"
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        w = rng.normal(0, 1 / np.sqrt(n_in), (n_in, n_out)).astype(np.float32)
        weights += [
            numpy_helper.from_array(w, f"W{i}"),
            numpy_helper.from_array(np.zeros(n_out, np.float32), f"b{i}"),
        ]
        out = "y" if i == len(sizes) - 2 else f"h{i}"
        nodes.append(helper.make_node("Gemm", [current, f"W{i}", f"b{i}"], [f"{out}_pre"]))
        if out == "y":
            nodes.append(helper.make_node("Identity", [f"{out}_pre"], ["y"]))
        else:
            nodes.append(helper.make_node("Relu", [f"{out}_pre"], [out]))
        current = out
    graph = helper.make_graph(
        nodes,
        "mlp",
        [_float("x", ["batch", sizes[0]])],
        [_float("y", ["batch", sizes[-1]])],
        weights,
    )
    return _model(graph)


def write_version(
    base: Path, version: int, model: onnx.ModelProto, *, external_data: bool = False
) -> Path:
    """Publish ``model`` as ``base/<version>/model.onnx`` (atomic rename); returns the directory."""
    final = base / str(version)
    scratch = base / f".tmp-{version}"
    scratch.mkdir(parents=True, exist_ok=False)
    onnx.save_model(
        model,
        str(scratch / "model.onnx"),
        save_as_external_data=external_data,
        all_tensors_to_one_file=True,
        location="weights.bin",
        size_threshold=0,
    )
    os.rename(scratch, final)
    return final


def slow(size: int = 256) -> onnx.ModelProto:
    """``n`` int64 scalar -> ``y``: ``n`` chained [size, size] MatMuls in a Loop (runs as long as
    asked, and onnxruntime can stop it between iterations)."""
    eye = numpy_helper.from_array(np.eye(size, dtype=np.float32), "W")
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("MatMul", ["acc_in", "W"], ["acc_out"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            _float("acc_in", [size, size]),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            _float("acc_out", [size, size]),
        ],
    )
    init = [
        eye,
        numpy_helper.from_array(np.array(True), "t"),
        numpy_helper.from_array(np.ones((size, size), np.float32), "acc0"),
    ]
    nodes = [
        helper.make_node("Loop", ["n", "t", "acc0"], ["acc"], body=body),
        helper.make_node("ReduceSum", ["acc"], ["y"], keepdims=0),
    ]
    n = helper.make_tensor_value_info("n", TensorProto.INT64, [])
    return _model(helper.make_graph(nodes, "slow", [n], [_float("y", [])], init))


def versioned(version: int) -> onnx.ModelProto:
    """``y = x + version`` on ``x`` float [batch]: the ONNX twin of
    ``tests.integration.versioned_model`` (each answer to ``x = 0`` names its version)."""
    offset = numpy_helper.from_array(np.array(float(version), np.float32), "offset")
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "offset"], ["y"])],
        f"versioned_{version}",
        [_float("x", ["batch"])],
        [_float("y", ["batch"])],
        [offset],
    )
    return _model(graph)
