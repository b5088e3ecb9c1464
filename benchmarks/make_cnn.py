"""Build the compute-bound benchmark model: a small CNN on 28x28 images (fixed seed).

Usage: python make_cnn.py OUT_DIR   (writes OUT_DIR/1/saved_model.pb and variables/)

A small VGG-style convnet: conv 3x3x64 - conv 3x3x128 - conv 3x3x256 - max-pool 2 -
conv 3x3x256 - max-pool 2 - dense 256 - dense 10 (softmax): about 480 MFLOP per image (a
ResNet-50 image is ~8 GFLOP), 5 MB of weights. Unlike an MLP its cost grows with the rows, not
with the weights it streams, so it stays compute-bound in full batches.

Signature ``serving_default``: input ``x`` float32 [-1, 784] (a flattened 28x28 image, so the
request bodies are the MLPs') -> output ``y`` float32 [-1, 10].
"""

from __future__ import annotations

import os
import sys

import numpy as np
import tensorflow as tf

SIDE, OUTPUTS = 28, 10


def _weight(rng: np.random.Generator, shape: tuple[int, ...]) -> tf.Variable:
    fan_in = int(np.prod(shape[:-1]))
    return tf.Variable((rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32))


class Cnn(tf.Module):
    def __init__(self) -> None:
        super().__init__()
        rng = np.random.default_rng(0)
        self.conv1 = _weight(rng, (3, 3, 1, 64))
        self.conv2 = _weight(rng, (3, 3, 64, 128))
        self.conv3 = _weight(rng, (3, 3, 128, 256))
        self.conv4 = _weight(rng, (3, 3, 256, 256))
        self.dense1 = _weight(rng, (4 * 4 * 256, 256))
        self.dense2 = _weight(rng, (256, OUTPUTS))
        widths = (64, 128, 256, 256, 256, OUTPUTS)
        self.biases = [tf.Variable(np.zeros(n, np.float32)) for n in widths]

    @tf.function(input_signature=[tf.TensorSpec([None, SIDE * SIDE], tf.float32, name="x")])
    def serve(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
        b1, b2, b3, b4, b5, b6 = self.biases
        h = tf.reshape(x, [-1, SIDE, SIDE, 1])
        h = tf.nn.relu(tf.nn.conv2d(h, self.conv1, 1, "VALID") + b1)  # 26x26x64
        h = tf.nn.relu(tf.nn.conv2d(h, self.conv2, 1, "VALID") + b2)  # 24x24x128
        h = tf.nn.relu(tf.nn.conv2d(h, self.conv3, 1, "VALID") + b3)  # 22x22x256
        h = tf.nn.max_pool2d(h, 2, 2, "VALID")  # 11x11x256
        h = tf.nn.relu(tf.nn.conv2d(h, self.conv4, 1, "VALID") + b4)  # 9x9x256
        h = tf.nn.max_pool2d(h, 2, 2, "VALID")  # 4x4x256
        h = tf.reshape(h, [-1, 4 * 4 * 256])
        h = tf.nn.relu(tf.matmul(h, self.dense1) + b5)
        return {"y": tf.nn.softmax(tf.matmul(h, self.dense2) + b6)}


def main(out: str) -> None:
    module = Cnn()
    path = os.path.join(out, "1")
    tf.saved_model.save(module, path, signatures={"serving_default": module.serve})


if __name__ == "__main__":
    main(sys.argv[1])
