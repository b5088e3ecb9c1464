"""Tiny TF1 SavedModels, written at test time, for what TF Serving's shared test models cannot show.

Each builder writes ``<root>/<name>/1/`` (version 1) with one ``serving_default`` predict
signature, in graph mode with ``tf.compat.v1.saved_model.Builder``. TensorFlow is imported once,
lazily, by :func:`build_all` (importing it costs seconds, so nothing else here touches it).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

# Model names, as served (conftest.py puts each one in the model config under this name).
STRINGS = "strings"  # text (DT_STRING [-1]) -> echo_bytes, echo (identity), length (int32)
TWO_INPUTS = "two_inputs"  # a, b (float [-1]) -> sum, diff
HALF_INPUT = "half_input"  # h (DT_HALF [-1]) -> y (float): JSON cannot feed DT_HALF
INT32 = "int32_model"  # n (int32 [-1]) -> doubled (int32)
SLOW = "slow"  # x (float [-1]) -> y = x, after spinning SLOW_SECONDS in a while loop
RANK0_OUTPUT = "rank0_output"  # x (float [-1]) -> total = sum(x), a rank-0 tensor
UNEVEN_OUTPUTS = "uneven_outputs"  # x (float [-1]) -> rows = x, doubled_rows = concat(x, x)
MATMUL = "matmul"  # x (float [-1,4]) -> y = x @ ones([4,2]): a wrong inner dimension fails in TF

ALL_MODELS = (
    STRINGS,
    TWO_INPUTS,
    HALF_INPUT,
    INT32,
    SLOW,
    RANK0_OUTPUT,
    UNEVEN_OUTPUTS,
    MATMUL,
)

# How long one run of SLOW spins: far above the test server's --rest_api_timeout_in_ms, yet
# bounded, so a server that fails to cancel the run only loses one CPU for a while.
SLOW_SECONDS = 20.0

# A graph builder: called inside a fresh tf.Graph, returns (inputs, outputs) by alias.
_GraphFn = Callable[[Any], tuple[dict[str, Any], dict[str, Any]]]


def _strings(tf: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    text = tf.compat.v1.placeholder(tf.string, [None], name="text")
    return {"text": text}, {
        "echo_bytes": tf.identity(text, name="echo_bytes"),
        "echo": tf.identity(text, name="echo"),
        "length": tf.strings.length(text, name="length"),
    }


def _two_inputs(tf: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    a = tf.compat.v1.placeholder(tf.float32, [None], name="a")
    b = tf.compat.v1.placeholder(tf.float32, [None], name="b")
    return {"a": a, "b": b}, {
        "sum": tf.add(a, b, name="sum"),
        "diff": tf.subtract(a, b, name="diff"),
    }


def _half_input(tf: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    h = tf.compat.v1.placeholder(tf.float16, [None], name="h")
    return {"h": h}, {"y": tf.cast(h, tf.float32, name="y")}


def _int32(tf: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    n = tf.compat.v1.placeholder(tf.int32, [None], name="n")
    return {"n": n}, {"doubled": tf.multiply(n, 2, name="doubled")}


def _slow(tf: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
    # Spin on the clock rather than on an iteration count, so the run lasts SLOW_SECONDS on any
    # machine; the executor checks for cancellation between iterations.
    deadline = tf.timestamp() + SLOW_SECONDS
    spins = tf.compat.v1.while_loop(
        lambda i: tf.timestamp() < deadline, lambda i: i + 1, [tf.constant(0, tf.int64)]
    )
    with tf.control_dependencies([spins]):
        y = tf.identity(x, name="y")
    return {"x": x}, {"y": y}


def _rank0_output(tf: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
    return {"x": x}, {"total": tf.reduce_sum(x, name="total")}


def _uneven_outputs(tf: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
    return {"x": x}, {
        "rows": tf.identity(x, name="rows"),
        "doubled_rows": tf.concat([x, x], axis=0, name="doubled_rows"),
    }


def _matmul(tf: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    x = tf.compat.v1.placeholder(tf.float32, [None, 4], name="x")
    return {"x": x}, {"y": tf.matmul(x, tf.ones([4, 2]), name="y")}


_BUILDERS: dict[str, _GraphFn] = {
    STRINGS: _strings,
    TWO_INPUTS: _two_inputs,
    HALF_INPUT: _half_input,
    INT32: _int32,
    SLOW: _slow,
    RANK0_OUTPUT: _rank0_output,
    UNEVEN_OUTPUTS: _uneven_outputs,
    MATMUL: _matmul,
}


def _write(tf: Any, export_dir: Path, graph_fn: _GraphFn) -> None:
    tf1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        inputs, outputs = graph_fn(tf)
        signature = tf1.saved_model.signature_def_utils.build_signature_def(
            inputs={k: tf1.saved_model.utils.build_tensor_info(v) for k, v in inputs.items()},
            outputs={k: tf1.saved_model.utils.build_tensor_info(v) for k, v in outputs.items()},
            method_name=tf1.saved_model.signature_constants.PREDICT_METHOD_NAME,
        )
        with tf1.Session(graph=graph) as session:
            builder = tf1.saved_model.Builder(str(export_dir))
            builder.add_meta_graph_and_variables(
                session,
                [tf1.saved_model.tag_constants.SERVING],
                signature_def_map={"serving_default": signature},
                strip_default_attrs=True,
            )
            builder.save()


def build_all(root: Path) -> dict[str, Path]:
    """Write every model under ``root``; return each model's base path (absolute)."""
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # the v1 builder APIs log deprecation warnings
    base_paths: dict[str, Path] = {}
    for name, graph_fn in _BUILDERS.items():
        base = (root / name).resolve()
        _write(tf, base / "1", graph_fn)
        base_paths[name] = base
    return base_paths
