"""Long averaged power spectra (Welch) in which a stationary tone is one sharp bin.

The spectrum is in *power per bin* (``scaling="spectrum"``): a sinusoid of
amplitude ``A`` whose frequency falls on a bin reads ``A**2 / 2`` in that bin,
whatever the segment length, while the level of broadband noise per bin falls
as the segments grow. The default window is the 4-term Blackman-Harris window
(periodic): an on-bin tone leaks into 3 bins either side and nowhere else
(side lobes below -92 dB), so the bins beyond a small guard measure the floor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal as sps

from .._checks import InvalidValue
from ._validate import check_audio, check_int, check_rate

DEFAULT_WINDOW = "blackmanharris"
#: Bins either side of a tone that its window main lobe may occupy.
GUARD_BINS = 4


@dataclass
class Spectrum:
    """A one-sided averaged power spectrum.

    Attributes:
        frequencies: ``(F,)`` bin centres in Hz, ``0 .. sample_rate / 2``.
        power: ``(F,)`` power per bin (mean over channels), in squared signal units.
        sample_rate: Hz.
        nperseg: samples per segment; the bin width is ``sample_rate / nperseg``.
        segments: number of averaged (50 % overlapping) segments.
        total_power: mean square of the analysed signal (mean over channels).
    """

    frequencies: np.ndarray
    power: np.ndarray
    sample_rate: float
    nperseg: int
    segments: int
    total_power: float

    @property
    def bin_width(self) -> float:
        """Hz between bins."""
        return self.sample_rate / self.nperseg

    def bin_of(self, frequency: float) -> int:
        """Index of the bin nearest to ``frequency`` (Hz)."""
        return int(np.clip(round(frequency / self.bin_width), 0, len(self.power) - 1))


def choose_nperseg(length: int, *, multiple_of: int = 1, min_segments: int = 8,
                   max_nperseg: int = 2**17) -> int:
    """Segment length for :func:`welch_spectrum`.

    The largest ``multiple_of * 2**j`` (so that multiples of ``sample_rate /
    multiple_of`` fall exactly on bins) that still gives ``min_segments``
    half-overlapping segments in ``length`` samples and is at most
    ``max_nperseg`` (but never below ``multiple_of``).

    Raises:
        ValueError: if ``length < multiple_of``: the signal is too short to put
            those frequencies on bins.
    """
    length = check_int("length", length)
    multiple_of = check_int("multiple_of", multiple_of)
    min_segments = check_int("min_segments", min_segments)
    if length < multiple_of:
        raise InvalidValue(f"the signal must have at least {multiple_of} samples to resolve the "
                           f"frequencies sample_rate / {multiple_of}; received {length} samples")
    limit = min(max_nperseg, (2 * length) // (min_segments + 1))
    n = multiple_of
    while n * 2 <= limit:
        n *= 2
    return n


def welch_spectrum(signal: np.ndarray, sample_rate: float, *, nperseg: int | None = None,
                   multiple_of: int = 1, min_segments: int = 8, max_nperseg: int = 2**17,
                   window: str = DEFAULT_WINDOW) -> Spectrum:
    """Averaged power spectrum of ``signal`` (mean over its channels).

    Args:
        signal: ``(T,)`` or ``(C, T)`` samples; the mean is *not* removed (DC is kept).
        sample_rate: Hz.
        nperseg: samples per segment; default :func:`choose_nperseg` with
            ``multiple_of``, ``min_segments`` and ``max_nperseg``.
        window: any window name of ``scipy.signal.get_window``.

    Shape:
        ``(C, T) -> Spectrum`` with ``nperseg // 2 + 1`` bins.
    """
    x = check_audio("signal", signal)
    sample_rate = check_rate("sample_rate", sample_rate)
    length = x.shape[-1]
    if nperseg is None:
        nperseg = choose_nperseg(length, multiple_of=multiple_of, min_segments=min_segments,
                                 max_nperseg=max_nperseg)
    nperseg = check_int("nperseg", nperseg)
    if nperseg > length:
        raise InvalidValue(f"nperseg must be at most the signal length {length}; "
                           f"received nperseg={nperseg}")
    noverlap = nperseg // 2
    freqs, power = sps.welch(x, fs=sample_rate, window=window, nperseg=nperseg,
                             noverlap=noverlap, detrend=False, scaling="spectrum", axis=-1)
    segments = 1 + (length - nperseg) // (nperseg - noverlap)
    return Spectrum(frequencies=freqs, power=power.mean(axis=0), sample_rate=sample_rate,
                    nperseg=nperseg, segments=segments,
                    total_power=float(np.mean(x * x)))


def local_floor(power: np.ndarray, index: int, *, half_width: int, guard: int = GUARD_BINS,
                excluded: np.ndarray | None = None) -> float:
    """Median power of the bins within ``half_width`` of ``index``, leaving out the
    ``guard`` bins either side of it and every bin marked in ``excluded``.

    Returns NaN when no neighbouring bin is left.
    """
    lo, hi = max(0, index - half_width), min(len(power), index + half_width + 1)
    idx = np.arange(lo, hi)
    keep = np.abs(idx - index) > guard
    if excluded is not None:
        keep &= ~excluded[lo:hi]
    if not np.any(keep):
        return float("nan")
    return float(np.median(power[idx[keep]]))


def db(ratio: float | np.ndarray) -> float | np.ndarray:
    """``10 log10(ratio)`` of a power ratio, ``-inf`` for 0."""
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(ratio)
