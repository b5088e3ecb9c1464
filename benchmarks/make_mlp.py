"""Build an MLP benchmark model: 784-H-H-10 SavedModel (fixed seed), H = 1024 by default.

Usage: python make_mlp.py OUT_DIR [HIDDEN]   (writes OUT_DIR/1/saved_model.pb and variables/)

Signature ``serving_default``: input ``x`` float32 [-1, 784] -> output ``y`` float32 [-1, 10]
(softmax). Weights are random but fixed, so every system serves the same function.
"""

from __future__ import annotations

import itertools
import os
import sys

import numpy as np
import tensorflow as tf

INPUTS, OUTPUTS = 784, 10


class Mlp(tf.Module):
    def __init__(self, hidden: int) -> None:
        super().__init__()
        rng = np.random.default_rng(0)
        layers = (INPUTS, hidden, hidden, OUTPUTS)
        self.weights = [
            tf.Variable((rng.standard_normal((a, b)) / np.sqrt(a)).astype(np.float32))
            for a, b in itertools.pairwise(layers)
        ]
        self.biases = [tf.Variable(np.zeros(b, np.float32)) for b in layers[1:]]

    @tf.function(input_signature=[tf.TensorSpec([None, INPUTS], tf.float32, name="x")])
    def serve(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
        h = x
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = tf.matmul(h, w) + b
            h = tf.nn.relu(h) if i < len(self.weights) - 1 else tf.nn.softmax(h)
        return {"y": h}


def main(out: str, hidden: int) -> None:
    module = Mlp(hidden)
    path = os.path.join(out, "1")
    tf.saved_model.save(module, path, signatures={"serving_default": module.serve})


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1024)
