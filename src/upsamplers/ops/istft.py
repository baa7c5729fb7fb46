"""The fixed tables of an inverse-STFT head (numpy, float64): the synthesis basis
(windowed inverse real DFT), the overlap-add envelope, and the same synthesis as
``r`` low-rate phase tables.

An iSTFT head by ``hop = r`` turns ``N = n_fft`` real spectral coefficients per
low-rate step ``t`` into one windowed frame of ``N`` samples centred on output
sample ``t * r`` (frame sample ``n`` lands on ``t * r + n - N // 2``, as
``torch.istft(center=True)``), and adds the frames::

    frame_t[n] = w[n] * irfft(S_t)[n]          (n = 0 .. N - 1)
    y[m] = sum_t frame_t[m - t r + N // 2] / env[m mod r]

The coefficients are the real parts of bins ``0 .. N // 2`` and the imaginary
parts of the bins other than DC and Nyquist (those ``irfft`` ignores): ``N`` real
numbers, a basis of the frame. ``env`` is the steady-state window-square envelope
``env[i] = sum of w[n]**2 over n = i + N // 2 (mod r)`` (period ``r``) that ``torch.istft``
divides by, so spectra of an STFT with the same window and hop come back as the
signal (away from the ends, where ``torch.istft`` divides by the partial envelope).

Used by :class:`~upsamplers.layers.ISTFTUpsample1d` and the Keras layer alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import InvalidValue, check_choice, check_positive_int

#: The windows an iSTFT head takes (periodic, as ``torch.hann_window``'s default).
ISTFT_WINDOWS = ("hann", "sqrt_hann", "hamming", "rectangular")


def istft_window(name: str, n_fft: int) -> np.ndarray:
    """The periodic synthesis window ``name`` of ``n_fft`` samples, float64."""
    name = check_choice("window", name, ISTFT_WINDOWS)
    n = np.arange(n_fft)
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * n / n_fft)
    if name == "hann":
        return hann
    if name == "sqrt_hann":
        return np.sqrt(hann)
    if name == "hamming":
        return 0.54 - 0.46 * np.cos(2 * np.pi * n / n_fft)
    return np.ones(n_fft)


@dataclass(frozen=True)
class ISTFTTables:
    """The fixed tables of one head (``N = n_fft``, ``r = hop``).

    Attributes:
        basis: ``(N, L)``: coefficient ``j``'s windowed waveform over the window's
            support ``lo .. lo + L - 1`` (samples where the window is zero dropped,
            so that a non-finite coefficient reaches only samples it weights).
        start: samples of the overlap-add output before output sample 0
            (``N // 2 - lo``; negative: that many are missing and are zeros).
        envelope: ``(r,)``: the window-square overlap-add envelope per phase.
        phases: ``(r, N, D)``: ``y[s r + i] = sum_{j,e} phases[i, j, e] z_j[s + e - left]``
            before normalisation (``z`` the coefficients at the low rate).
        left: as above.
    """

    basis: np.ndarray
    start: int
    envelope: np.ndarray
    phases: np.ndarray
    left: int


def istft_basis(window: np.ndarray) -> tuple[np.ndarray, int]:
    """``(basis (N, L), lo)``: the inverse real DFT's ``N`` real coefficients times the
    window, over the window's non-zero support starting at ``lo``."""
    n_fft = len(window)
    n = np.arange(n_fft)
    bins = np.arange(n_fft // 2 + 1)
    # irfft: x[n] = (1/N) sum_f a_f (Re S_f cos(2 pi f n / N) - Im S_f sin(2 pi f n / N)),
    # a_f = 1 for DC and (N even) Nyquist, 2 otherwise
    scale = np.full(len(bins), 2.0)
    scale[0] = 1.0
    if n_fft % 2 == 0:
        scale[-1] = 1.0
    angle = 2 * np.pi * np.outer(bins, n) / n_fft
    real = scale[:, None] * np.cos(angle) / n_fft
    imag_bins = bins[1:(n_fft + 1) // 2]  # bins whose imaginary part irfft reads
    imag = -scale[imag_bins, None] * np.sin(angle[imag_bins]) / n_fft
    basis = np.concatenate([real, imag]) * window  # (N, N)
    support = np.flatnonzero(window)
    lo, hi = int(support[0]), int(support[-1])
    return np.ascontiguousarray(basis[:, lo:hi + 1]), lo


def istft_envelope(window: np.ndarray, hop: int) -> np.ndarray:
    """``(hop,)``: ``sum_u w[n + u hop]**2`` at output phase ``i`` for frames centred as
    in the module docstring (steady state, every frame present)."""
    n_fft = len(window)
    env = np.zeros(hop)
    for n in range(n_fft):
        env[(n - n_fft // 2) % hop] += window[n] ** 2
    return env


def istft_tables(n_fft: int, hop: int, window: str) -> ISTFTTables:
    """Every fixed table of a head; ``InvalidValue`` when the window's support is
    shorter than ``hop`` (some output phase would get no frame)."""
    n_fft = check_positive_int("n_fft", n_fft)
    w = istft_window(window, n_fft)
    basis, lo = istft_basis(w)
    length = basis.shape[1]
    if length < hop:
        raise InvalidValue(
            f"n_fft must give a window of at least factor={hop} non-zero samples, so that "
            f"every output sample gets a frame; the {window!r} window of n_fft={n_fft} has "
            f"{length}; received n_fft={n_fft}")
    start = n_fft // 2 - lo
    # y[s r + i] reads frame u = s - d at its sample q = d r + i + start, 0 <= q < L
    d_min = -((start + hop - 1) // hop)
    d_max = (length - 1 - start) // hop
    depth = d_max - d_min + 1
    phases = np.zeros((hop, n_fft, depth))
    for i in range(hop):
        for d in range(d_min, d_max + 1):
            q = d * hop + i + start
            if 0 <= q < length:
                phases[i, :, d_max - d] = basis[:, q]  # column e = d_max - d reads z[s - d]
    return ISTFTTables(basis, start, istft_envelope(w, hop), phases, d_max)
