"""Build the ONNX twins of the benchmark models (no TensorFlow needed).

Usage: python make_onnx.py half_plus_two OUT_DIR
       python make_onnx.py mlp OUT_DIR [HIDDEN]     (writes OUT_DIR/1/model.onnx)

``half_plus_two``: ``y = 0.5 x + 2`` on ``x`` float32 [-1, 1] (requests send rows of one value).
``mlp``: the function of make_mlp.py (same seed, same weights: 784-H-H-10, ReLU, softmax),
``x`` float32 [-1, 784] -> ``y`` float32 [-1, 10].
"""

from __future__ import annotations

import itertools
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

INPUTS, OUTPUTS = 784, 10


def _save(graph: onnx.GraphProto, out: str) -> None:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    os.makedirs(os.path.join(out, "1"), exist_ok=True)
    onnx.save_model(model, os.path.join(out, "1", "model.onnx"))


def _io(name: str, width: int) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", width])


def half_plus_two(out: str) -> None:
    init = [
        numpy_helper.from_array(np.array(0.5, np.float32), "half"),
        numpy_helper.from_array(np.array(2.0, np.float32), "two"),
    ]
    nodes = [
        helper.make_node("Mul", ["x", "half"], ["h"]),
        helper.make_node("Add", ["h", "two"], ["y"]),
    ]
    _save(helper.make_graph(nodes, "half_plus_two", [_io("x", 1)], [_io("y", 1)], init), out)


def mlp(out: str, hidden: int) -> None:
    rng = np.random.default_rng(0)  # make_mlp.py's draws, in its order
    layers = (INPUTS, hidden, hidden, OUTPUTS)
    weights = [
        (rng.standard_normal((a, b)) / np.sqrt(a)).astype(np.float32)
        for a, b in itertools.pairwise(layers)
    ]
    init, nodes, current = [], [], "x"
    for i, w in enumerate(weights):
        init += [
            numpy_helper.from_array(w, f"W{i}"),
            numpy_helper.from_array(np.zeros(w.shape[1], np.float32), f"b{i}"),
        ]
        nodes.append(helper.make_node("Gemm", [current, f"W{i}", f"b{i}"], [f"z{i}"]))
        current = f"h{i}"
        last = i == len(weights) - 1
        nodes.append(
            helper.make_node("Softmax", [f"z{i}"], ["y"], axis=-1)
            if last
            else helper.make_node("Relu", [f"z{i}"], [current])
        )
    _save(helper.make_graph(nodes, "mlp", [_io("x", INPUTS)], [_io("y", OUTPUTS)], init), out)


if __name__ == "__main__":
    if sys.argv[1] == "half_plus_two":
        half_plus_two(sys.argv[2])
    else:
        mlp(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 1024)
