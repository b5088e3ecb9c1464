"""TFLite models converted at test time from TF Serving's TF2 half_plus_two (needs TensorFlow)."""

from __future__ import annotations

import shutil
from pathlib import Path

HALF_PLUS_TWO_TF2 = "saved_model_half_plus_two_tf2_cpu"


def convert_half_plus_two(
    shared_models: Path, version_dir: Path, *, keep_saved_model: bool
) -> Path:
    """Write ``version_dir/model.tflite`` (signature ``serving_default``: x -> y = x / 2 + 2), next
    to a copy of the SavedModel when ``keep_saved_model`` (TF Serving's --prefer_tflite_model
    layout)."""
    import tensorflow as tf

    source = shared_models / HALF_PLUS_TWO_TF2 / "00000123"
    if keep_saved_model:
        shutil.copytree(source, version_dir)
    else:
        version_dir.mkdir(parents=True)
    converter = tf.lite.TFLiteConverter.from_saved_model(
        str(source), signature_keys=["serving_default"]
    )
    (version_dir / "model.tflite").write_bytes(converter.convert())
    return version_dir
