"""TFLite test models: TF Serving's TF2 half_plus_two converted to
``tests/data/half_plus_two.tflite`` by ``scripts/make_tflite_test_model.py`` (committed, so no
TensorFlow is needed to use it)."""

from __future__ import annotations

import shutil
from pathlib import Path

HALF_PLUS_TWO_TF2 = "saved_model_half_plus_two_tf2_cpu"
HALF_PLUS_TWO_TFLITE = Path(__file__).resolve().parent / "data" / "half_plus_two.tflite"


def half_plus_two_version(
    shared_models: Path, version_dir: Path, *, keep_saved_model: bool
) -> Path:
    """Write ``version_dir/model.tflite`` (signature ``serving_default``: x -> y = x / 2 + 2), next
    to a copy of the SavedModel it was converted from when ``keep_saved_model`` (TF Serving's
    --prefer_tflite_model layout)."""
    if keep_saved_model:
        shutil.copytree(shared_models / HALF_PLUS_TWO_TF2 / "00000123", version_dir)
    else:
        version_dir.mkdir(parents=True)
    shutil.copyfile(HALF_PLUS_TWO_TFLITE, version_dir / "model.tflite")
    return version_dir
