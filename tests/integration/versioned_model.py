"""A tiny TF1 SavedModel whose answer names its version: ``y = x + version``.

With ``x = 0`` every prediction is the number of the version that served it, so a test can check
each answer against the versions the server reported AVAILABLE. Building one takes milliseconds
(a placeholder, a constant and an add; no variables), so tests can publish dozens of versions.
Signature ``serving_default``: input ``x`` (DT_FLOAT [-1]), output ``y`` (DT_FLOAT [-1]).
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def write_versioned_model(export_dir: Path, version: int) -> Path:
    """Write the model for ``version`` into ``export_dir`` (which must not exist yet)."""
    import tensorflow as tf

    tf1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        x = tf1.placeholder(tf.float32, [None], name="x")
        y = tf.add(x, tf.constant(float(version), tf.float32), name="y")
        signature = tf1.saved_model.signature_def_utils.build_signature_def(
            inputs={"x": tf1.saved_model.utils.build_tensor_info(x)},
            outputs={"y": tf1.saved_model.utils.build_tensor_info(y)},
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
    return export_dir


def publish(base: Path, version: int) -> Path:
    """Publish ``version`` the safe way: build under a non-numeric name, then rename."""
    staging = write_versioned_model(base / f".tmp-{version}", version)
    final = base / str(version)
    os.rename(staging, final)
    return final


def copy_slowly(source: Path, target: Path, *, chunks: int, pause_s: float) -> None:
    """Copy a version directory file by file, writing each file in ``chunks`` pieces with
    ``pause_s`` between them: what a slow ``cp -r`` onto the final name looks like."""
    target.mkdir()
    for path in sorted(source.rglob("*")):
        destination = target / path.relative_to(source)
        if path.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        data = path.read_bytes()
        step = max(1, -(-len(data) // chunks))
        with open(destination, "wb") as out:
            for start in range(0, max(len(data), 1), step):
                out.write(data[start : start + step])
                out.flush()
                time.sleep(pause_s)
