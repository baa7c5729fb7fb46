"""Filter design: the Kaiser-windowed sinc low-pass of the sinc upsampler, its
length from a transition band and a stop-band attenuation (Kaiser's estimates),
and the frequency response of an interpolation (:class:`InterpolationResponse`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._checks import InvalidValue, check_positive_int, check_real

#: Most points of the FFT of :func:`interpolation_response` (``2 factor
#: points_per_band``, and at least 8 times the filter's length, which fits for every
#: low-pass within :data:`~upsamplers.ops.lowpass.MAX_LOWPASS_TAPS`): a response of
#: 2**25 points took 13-19 s (2-core EPYC, load 2-3), one of 2**24 about half of that.
#: ``layer.response()`` at factor 16000 with 4096 points per band asked for 131 M
#: points (about 6 GiB with the gain and frequency arrays) before this bound.
MAX_RESPONSE_POINTS = 1 << 24


def response_points(factor: int, points_per_band: int | None) -> int:
    """``points_per_band`` checked, or by default 4096, fewer at factors above 4096 so
    that the FFT stays within :data:`MAX_RESPONSE_POINTS`."""
    if points_per_band is None:
        return max(8, min(4096, MAX_RESPONSE_POINTS // (2 * factor)))
    return check_positive_int("points_per_band", points_per_band)


def kaiser_beta(attenuation_db: float) -> float:
    """Kaiser's formula for the window parameter ``beta`` that gives a stop band
    ``attenuation_db`` below the pass band."""
    a = float(attenuation_db)
    if a > 50:
        return 0.1102 * (a - 8.7)
    if a > 21:
        return 0.5842 * (a - 21) ** 0.4 + 0.07886 * (a - 21)
    return 0.0


def kaiser_attenuation(beta: float) -> float:
    """The stop-band attenuation (dB) that :func:`kaiser_beta` maps to ``beta``
    (its inverse; 21 dB for ``beta = 0``)."""
    beta = float(beta)
    if beta > 0.1102 * (50 - 8.7):
        return beta / 0.1102 + 8.7
    low, high = 21.0, 50.0  # kaiser_beta is increasing on [21, 50]
    for _ in range(60):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if kaiser_beta(mid) < beta else (low, mid)
    return 0.5 * (low + high)


def kaiser_half_length(factor: int, transition: float, attenuation_db: float) -> int:
    """Taps ``H`` on each side of the centre that a Kaiser-windowed sinc
    interpolating by ``factor`` needs for a transition band ``transition`` wide
    (a fraction of the input Nyquist frequency) and a stop band
    ``attenuation_db`` down: Kaiser's estimate ``2 H = (A - 7.95) / (2.285 dw)``
    with ``dw = pi * transition / factor`` rad/sample at the high rate.
    ``H`` is capped at ``2**61`` (far above every size bound), so that a vanishing
    ``transition`` gives a number to refuse, not an overflow."""
    a = max(float(attenuation_db), 21.0)
    half = (a - 7.95) * factor / (2 * 2.285 * math.pi * transition)
    return max(1, math.ceil(half)) if half < HALF_LENGTH_CEILING else HALF_LENGTH_CEILING


#: the largest ``H`` :func:`kaiser_half_length` returns
HALF_LENGTH_CEILING = 1 << 61


def kaiser_window(taps: int, beta: float) -> np.ndarray:
    """``np.kaiser(taps, beta)``, finite for any ``beta``: beyond ``beta = 700``
    (where ``np.kaiser`` overflows to NaN: BigVGAN's filter from 1498 taps at
    ratio 2) it is computed with the exponentially scaled Bessel function.

    Shape: ``(taps,)``.
    """
    if beta < 700 or taps == 1:
        return np.kaiser(taps, beta)
    from scipy.special import i0e  # i0e(z) = exp(-|z|) i0(z)

    half = (taps - 1) / 2
    s = np.sqrt(np.clip(1 - ((np.arange(taps) - half) / half) ** 2, 0.0, None))
    return i0e(beta * s) / i0e(beta) * np.exp(beta * (s - 1))


def sinc_filter(factor: int, *, cutoff: float = 0.9, zeros: int = 6,
                beta: float | None = None, half: int | None = None) -> np.ndarray:
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
        half: ``H`` itself (e.g. from :func:`kaiser_half_length`), instead of
            ``zeros``.

    Returns:
        float64 array of length ``2 * H + 1``; tap ``H`` is the centre.
    """
    factor = check_positive_int("factor", factor)
    zeros = check_positive_int("zeros", zeros)
    cutoff = check_real("cutoff", cutoff, low=0.0, high=1.0, low_open=True)
    if beta is None:
        beta = kaiser_beta(80.0)
    beta = check_real("beta", beta, low=0.0)
    half = (math.ceil(zeros * factor / cutoff) if half is None
            else check_positive_int("half", half))
    n = np.arange(-half, half + 1)
    arg = cutoff * n / factor
    taps = cutoff / factor * np.sinc(arg) * kaiser_window(2 * half + 1, beta)
    crossing = (n != 0) & (np.abs(arg - np.round(arg)) < 1e-12)
    taps[crossing] = 0.0  # exact zeros of the sinc (np.sinc leaves ~1e-17 there)
    return taps / _phase_sums(taps, factor)[n % factor]


def _phase_sums(taps: np.ndarray, factor: int) -> np.ndarray:
    """``(factor,)``: the sum of the taps ``f[n]`` with ``n = j (mod factor)`` for each
    phase ``j`` (``taps`` centred, ``n`` from ``-H`` to ``H``). Each phase's taps are
    gathered in increasing ``n`` into one row and summed along it, as numpy sums the
    1-D selection ``taps[n % r == j]`` (the same rounding); phases with the same count
    together: ``O(H)`` work, where a loop over the phases was ``O(H r)`` (minutes at
    factor 16000)."""
    half = (len(taps) - 1) // 2
    phases = np.arange(factor)
    first = (phases + half) % factor  # index of the first tap of phase j
    counts = (len(taps) - first + factor - 1) // factor
    sums = np.empty(factor)
    for count in np.unique(counts):  # at most two counts
        rows = np.flatnonzero(counts == count)
        sums[rows] = taps[first[rows, None] + factor * np.arange(count)].sum(axis=1)
    return sums


@dataclass(frozen=True)
class InterpolationResponse:
    """The frequency response of an interpolation by ``factor`` (the fixed part of
    an interpolation layer), as a high-rate filter applied to the zero-stuffed
    input, relative to its gain at DC.

    Frequencies are fractions of the *input* Nyquist frequency, from 0 to
    ``factor`` (the output Nyquist): the signal's band is ``[0, 1)``, its images
    lie above 1. A sine at ``f`` has images at ``2 m +- f`` (``m >= 1``).

    Attributes:
        factor: ``r``.
        frequencies: ``(N,)`` from 0 to ``factor``.
        gain_db: ``(N,)`` gain re DC, dB.
        passband_edge: the band the ripple is measured over, ``[0, passband_edge]``.
        stopband_edge: where the stop band (the images) starts.
    """

    factor: int
    frequencies: np.ndarray
    gain_db: np.ndarray
    passband_edge: float
    stopband_edge: float

    def gain_at(self, frequency: float) -> float:
        """Gain (dB re DC) at ``frequency`` (fraction of the input Nyquist),
        interpolated linearly between grid points."""
        return float(np.interp(frequency, self.frequencies, self.gain_db))

    @property
    def ripple_db(self) -> float:
        """Peak-to-peak gain over the pass band ``[0, passband_edge]`` (dB)."""
        band = self.gain_db[self.frequencies <= self.passband_edge]
        return float(band.max() - band.min())

    @property
    def minus_3db(self) -> float:
        """The first frequency where the gain falls 3 dB below DC."""
        below = np.flatnonzero(self.gain_db <= -3.0)
        if not len(below):
            return float(self.factor)
        i = int(below[0])
        f0, f1 = self.frequencies[i - 1], self.frequencies[i]
        g0, g1 = self.gain_db[i - 1], self.gain_db[i]
        return float(f0 + (f1 - f0) * (-3.0 - g0) / (g1 - g0))

    @property
    def stopband_db(self) -> float:
        """The highest gain over the stop band ``[stopband_edge, factor]`` (dB re DC):
        the worst image level (the attenuation is its negative)."""
        band = self.gain_db[self.frequencies >= self.stopband_edge]
        return float(band.max()) if len(band) else -math.inf

    def image_rejection_db(self, frequency: float) -> float:
        """How far below a sine at ``frequency`` (fraction of the input Nyquist, in
        ``(0, 1)``) its strongest image lies, dB."""
        images = [f for m in range(1, self.factor // 2 + 1) for f in (2 * m - frequency,
                                                                       2 * m + frequency)
                  if f <= self.factor]
        if not images:
            return math.inf
        return self.gain_at(frequency) - max(self.gain_at(f) for f in images)


def interpolation_response(taps: np.ndarray, offset: int, *, passband_edge: float,
                           stopband_edge: float, points_per_band: int = 4096
                           ) -> InterpolationResponse:
    """The :class:`InterpolationResponse` of the interpolation ``u[t r + j] =
    sum_d taps[j, d] x[t + offset + d]`` (``taps``: ``(r, D)``): its high-rate
    impulse response ``g[(-offset - d) r + j] = taps[j, d]``, transformed with
    ``points_per_band`` points per input Nyquist band (zero padded)."""
    r = taps.shape[0]
    spectrum, n = _magnitude(taps, offset, points_per_band)
    gain = 20 * np.log10(np.maximum(spectrum, 1e-300) / spectrum[0])
    frequencies = np.arange(len(spectrum)) * 2.0 * r / n
    return InterpolationResponse(r, frequencies, gain, float(passband_edge),
                                 float(stopband_edge))


def _magnitude(taps: np.ndarray, offset: int, points_per_band: int) -> tuple[np.ndarray, int]:
    """``(|G|, n)``: the magnitude of the ``n``-point FFT of the interpolation's
    high-rate impulse response ``g[(-offset - d) r + j] = taps[j, d]`` (zero padded to
    ``points_per_band`` points per input Nyquist band, and at least 8 times its
    length)."""
    r, depth = taps.shape
    j = np.arange(r)[:, None]
    d = np.arange(depth)[None, :]
    index = (-offset - d) * r + j  # high-rate time of tap (j, d)
    g = np.zeros(int(index.max() - index.min()) + 1)
    np.add.at(g, (index - index.min()).ravel(), taps.ravel())
    n = max(2 * r * points_per_band, 1 << math.ceil(math.log2(len(g) * 8)))
    if n > MAX_RESPONSE_POINTS:
        raise InvalidValue(
            f"factor={r}, points_per_band={points_per_band} (a filter of {len(g):,} taps) "
            f"need an FFT of {n:,} points, more than the limit of {MAX_RESPONSE_POINTS:,} "
            f"(upsamplers.ops.filters.MAX_RESPONSE_POINTS); lower points_per_band")
    return np.abs(np.fft.rfft(g, n)), n


def stopband_level_db(taps: np.ndarray, offset: int, *, stopband_edge: float,
                      points_per_band: int = 4096) -> float:
    """:attr:`InterpolationResponse.stopband_db` of :func:`interpolation_response`
    (same FFT, same grid), without the rest of the response: the filter design's
    check, which runs once per candidate length."""
    r = taps.shape[0]
    spectrum, n = _magnitude(taps, offset, points_per_band)
    band = spectrum[np.arange(len(spectrum)) * 2.0 * r / n >= float(stopband_edge)]
    if not len(band):
        return -math.inf
    return float(20 * np.log10(max(float(band.max()), 1e-300) / spectrum[0]))
