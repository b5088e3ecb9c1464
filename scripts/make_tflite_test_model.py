"""Write tests/data/half_plus_two.tflite: TF Serving's TF2 half_plus_two (``serving_default``:
x -> y = x / 2 + 2) converted by TensorFlow's TFLite converter.

The file is committed so the TFLite tests run where TensorFlow is not installed (LiteRT only, as
``pip install 'pyserving[tflite]'`` without TensorFlow serves it). Rerun after a TensorFlow upgrade
that changes the converter's output: ``.venv/bin/python scripts/make_tflite_test_model.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT.parent / "shared/testdata/tfserving/saved_model_half_plus_two_tf2_cpu/00000123"
TARGET = ROOT / "tests/data/half_plus_two.tflite"


def main() -> int:
    import tensorflow as tf

    source = Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE
    converter = tf.lite.TFLiteConverter.from_saved_model(
        str(source), signature_keys=["serving_default"]
    )
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_bytes(converter.convert())
    print(f"wrote {TARGET} ({TARGET.stat().st_size} bytes) from {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
