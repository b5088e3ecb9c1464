"""TensorFlow Serving's JSON spelling of floating-point numbers.

TF Serving writes a float as the six-significant-digit ``%g`` form when that string parses back to
the same value at the tensor's precision, else with 9 (float32) or 17 (float64) significant digits.
A result with neither ``.`` nor an exponent gets ``.0`` appended (``3.0``, ``999999.0``) so that
clients see a decimal; exponent forms stay as printf writes them (``9e+06``, ``3e-05``). Non-finite
values are written bare: ``NaN``, ``Infinity``, ``-Infinity`` (not valid strict JSON, but what TF
Serving emits and what its clients parse).

``format_float`` does one value; ``format_float_array`` does a whole tensor with the precision
decision vectorized (see ``_float32_six_digit_mask``) so that each element costs one ``%`` format.
"""

from __future__ import annotations

import math
from array import array
from typing import Final

import numpy as np

_NON_FINITE_TEXT = {math.inf: "Infinity", -math.inf: "-Infinity"}

# Powers of ten covering every float32 magnitude (1e-45 .. 3.4e38) scaled into [1e5, 1e6).
_POW10_BIAS = 64
_POW10 = 10.0 ** np.arange(-_POW10_BIAS, _POW10_BIAS + 1, dtype=np.float64)
# Below this many elements the per-element path beats the vectorized one (numpy's fixed cost per
# call dominates small tensors; measured ~1.5 us vs ~25 us for 3 floats).
_SMALL: Final = 64


def _non_finite(value: float) -> str:
    return "NaN" if value != value else _NON_FINITE_TEXT[value]


def format_float(value: float, single: bool) -> str:
    """``value`` spelled like TF Serving, as a float32 when ``single`` else as a float64."""
    if not math.isfinite(value):
        return _non_finite(value)
    if single:
        value = float(np.float32(value))  # TF formats the float, not the double it came from
    text = f"{value:.6g}"
    if single:
        if np.float32(float(text)) != np.float32(value):
            text = f"{value:.9g}"
    elif float(text) != value:
        text = f"{value:.17g}"
    if "." not in text and "e" not in text:
        text += ".0"
    return text


def format_float_array(flat: np.ndarray) -> list[str]:
    """The TF spelling of every element of a 1-D float32 or float64 array, in order."""
    values: list[float] = flat.tolist()
    if not values:
        return []
    if len(values) < _SMALL:
        return _format_small(values, flat.dtype == np.float32)
    finite = np.isfinite(flat)
    if flat.dtype == np.float32:
        six, unsure = _float32_six_digit_mask(flat, finite)
        texts = [
            f"{value:.6g}" if short else f"{value:.9g}"
            for value, short in zip(values, six.tolist(), strict=True)
        ]
        for index in np.flatnonzero(unsure).tolist():
            texts[index] = format_float(values[index], single=True)
    else:
        texts = [f"{value:.6g}" for value in values]
        # Parse every six-digit text back in one vectorized call; mismatches need 17 digits.
        back = np.array(texts, dtype=np.str_).astype(np.float64)
        for index in np.flatnonzero((back != flat) & finite).tolist():
            texts[index] = f"{values[index]:.17g}"
    # Only integral values can print without "." or exponent; fix just those.
    with np.errstate(invalid="ignore"):
        integral = finite & (np.floor(flat) == flat)
    for index in np.flatnonzero(integral).tolist():
        text = texts[index]
        if "." not in text and "e" not in text:
            texts[index] = text + ".0"
    for index in np.flatnonzero(~finite).tolist():
        texts[index] = _non_finite(values[index])
    return texts


def _format_small(values: list[float], single: bool) -> list[str]:
    """``format_float`` over ``values``, with the float32 round trip done for all values at once
    by ``array('f')`` (a C double -> float cast per element, what ``np.float32(float(text))``
    does one value at a time)."""
    line = (",%.6g" * len(values)) % tuple(values)  # one format call; %g never writes a comma
    texts = line[1:].split(",")
    parsed = list(map(float, texts))
    back = array("f", parsed).tolist() if single else parsed
    if "n" not in line:  # all finite: "inf" and "nan" are the only %g spellings with an n
        if back != values:  # some need more digits
            wide = ((",%.9g" if single else ",%.17g") * len(values)) % tuple(values)
            pairs = zip(texts, wide[1:].split(","), back, values, strict=True)
            texts = [text if short == value else long for text, long, short, value in pairs]
        return [text if "." in text or "e" in text else text + ".0" for text in texts]
    for index, (text, value) in enumerate(zip(texts, values, strict=True)):
        if value - value != 0:  # inf or NaN
            texts[index] = _non_finite(value)
            continue
        if back[index] != value:
            text = texts[index] = f"{value:.9g}" if single else f"{value:.17g}"
        if "." not in text and "e" not in text:
            texts[index] = text + ".0"
    return texts


def _float32_six_digit_mask(x32: np.ndarray, finite: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(six, unsure): where ``%.6g`` round-trips at float32, and where arithmetic cannot tell.

    Rounds each value to six significant digits in float64 (exact for float32 inputs up to a few
    ulps of float64) and checks that the decimal converts back to the same float32. Values whose
    rounding is within float64 noise of a tie, or whose decimal sits within noise of a float32
    rounding boundary, are flagged ``unsure`` and decided by formatting and parsing the string.
    """
    special = ~finite | (x32 == 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        x = np.abs(x32, dtype=np.float64)
        x[special] = 1.0
        power = 5 - np.floor(np.log10(x)).astype(np.intp)
        scaled = x * _POW10[power + _POW10_BIAS]
        # log10 can be off by one next to powers of ten: renormalize into [1e5, 1e6).
        shift = (scaled < 1e5).astype(np.intp) - (scaled >= 1e6)
        if shift.any():
            power += shift
            scaled = x * _POW10[power + _POW10_BIAS]
        fraction = scaled - np.floor(scaled)
        decimal = np.rint(scaled) / _POW10[power + _POW10_BIAS]
        low = (decimal * (1 - 1e-14)).astype(np.float32)
        high = (decimal * (1 + 1e-14)).astype(np.float32)
    unsure = ((np.abs(fraction - 0.5) < 1e-6) | (low != high)) & ~special
    six = ((low == np.abs(x32)) & ~unsure) | special
    return six, unsure
