"""demo/digit_image.py: a sample picture reads back as the pixels it was drawn from; a light
digit on a dark background (already the model's convention) is not inverted."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PIL")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "demo"))
from digit_image import pixels_from_image, write_sample
from PIL import Image


def test_a_sample_picture_reads_back_as_its_pixels(tmp_path: Path) -> None:
    pixels = np.random.default_rng(0).integers(0, 17, 64) / 16.0
    pixels[:8] = 0.0  # a dark top row, as most digits have: the picture is mostly white
    path = tmp_path / "digit.png"
    write_sample(pixels, path)
    assert np.allclose(pixels_from_image(path), pixels, atol=0.003)


def test_light_on_dark_pictures_are_read_as_they_are(tmp_path: Path) -> None:
    grey = np.zeros((80, 80), np.uint8)
    grey[10:70, 30:50] = 255  # a "1": light ink on black
    path = tmp_path / "one.jpg"
    Image.fromarray(grey).save(path)
    pixels = np.asarray(pixels_from_image(path)).reshape(8, 8)
    assert pixels[4, 4] > 0.9 and pixels[0, 0] < 0.05
