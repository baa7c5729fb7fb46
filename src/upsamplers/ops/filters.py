"""Filter design: the Kaiser-windowed sinc low-pass of the sinc upsampler."""

from __future__ import annotations

import math

import numpy as np

from .._checks import check_positive_int, check_real


def kaiser_beta(attenuation_db: float) -> float:
    """Kaiser's formula for the window parameter ``beta`` that gives a stop band
    ``attenuation_db`` below the pass band."""
    a = float(attenuation_db)
    if a > 50:
        return 0.1102 * (a - 8.7)
    if a > 21:
        return 0.5842 * (a - 21) ** 0.4 + 0.07886 * (a - 21)
    return 0.0


def sinc_filter(factor: int, *, cutoff: float = 0.9, zeros: int = 6,
                beta: float | None = None) -> np.ndarray:
    """The high-rate low-pass filter of :class:`~upsamplers.layers.SincUpsample1d`.

    Kaiser-windowed sinc, centred, odd length ``2 * H + 1`` with
    ``H = ceil(zeros * factor / cutoff)``::

        f[n] = (cutoff / r) * sinc(cutoff * n / r) * kaiser(n / H, beta),   |n| <= H

    so the cut-off is ``cutoff`` times the input Nyquist frequency and the window
    spans ``zeros`` zero crossings of the sinc on each side. Then every phase is
    scaled so that its taps sum to one (``f[j - d * r]`` over ``d``, for each ``j``):
    the filter has gain ``factor`` (which undoes the zero stuffing) and a constant
    input gives a constant output, with no replicas of DC.

    Args:
        factor: upsampling factor ``r``.
        cutoff: cut-off as a fraction of the input Nyquist frequency, in ``(0, 1]``.
        zeros: zero crossings of the sinc kept on each side (``>= 1``).
        beta: Kaiser window parameter; ``None`` picks ``kaiser_beta(80)``.

    Returns:
        float64 array of length ``2 * H + 1``; tap ``H`` is the centre.
    """
    factor = check_positive_int("factor", factor)
    zeros = check_positive_int("zeros", zeros)
    cutoff = check_real("cutoff", cutoff, low=0.0, high=1.0, low_open=True)
    if beta is None:
        beta = kaiser_beta(80.0)
    beta = check_real("beta", beta, low=0.0)
    half = math.ceil(zeros * factor / cutoff)
    n = np.arange(-half, half + 1)
    arg = cutoff * n / factor
    taps = cutoff / factor * np.sinc(arg) * np.kaiser(2 * half + 1, beta)
    crossing = (n != 0) & (np.abs(arg - np.round(arg)) < 1e-12)
    taps[crossing] = 0.0  # exact zeros of the sinc (np.sinc leaves ~1e-17 there)
    for j in range(factor):  # phase j of the interpolation uses taps n = j - d r
        sel = (n - j) % factor == 0
        taps[sel] /= taps[sel].sum()
    return taps
