"""TF Serving's float spelling: %.6g when it round-trips, else 9/17 digits; '.0' on integers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pyserving.codec.float_format import format_float, format_float_array

FLOAT32 = [
    (3.0, "3.0"),
    (3.5, "3.5"),
    (0.1, "0.1"),  # float32(0.1) round-trips at six digits
    (1 / 3, "0.333333343"),  # it does not: nine digits of the float32 value
    (0.2, "0.2"),
    (1e6, "1e+06"),
    (9e6, "9e+06"),
    (999999.0, "999999.0"),
    (555557.5, "555557.5"),
    (3e-05, "3e-05"),
    (0.0003, "0.0003"),
    (1.5, "1.5"),
    (0.5, "0.5"),
    (0.0, "0.0"),
    (-0.0, "-0.0"),
    (-2.25, "-2.25"),
    (16777217.0, "16777216.0"),  # float32 rounding, then nine digits, then ".0"
    (1234567.0, "1234567.0"),
    (123456.7, "123456.703"),
    (3.14159265358979, "3.14159274"),
    (1e-45, "1.4013e-45"),  # subnormal: six digits already round-trip
    (3.4028234663852886e38, "3.40282347e+38"),
    (math.nan, "NaN"),
    (math.inf, "Infinity"),
    (-math.inf, "-Infinity"),
]

FLOAT64 = [
    (3.0, "3.0"),
    (0.1, "0.1"),
    (1 / 3, "0.33333333333333331"),
    (1e6, "1e+06"),
    (999999.0, "999999.0"),
    (1234567.0, "1234567.0"),
    (1e22, "1e+22"),
    (2.0**-1074, "4.94066e-324"),
    (-0.0, "-0.0"),
    (math.nan, "NaN"),
    (-math.inf, "-Infinity"),
]


@pytest.mark.parametrize(("value", "text"), FLOAT32)
def test_float32_scalar(value: float, text: str) -> None:
    assert format_float(value, single=True) == text


@pytest.mark.parametrize(("value", "text"), FLOAT32)
def test_float32_array(value: float, text: str) -> None:
    assert format_float_array(np.array([value, value], dtype=np.float32)) == [text, text]


@pytest.mark.parametrize(("value", "text"), FLOAT64)
def test_float64_scalar_and_array(value: float, text: str) -> None:
    assert format_float(value, single=False) == text
    assert format_float_array(np.array([value], dtype=np.float64)) == [text]


def test_empty_array() -> None:
    assert format_float_array(np.array([], dtype=np.float32)) == []


def test_vectorized_float32_matches_the_scalar_rule_on_random_bit_patterns() -> None:
    # Every float32 class: normals, subnormals, zeros, NaNs, infinities, near-ties.
    bits = np.random.default_rng(7).integers(0, 2**32, 200_000, dtype=np.uint64).astype(np.uint32)
    values = bits.view(np.float32)
    expected = [format_float(value, single=True) for value in values.tolist()]
    assert format_float_array(values) == expected


def test_vectorized_float32_matches_on_short_decimals_and_integers() -> None:
    rng = np.random.default_rng(11)
    decimals = [
        float(f"{value:.{digits}g}")
        for value, digits in zip(
            (rng.random(50_000) * 10.0 ** rng.integers(-8, 12, 50_000)).tolist(),
            rng.integers(1, 9, 50_000).tolist(),
            strict=True,
        )
    ]
    integers = rng.integers(-(10**8), 10**8, 50_000).astype(np.float64).tolist()
    powers = [10.0**exponent for exponent in range(-45, 39)] + [1234565.0, 999999.5, 9999995.0]
    values = np.array(decimals + integers + powers, dtype=np.float32)
    expected = [format_float(value, single=True) for value in values.tolist()]
    assert format_float_array(values) == expected


def test_vectorized_float64_matches_the_scalar_rule() -> None:
    rng = np.random.default_rng(3)
    values = np.concatenate(
        [rng.random(20_000), rng.integers(-1000, 1000, 1000).astype(np.float64), [0.1, 1e300]]
    )
    expected = [format_float(value, single=False) for value in values.tolist()]
    assert format_float_array(values) == expected


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_small_and_large_arrays_spell_every_value_alike(dtype: type) -> None:
    # Small tensors take a per-element path, large ones a vectorized one: both must agree with
    # format_float on awkward values (ties, rounding boundaries, integers, non-finite, subnormal).
    rng = np.random.default_rng(7)
    awkward = [value for value, _ in FLOAT32] + [16777217.0, 0.1 + 0.2, 5e-324, 1e300]
    with np.errstate(over="ignore"):  # 1e300 becomes inf in float32: fine, also a case
        values: np.ndarray = np.concatenate(
            [
                np.array(awkward, dtype=np.float64),
                rng.standard_normal(300) * 10.0 ** rng.integers(-20, 20, 300),
                np.round(rng.standard_normal(100) * 1000, 2),
            ]
        ).astype(dtype)
    single = dtype is np.float32
    expected = [format_float(float(v), single) for v in values]
    assert format_float_array(values) == expected
    pieces = [format_float_array(values[start : start + 5]) for start in range(0, len(values), 5)]
    assert [text for piece in pieces for text in piece] == expected
