"""A picture of a handwritten digit -> the 64 pixel values the demo's `digits` model reads.

The model was trained on scikit-learn's 8x8 digits: light ink (1.0) on a dark background (0.0),
row by row. A scan or a photo is usually dark ink on white paper, so an image whose mean is bright
is inverted first. The whole image is shrunk to 8x8 (averaging each block), so crop it close
around the digit, as the training images are.

Also writes sample pictures: the demo build renders held-out test digits with
:func:`write_sample`, as dark-on-white PNGs like a scan.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

SIDE = 8  # the model's images are SIDE x SIDE
SAMPLE_SCALE = 16  # a sample PNG is (SIDE * SAMPLE_SCALE) pixels wide


def pixels_from_image(path: str | Path) -> list[float]:
    """The 64 floats in [0, 1] for the picture at ``path`` (PNG, JPEG... anything Pillow reads)."""
    with Image.open(path) as image:
        grey = ImageOps.exif_transpose(image).convert("L")
    if np.asarray(grey, dtype=np.float64).mean() > 127:  # dark ink on light paper
        grey = ImageOps.invert(grey)
    small = grey.resize((SIDE, SIDE), Image.Resampling.BOX)
    values = np.asarray(small, dtype=np.float64) / 255.0
    return [round(float(v), 4) for v in values.reshape(-1)]


def write_sample(pixels: np.ndarray, path: Path) -> None:
    """Render 64 values in [0, 1] as a dark-on-white PNG (what a scan of the digit looks like)."""
    ink = np.asarray(pixels, dtype=np.float64).reshape(SIDE, SIDE)
    grey = np.rint(255.0 * (1.0 - ink)).astype(np.uint8)
    image = Image.fromarray(grey).resize(
        (SIDE * SAMPLE_SCALE, SIDE * SAMPLE_SCALE), Image.Resampling.NEAREST
    )
    image.save(path, format="PNG")
