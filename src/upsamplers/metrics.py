"""Separation and reconstruction quality: SI-SDR and SDR (BSS-eval style), and
the figures of audio super-resolution: SNR and log-spectral distance (LSD).

Both are computed in float64 with numpy/scipy, one signal at a time, so their
results do not depend on torch's thread settings (batched
``torch.linalg.solve`` misbehaves on some CPU builds after
``torch.set_num_threads(n >= 2)``; nothing here calls it).

* :func:`si_sdr`: scale-invariant SDR (Le Roux et al., 2019), in dB:
  ``10 log10(|a s|^2 / |a s - e|^2)`` with ``a = <e, s> / |s|^2``.
* :func:`sdr`: the SDR of BSS-eval (``bss_eval_sources``, as computed by
  museval / fast-bss-eval): the estimate is projected on the reference filtered
  by every FIR filter of ``filter_length`` taps; ``s_target`` is that
  projection and ``SDR = 10 log10(|s_target|^2 / |e - s_target|^2)``.
* :func:`snr`: ``10 log10(|s|^2 / |s - e|^2)``, in dB (not scale-invariant).
* :func:`lsd`: log-spectral distance (Kuleshov et al., 2017): the RMS over
  frequency bins of the difference of the log10 power spectra, averaged over
  STFT frames; optionally over a band of frequencies only.
* :func:`spectral_snr`: the SNR of STFT magnitudes (``-20 log10`` of the
  spectral convergence of Arik et al., 2018), averaged over three resolutions:
  blind to phase, the figure for a vocoder, which cannot recover the phase that
  a mel spectrogram drops.

Inputs are ``(..., T)`` arrays or tensors (estimate first, as torchmetrics
does); the result has shape ``(...)``. A silent reference gives ``nan``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import InvalidValue

SILENCE = 1e-10  # reference energy (sum of squares) below which the score is undefined


def _as_pair(estimate: Any, reference: Any) -> tuple[np.ndarray, np.ndarray]:
    def convert(name: str, x: Any) -> np.ndarray:
        try:
            import torch

            if isinstance(x, torch.Tensor):
                x = x.detach().cpu().double().numpy()
        except ImportError:  # pragma: no cover
            pass
        x = np.asarray(x, dtype=np.float64)
        if x.ndim < 1 or x.shape[-1] < 1:
            raise InvalidValue(f"{name} must have shape (..., T) with T >= 1; "
                               f"received shape {x.shape}")
        if not np.isfinite(x).all():
            raise InvalidValue(f"{name} must be finite; received non-finite values")
        return x

    e, r = convert("estimate", estimate), convert("reference", reference)
    if e.shape != r.shape:
        raise InvalidValue(f"estimate and reference must have the same shape; received "
                           f"estimate {e.shape} and reference {r.shape}")
    return e, r


def si_sdr(estimate: Any, reference: Any, *, zero_mean: bool = False) -> np.ndarray:
    """Scale-invariant signal-to-distortion ratio in dB, over the last axis.

    Shape: ``(..., T), (..., T) -> (...)``.
    """
    e, r = _as_pair(estimate, reference)
    if zero_mean:
        e = e - e.mean(-1, keepdims=True)
        r = r - r.mean(-1, keepdims=True)
    energy = (r * r).sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = (e * r).sum(-1) / energy
        target = alpha[..., None] * r
        noise = e - target
        out = 10 * np.log10((target * target).sum(-1) / (noise * noise).sum(-1))
    return np.where(energy > SILENCE, out, np.nan)


def _correlations(reference: np.ndarray, estimate: np.ndarray, taps: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Auto-correlation of ``reference`` and its cross-correlation with
    ``estimate``, lags ``0 .. taps-1`` (linear, not circular), via the FFT."""
    n = reference.shape[-1]
    size = 1 << int(np.ceil(np.log2(n + taps)))
    R = np.fft.rfft(reference, size)
    E = np.fft.rfft(estimate, size)
    auto = np.fft.irfft(R.conj() * R, size)[:taps]
    cross = np.fft.irfft(R.conj() * E, size)[:taps]
    return auto, cross


def sdr(estimate: Any, reference: Any, *, filter_length: int = 512,
        load_diag: float = 1e-10) -> np.ndarray:
    """BSS-eval signal-to-distortion ratio in dB, over the last axis.

    ``h`` (``filter_length`` taps) solves the normal equations ``R h = b``, where ``R``
    is the Toeplitz auto-correlation matrix of the reference (plus ``load_diag``
    times its energy on the diagonal, which keeps near-silent references
    solvable) and ``b`` the cross-correlation with the estimate. Then
    ``|s_target|^2 = h . b`` and ``|e - s_target|^2 = |e|^2 - h . b``.
    An estimate equal to the reference reads ``+inf`` (as :func:`snr`), not the
    ceiling near 100 dB that the diagonal loading would set; a silent reference
    reads ``nan``.

    Shape: ``(..., T), (..., T) -> (...)``.
    """
    from scipy.linalg import solve_toeplitz

    if isinstance(filter_length, bool) or not isinstance(filter_length, int) or filter_length < 1:
        raise InvalidValue(f"filter_length must be a positive integer; "
                           f"received filter_length={filter_length!r}")
    e, r = _as_pair(estimate, reference)
    taps = min(filter_length, e.shape[-1])
    flat_e = e.reshape(-1, e.shape[-1])
    flat_r = r.reshape(-1, r.shape[-1])
    out = np.full(flat_e.shape[0], np.nan)
    for i, (ei, ri) in enumerate(zip(flat_e, flat_r, strict=True)):
        auto, cross = _correlations(ri, ei, taps)
        if auto[0] <= SILENCE:
            continue
        if np.array_equal(ei, ri):
            out[i] = np.inf
            continue
        auto = auto.copy()
        auto[0] += load_diag * auto[0]
        h = solve_toeplitz(auto, cross)
        target = float(h @ cross)
        residual = float(ei @ ei) - target
        with np.errstate(divide="ignore"):
            out[i] = 10 * np.log10(max(target, 0.0) / max(residual, 1e-300))
    return out.reshape(e.shape[:-1])


def snr(estimate: Any, reference: Any) -> np.ndarray:
    """Signal-to-noise ratio in dB, over the last axis:
    ``10 log10(sum(s^2) / sum((s - e)^2))`` for reference ``s`` and estimate ``e``
    (``+inf`` for an exact estimate, ``nan`` for a silent reference).

    Shape: ``(..., T), (..., T) -> (...)``.
    """
    e, r = _as_pair(estimate, reference)
    energy = (r * r).sum(-1)
    error = ((r - e) ** 2).sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 10 * np.log10(energy / error)
    return np.where(energy > SILENCE, out, np.nan)


#: added to every power spectrum bin before its log10, in :func:`lsd`
LSD_EPSILON = 1e-10


def _magnitude(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """``|STFT|`` of ``(..., T)``: periodic Hann window of ``n_fft`` samples, frames
    every ``hop`` samples, centred (the signal is zero-padded by ``n_fft // 2`` on
    each side), no normalisation. Shape ``(..., frames, n_fft // 2 + 1)`` with
    ``frames = 1 + T // hop``."""
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(n_fft // 2, n_fft // 2)])
    frames = 1 + x.shape[-1] // hop
    index = hop * np.arange(frames)[:, None] + np.arange(n_fft)[None, :]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    return np.abs(np.fft.rfft(padded[..., index] * window, axis=-1))


def _log_power(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """``log10(|STFT|^2 + LSD_EPSILON)`` of ``(..., T)`` (:func:`_magnitude`'s STFT).
    Shape ``(..., frames, n_fft // 2 + 1)``."""
    return np.log10(_magnitude(x, n_fft, hop) ** 2 + LSD_EPSILON)


#: the STFT sizes of :func:`spectral_snr` (hop a quarter of each)
SPECTRAL_SNR_FFTS = (512, 1024, 2048)


def spectral_snr(estimate: Any, reference: Any, *,
                 n_ffts: tuple[int, ...] = SPECTRAL_SNR_FFTS) -> np.ndarray:
    """SNR of the STFT magnitudes over the last axis, in dB (higher is better;
    ``inf`` for an estimate with the reference's magnitudes, whatever its phase)::

        SC_n = ||S_n| - |E_n||_F / ||S_n||_F      (spectral convergence, Arik et al. 2018)
        spectral SNR = mean over n of -20 log10(SC_n)

    ``S_n``, ``E_n``: the STFTs of reference and estimate with a periodic Hann
    window of ``n`` samples for ``n`` in ``n_ffts``, hop ``n // 4``, frames centred
    (zero padding of ``n // 2`` each side). The magnitudes drop the phase, which a
    vocoder cannot recover from a mel spectrogram: a waveform figure (SNR,
    SI-SDR) punishes a right spectrum with another phase as hard as noise. Three
    resolutions so that neither time nor frequency smearing hides an error.
    A silent reference gives ``nan``.

    Shape: ``(..., T), (..., T) -> (...)``.
    """
    e, r = _as_pair(estimate, reference)
    out = np.zeros(r.shape[:-1])
    for n_fft in n_ffts:
        n_fft = _positive_int("n_fft", n_fft)
        ref, est = _magnitude(r, n_fft, n_fft // 4), _magnitude(e, n_fft, n_fft // 4)
        energy = (ref ** 2).sum((-2, -1))
        error = ((ref - est) ** 2).sum((-2, -1))
        with np.errstate(divide="ignore", invalid="ignore"):
            out = out + 10 * np.log10(energy / error) / len(n_ffts)
    return np.where((r * r).sum(-1) > SILENCE, out, np.nan)


def lsd(estimate: Any, reference: Any, *, sample_rate: float, n_fft: int = 2048,
        hop: int = 512, band: tuple[float, float] | None = None) -> np.ndarray:
    """Log-spectral distance over the last axis (lower is better; 0 for an exact
    estimate), as Kuleshov et al. (2017) define it::

        X[l, k] = log10(|STFT(s)[l, k]|^2 + 1e-10)       (and Y[l, k] of the estimate)
        LSD = mean over frames l of sqrt(mean over bins k of (X[l, k] - Y[l, k])^2)

    STFT: periodic Hann window of ``n_fft`` samples, hop ``hop``, frames centred
    (zero padding of ``n_fft // 2`` on each side), unnormalised; the epsilon is
    :data:`LSD_EPSILON` (absolute, on the power of a full-scale signal of
    amplitude 1). The unit is log10 of power: 1 is a 10 dB difference.
    ``band=(f_lo, f_hi)`` in Hz keeps the bins with ``f_lo <= k * sample_rate /
    n_fft <= f_hi`` (e.g. the band above the input's Nyquist frequency of a
    super-resolution model); ``InvalidValue`` when it holds no bin.

    Shape: ``(..., T), (..., T) -> (...)``.
    """
    n_fft = _positive_int("n_fft", n_fft)
    hop = _positive_int("hop", hop)
    if not sample_rate > 0:
        raise InvalidValue(f"sample_rate must be > 0; received sample_rate={sample_rate!r}")
    e, r = _as_pair(estimate, reference)
    diff = _log_power(r, n_fft, hop) - _log_power(e, n_fft, hop)
    if band is not None:
        freqs = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
        keep = (freqs >= band[0]) & (freqs <= band[1])
        if not keep.any():
            raise InvalidValue(f"band={band!r} holds no frequency bin of a {n_fft}-point STFT "
                               f"at {sample_rate} Hz")
        diff = diff[..., keep]
    return np.sqrt((diff ** 2).mean(-1)).mean(-1)


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidValue(f"{name} must be a positive integer; received {name}={value!r}")
    return int(value)
