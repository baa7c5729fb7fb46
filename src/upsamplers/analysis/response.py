"""Filtering artifacts: the magnitude response of an upsampler, measured and in theory.

Every upsampler by ``r`` (before any nonlinearity) is a filter ``g`` applied to
the zero-stuffed input ``u`` (``u[n r] = x[n]``, zeros between): see the
polyphase view in ``DESIGN.md``. Its *response* here is ``G(f) / r``, the gain
from ``x_up = r u`` (the zero-stuffed input scaled to keep its DC level) to the
output; an ideal interpolator has response 1 up to the input Nyquist and 0
above. Two measurements (:func:`measure_response`):

* ``method="noise"``: white noise in, the H1 estimate ``P_xy / P_xx`` between
  ``x_up`` and the output (Welch, Blackman-Harris, borders trimmed);
* ``method="sines"``: one sine per probe frequency, its output amplitude by least
  squares against the probe and all its images ``k fs_in +- f``.

Theory (:func:`interpolation_response`): nearest neighbour repeats each sample
``r`` times, ``g`` = a box of ``r`` ones, so
``|G / r| = |sin(pi f r / fs_out) / (r sin(pi f / fs_out))|`` (:func:`sinc_response`).
Linear interpolation samples a triangle of half-width ``r`` (``g[m] = tri(m /
r)`` with ``align_corners=True``-style alignment), so its response is that
expression squared. PyTorch's default ``F.interpolate(mode="linear",
align_corners=False)`` places output sample ``n`` at input position
``(n + 1/2) / r - 1/2``: for odd ``r`` this is the same triangle delayed by
``(r - 1) / 2`` samples (same magnitude), but for even ``r`` the triangle is
sampled half a sample off its peak, ``g[m] = tri((m + 1/2) / r - 1/2)``, and the
magnitude differs from sinc^2 (for ``r = 2``: ``|cos(pi f / fs_out)|**3``
instead of ``cos**2``). :func:`interpolation_response` computes the exact
response of either alignment.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import signal as sps

from .._checks import InvalidValue
from ._validate import (
    MAX_PROBE_SAMPLES,
    check_audio,
    check_fraction_list,
    check_int,
    check_rate,
)
from .spectrum import DEFAULT_WINDOW, choose_nperseg, db

INTERPOLATIONS = ("nearest", "linear")
DEFAULT_FRACTIONS = (0.5, 0.75, 0.9)


def sinc_response(frequencies: np.ndarray | Sequence[float], factor: int, sample_rate_out: float,
                  *, power: int = 1) -> np.ndarray:
    """Textbook magnitude ``|sin(pi f r / fs) / (r sin(pi f / fs))| ** power`` (1 at
    ``f = 0``; ``power=1`` nearest neighbour, ``power=2`` linear interpolation).

    Shape: ``(F,) -> (F,)``.
    """
    r = check_int("factor", factor)
    fs = check_rate("sample_rate_out", sample_rate_out)
    f = np.asarray(frequencies, dtype=float)
    num = np.sin(np.pi * f * r / fs)
    den = r * np.sin(np.pi * f / fs)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(np.abs(den) < 1e-12, 1.0, num / np.where(den == 0, 1, den))
    return np.abs(ratio) ** power


def interpolation_kernel(factor: int, mode: str, *, align_corners: bool = False) -> np.ndarray:
    """Filter ``g`` (applied to the zero-stuffed input) of nearest or linear
    interpolation by ``factor`` as PyTorch's ``F.interpolate`` computes it, away
    from the borders. ``align_corners=True`` here means the textbook triangle
    ``tri(m / r)`` (what ``align_corners=True`` does for long signals).

    Shape: ``(L,)`` taps, summing to ``factor``.
    """
    r = check_int("factor", factor)
    if mode not in INTERPOLATIONS:
        raise InvalidValue(f"mode must be one of {INTERPOLATIONS}; received mode={mode!r}")
    if mode == "nearest":
        return np.ones(r)
    m = np.arange(-2 * r, 2 * r + 1, dtype=float)
    pos = m / r if align_corners else (m + 0.5) / r - 0.5
    g = np.clip(1.0 - np.abs(pos), 0.0, None)
    return g[g > 0]


def interpolation_response(frequencies: np.ndarray | Sequence[float], factor: int,
                           sample_rate_out: float, mode: str, *,
                           align_corners: bool = False) -> np.ndarray:
    """Exact magnitude response ``|G(f)| / r`` of :func:`interpolation_kernel`.

    Shape: ``(F,) -> (F,)``.
    """
    g = interpolation_kernel(factor, mode, align_corners=align_corners)
    fs = check_rate("sample_rate_out", sample_rate_out)
    f = np.asarray(frequencies, dtype=float)
    phase = np.exp(-2j * np.pi * np.outer(f, np.arange(len(g))) / fs)
    return np.abs(phase @ g) / factor


@dataclass
class Response:
    """A measured magnitude response.

    Attributes:
        frequencies: ``(F,)`` Hz at the output rate.
        magnitude: ``(F,)`` linear gain ``|G(f)| / r``.
        sample_rate_in / sample_rate_out: Hz.
        method: ``"noise"`` or ``"sines"``.
    """

    frequencies: np.ndarray
    magnitude: np.ndarray
    sample_rate_in: float
    sample_rate_out: float
    method: str

    def at(self, frequency: float | np.ndarray) -> np.ndarray:
        """Gain at ``frequency`` (Hz), interpolated linearly between measured points."""
        return np.interp(frequency, self.frequencies, self.magnitude)

    def db_at(self, frequency: float | np.ndarray) -> np.ndarray:
        """``20 log10`` of :meth:`at`."""
        return 2.0 * np.asarray(db(self.at(frequency)))


@dataclass
class FilteringSummary:
    """Attenuation (dB, negative = quieter) at fractions of the input Nyquist, and the
    notch depth (dB) at the input rate (and at its multiples below the output Nyquist).
    """

    fractions: tuple[float, ...]
    frequencies: list[float]
    attenuation_db: list[float]
    notch_frequencies: list[float]
    notch_db: list[float]


def zero_stuff(x: np.ndarray, factor: int) -> np.ndarray:
    """``r * u`` with ``u[..., n r] = x[..., n]`` and zeros between: the input at the
    output rate, scaled to keep its DC level. ``(..., T) -> (..., T * r)``."""
    out = np.zeros(x.shape[:-1] + (x.shape[-1] * factor,), dtype=float)
    out[..., ::factor] = factor * x
    return out


def _call(upsampler: Callable[[np.ndarray], np.ndarray], x: np.ndarray, factor: int) -> np.ndarray:
    y = check_audio("upsampler output", upsampler(x))
    if y.shape[0] != 1:
        raise InvalidValue(f"the upsampler must return one channel for measure_response; "
                           f"received {y.shape[0]} channels")
    if y.shape[-1] != x.shape[-1] * factor:
        raise InvalidValue(f"the upsampler changed the length unexpectedly: {x.shape[-1]} samples "
                           f"in must give {x.shape[-1]} * factor={factor} = {x.shape[-1] * factor} "
                           f"out; received {y.shape[-1]}")
    return y[0]


def measure_response(upsampler: Callable[[np.ndarray], np.ndarray], sample_rate_in: float,
                     factor: int, *, method: str = "noise", length: int = 32768,
                     probes: Sequence[float] = (0.1, 0.25, 0.5, 0.75, 0.9),
                     trim: int | None = None, seed: int = 0) -> Response:
    """Measure the magnitude response of a single-channel upsampler.

    Args:
        upsampler: maps a ``(T,)`` array at ``sample_rate_in`` to ``(T * factor,)``
            (or ``(1, T * factor)``).
        sample_rate_in: Hz.
        factor: upsampling factor ``r``.
        method: ``"noise"`` (H1 over the whole band, Welch) or ``"sines"`` (one
            sine per ``probes`` fraction of the input Nyquist).
        length: input samples per run.
        trim: output samples dropped at each end (default ``16 * factor``), where
            borders (padding, edge repetition) break the periodic structure.
        seed: for the noise.

    Returns:
        a :class:`Response` over ``[0, fs_out / 2]`` (noise) or at the probes (sines).
    """
    fs_in = check_rate("sample_rate_in", sample_rate_in)
    r = check_int("factor", factor)
    length = check_int("length", length, minimum=64)
    if length * r > MAX_PROBE_SAMPLES:
        raise InvalidValue(f"length * factor must be at most {MAX_PROBE_SAMPLES:,} output samples "
                           f"(upsamplers.analysis._validate.MAX_PROBE_SAMPLES); received "
                           f"length={length}, factor={r}")
    if method not in ("noise", "sines"):
        raise InvalidValue(f"method must be one of 'noise', 'sines'; received method={method!r}")
    trim = 16 * r if trim is None else check_int("trim", trim, minimum=0)
    seed = check_int("seed", seed, minimum=0)
    fs_out = fs_in * r
    if 2 * trim >= length * r // 2:
        raise InvalidValue(f"trim must leave at least half of the output; received trim={trim} "
                           f"for {length * r} output samples")
    if method == "noise":
        x = np.random.default_rng(seed).standard_normal(length)
        y = _call(upsampler, x, r)
        u = zero_stuff(x, r)
        sl = slice(trim, len(y) - trim)
        n = len(y) - 2 * trim
        nperseg = choose_nperseg(n, multiple_of=r, min_segments=16, max_nperseg=8192)
        kw = dict(fs=fs_out, window=DEFAULT_WINDOW, nperseg=nperseg, detrend=False)
        f, pxy = sps.csd(u[sl], y[sl], **kw)
        _, pxx = sps.welch(u[sl], **kw)
        return Response(f, np.abs(pxy) / pxx, fs_in, fs_out, "noise")
    fractions = check_fraction_list("probes", probes)
    freqs = np.array(fractions) * fs_in / 2
    t_in = np.arange(length) / fs_in
    t_out = np.arange(length * r) / fs_out
    gains = []
    for f0 in freqs:
        x = np.sin(2 * np.pi * f0 * t_in)
        y = _call(upsampler, x, r)
        sl = slice(trim, len(y) - trim)
        images = [f0] + [k * fs_in + s * f0 for k in range(1, r + 1) for s in (-1, 1)
                         if 0 < k * fs_in + s * f0 < fs_out / 2]
        basis = [np.ones(len(t_out))]
        for fi in images:
            basis += [np.sin(2 * np.pi * fi * t_out), np.cos(2 * np.pi * fi * t_out)]
        a = np.stack(basis, axis=1)[sl]
        coef, *_ = np.linalg.lstsq(a, y[sl], rcond=None)
        gains.append(math.hypot(coef[1], coef[2]))
    return Response(freqs, np.array(gains), fs_in, fs_out, "sines")


def filtering_summary(response: Response, *,
                      fractions: Sequence[float] = DEFAULT_FRACTIONS) -> FilteringSummary:
    """Attenuation of ``response`` at ``fractions`` of the input Nyquist and its
    depth at the multiples of the input rate up to the output Nyquist."""
    fractions = check_fraction_list("fractions", fractions)
    fs_in = response.sample_rate_in
    freqs = [q * fs_in / 2 for q in fractions]
    notches = [k * fs_in for k in range(1, int(response.sample_rate_out / 2 / fs_in + 1e-9) + 1)]
    return FilteringSummary(
        fractions=tuple(fractions), frequencies=freqs,
        attenuation_db=[float(response.db_at(f)) for f in freqs],
        notch_frequencies=notches,
        notch_db=[float(response.db_at(f)) for f in notches])
