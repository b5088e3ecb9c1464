"""Training, SavedModel export and load-back checks for the demo's `digits` model.

Kept apart from build_demo.py because importing TensorFlow costs seconds: the builder imports this
module only when it actually has to (re)train, so an up-to-date re-run stays instant.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import tensorflow as tf
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

NUM_FEATURES = 64
NUM_CLASSES = 10
# The Classify API returns class labels as strings (ClassificationResult.Class.label).
CLASS_LABELS = [str(digit) for digit in range(NUM_CLASSES)]
# The tag set TF Serving loads by default (--saved_model_tags); tf.saved_model.save writes just it.
SERVE_TAGS = ["serve"]
# The pixel range of load_digits: 17 grey levels, 0..16.
_MAX_PIXEL = 16.0


@dataclass(frozen=True)
class Dataset:
    x_train: FloatArray
    y_train: IntArray
    x_test: FloatArray
    y_test: IntArray


def load_data(seed: int, test_fraction: float) -> Dataset:
    """The bundled digits set (no download), scaled to [0, 1], with a stratified held-out split."""
    digits = load_digits()
    x = (np.asarray(digits.data, dtype=np.float64) / _MAX_PIXEL).astype(np.float32)
    y = np.asarray(digits.target, dtype=np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_fraction, random_state=seed, stratify=y
    )
    return Dataset(
        x_train=np.asarray(x_train, dtype=np.float32),
        y_train=np.asarray(y_train, dtype=np.int64),
        x_test=np.asarray(x_test, dtype=np.float32),
        y_test=np.asarray(y_test, dtype=np.int64),
    )


@dataclass(frozen=True)
class Mlp:
    """A one-hidden-layer perceptron held as four plain tf.Variables.

    Plain variables rather than a Keras model: a Keras 3 model reachable from the exported object
    gets its weights saved twice (the Keras wrapper and the tf.Variable inside it), and a TF1-style
    loader, which is how TF Serving loads, then restores the copy the signatures do not read and
    fails with "Could not find variable" (keras-team/keras#20095). With nothing but tf.Variables
    there is one copy of each weight and no such trap.
    """

    hidden_kernel: Any
    hidden_bias: Any
    output_kernel: Any
    output_bias: Any

    @property
    def variables(self) -> list[Any]:
        return [self.hidden_kernel, self.hidden_bias, self.output_kernel, self.output_bias]

    def logits(self, pixels: Any) -> Any:
        hidden = tf.nn.relu(tf.matmul(pixels, self.hidden_kernel) + self.hidden_bias)
        return tf.matmul(hidden, self.output_kernel) + self.output_bias

    def probabilities(self, pixels: Any) -> Any:
        return tf.nn.softmax(self.logits(pixels))


def _glorot_uniform(rng: np.random.Generator, fan_in: int, fan_out: int) -> FloatArray:
    # The usual initialisation for a ReLU/softmax MLP; drawn with NumPy so the seed alone fixes it.
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(np.float32)


def new_mlp(rng: np.random.Generator, hidden_units: int) -> Mlp:
    return Mlp(
        hidden_kernel=tf.Variable(
            _glorot_uniform(rng, NUM_FEATURES, hidden_units), name="hidden/kernel"
        ),
        hidden_bias=tf.Variable(np.zeros(hidden_units, np.float32), name="hidden/bias"),
        output_kernel=tf.Variable(
            _glorot_uniform(rng, hidden_units, NUM_CLASSES), name="output/kernel"
        ),
        output_bias=tf.Variable(np.zeros(NUM_CLASSES, np.float32), name="output/bias"),
    )


def train(
    data: Dataset,
    *,
    epochs: int,
    seed: int,
    hidden_units: int,
    batch_size: int,
    learning_rate: float,
) -> Mlp:
    """Train an MLP from scratch with Adam on shuffled minibatches.

    A hand-written loop instead of Keras `fit`: fit feeds batches through tf.data, whose C++ side
    logs spurious errors with this TensorFlow build, and an explicit NumPy shuffle makes the batch
    order obviously reproducible.
    """
    # Same seed for every version, so version 1 and version 2 differ only in how long they trained.
    rng = np.random.default_rng(seed)
    tf.config.experimental.enable_op_determinism()
    mlp = new_mlp(rng, hidden_units)
    optimizer = tf.keras.optimizers.Adam(learning_rate=learning_rate)

    def step(x: Any, y: Any) -> Any:
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=mlp.logits(x))
            )
        gradients = tape.gradient(loss, mlp.variables)
        optimizer.apply_gradients(zip(gradients, mlp.variables, strict=True))
        return loss

    # Traced once per batch shape (full batches, plus the final partial one) instead of running
    # every step eagerly, which is slower.
    compiled_step = tf.function(step)
    count = len(data.y_train)
    for _ in range(epochs):
        order = rng.permutation(count)
        for start in range(0, count, batch_size):
            batch = order[start : start + batch_size]
            compiled_step(tf.constant(data.x_train[batch]), tf.constant(data.y_train[batch]))
    return mlp


def probabilities(mlp: Mlp, x: FloatArray) -> FloatArray:
    """The in-memory model's output, the reference the exported model is checked against."""
    return np.asarray(mlp.probabilities(tf.constant(x)), dtype=np.float32)


def export(mlp: Mlp, export_dir: Path) -> None:
    """Write `mlp` as a TF2 SavedModel with the two signatures TF Serving clients use.

    serving_default (Predict API):  pixels float32 [-1, 64] -> probabilities float32 [-1, 10],
                                    class_id int64 [-1]
    classify (Classify API):        inputs string [-1] (serialized tf.Example, float feature
                                    `pixels` of length 64) -> classes string [-1, 10],
                                    scores float32 [-1, 10]

    The classify signature keeps TF2's default method name (tensorflow/serving/predict): TF Serving
    accepts that for Classify while --enable_signature_method_name_check is off, its default.
    """
    # The variables must be reachable from the saved root object to be written at all.
    root = tf.Module()
    root.weights = mlp.variables
    labels = tf.constant([CLASS_LABELS])

    def predict(pixels: Any) -> dict[str, Any]:
        probabilities = mlp.probabilities(pixels)
        return {
            "probabilities": probabilities,
            "class_id": tf.argmax(probabilities, axis=1, output_type=tf.int64),
        }

    def classify(inputs: Any) -> dict[str, Any]:
        features = tf.io.parse_example(
            inputs, {"pixels": tf.io.FixedLenFeature([NUM_FEATURES], tf.float32)}
        )
        scores = mlp.probabilities(features["pixels"])
        # One row of labels per example; tile (not broadcast_to) keeps the static shape [-1, 10].
        classes = tf.tile(labels, [tf.shape(scores)[0], 1])
        return {"classes": classes, "scores": scores}

    # The TensorSpec names become the signatures' input keys (`pixels`, `inputs`).
    signatures = {
        "serving_default": tf.function(
            predict,
            input_signature=[tf.TensorSpec([None, NUM_FEATURES], tf.float32, name="pixels")],
        ),
        "classify": tf.function(
            classify, input_signature=[tf.TensorSpec([None], tf.string, name="inputs")]
        ),
    }
    tf.saved_model.save(root, str(export_dir), signatures=signatures)


def serialize_examples(x: FloatArray) -> list[bytes]:
    """The tf.Example encoding a Classify client sends: one float_list feature `pixels` per row."""
    serialized: list[bytes] = []
    for row in x:
        feature = tf.train.Feature(float_list=tf.train.FloatList(value=row.tolist()))
        example = tf.train.Example(features=tf.train.Features(feature={"pixels": feature}))
        serialized.append(example.SerializeToString())
    return serialized


def verify_export(export_dir: Path, mlp: Mlp, data: Dataset) -> tuple[float, IntArray]:
    """Load `export_dir` the way the server does and check it against the in-memory model.

    TF Serving loads a SavedModel as a TF1 graph in a session and runs signatures by tensor name,
    so this does the same instead of using tf.saved_model.load: that is the path on which
    Keras-style exports have failed (see Mlp). Both signatures are run on the whole held-out split.
    Returns the served accuracy there and the served predictions.
    Mismatches raise RuntimeError rather than failing an assert, which `python -O` would strip.
    """
    # Computed before entering the graph context below, where eager execution is unavailable.
    expected = probabilities(mlp, data.x_test)
    examples = serialize_examples(data.x_test)
    # The TF1 loader is deprecated (in favour of tf.saved_model.load, which is not how servers load)
    # and says so on every call; that warning would only be noise in `make run`'s output.
    tf_logger = logging.getLogger("tensorflow")
    previous_level = tf_logger.level
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
        tf_logger.setLevel(logging.ERROR)
        try:
            meta_graph = tf.compat.v1.saved_model.loader.load(session, SERVE_TAGS, str(export_dir))
        finally:
            tf_logger.setLevel(previous_level)
        predict_sig = meta_graph.signature_def["serving_default"]
        classify_sig = meta_graph.signature_def["classify"]

        served = session.run(
            {key: info.name for key, info in predict_sig.outputs.items()},
            feed_dict={predict_sig.inputs["pixels"].name: data.x_test},
        )
        classified = session.run(
            {key: info.name for key, info in classify_sig.outputs.items()},
            feed_dict={classify_sig.inputs["inputs"].name: examples},
        )

    served_probabilities = np.asarray(served["probabilities"], dtype=np.float32)
    served_classes = np.asarray(served["class_id"], dtype=np.int64)
    scores = np.asarray(classified["scores"], dtype=np.float32)
    classes = np.asarray(classified["classes"])
    # Same weights and ops, but a different executor (graph vs. eager): allow float rounding.
    if not np.allclose(served_probabilities, expected, rtol=1e-5, atol=1e-6):
        raise RuntimeError(f"{export_dir}: serving_default disagrees with the trained model")
    if not np.array_equal(served_classes, served_probabilities.argmax(axis=1)):
        raise RuntimeError(f"{export_dir}: class_id is not the argmax of probabilities")
    if not np.allclose(scores, expected, rtol=1e-5, atol=1e-6):
        raise RuntimeError(f"{export_dir}: classify scores disagree with the trained model")
    wanted_classes = np.array([[label.encode() for label in CLASS_LABELS]] * len(data.y_test))
    if classes.shape != wanted_classes.shape or not np.array_equal(classes, wanted_classes):
        raise RuntimeError(f"{export_dir}: classify classes are not the labels '0'..'9'")

    accuracy = float(np.mean(served_classes == data.y_test))
    return accuracy, served_classes
