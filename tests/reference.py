"""Deliberately simple numpy-loop references, written for testing only.

They share no code with the package: each follows the textbook definition
sample by sample.
"""

from __future__ import annotations

import numpy as np


def shuffle_loop(x: np.ndarray, factor: int, order: str) -> np.ndarray:
    """``(B, C * r, T) -> (B, C, T * r)`` by the definition of each order."""
    batch, channels, time = x.shape
    out_channels = channels // factor
    y = np.zeros((batch, out_channels, time * factor), dtype=x.dtype)
    for b in range(batch):
        for c in range(out_channels):
            for t in range(time):
                for i in range(factor):
                    src = c * factor + i if order == "channel" else i * out_channels + c
                    y[b, c, t * factor + i] = x[b, src, t]
    return y


def conv1d_same_loop(x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """Cross-correlation with ``(K - 1) // 2`` zeros before and the rest after:
    ``y[o, t] = b[o] + sum_{c, k} w[o, c, k] * x[c, t + k - (K - 1) // 2]``."""
    batch, _, time = x.shape
    out_channels, in_channels, k_size = w.shape
    left = (k_size - 1) // 2
    y = np.zeros((batch, out_channels, time), dtype=np.float64)
    for t in range(time):
        for k in range(k_size):
            src = t + k - left
            if 0 <= src < time:
                # (B, C_in) x (C_out, C_in) -> (B, C_out)
                y[:, :, t] += x[:, :, src] @ w[:, :, k].T
    if b is not None:
        y += b[None, :, None]
    return y


def conv_transpose1d_loop(x: np.ndarray, w: np.ndarray, stride: int,
                          b: np.ndarray | None) -> np.ndarray:
    """Full transposed convolution by scattering: input sample ``t`` adds
    ``x[c, t] * w[c, o, k]`` to output ``t * stride + k``; ``(T - 1) * stride + K`` samples."""
    batch, _, time = x.shape
    _, out_channels, k_size = w.shape
    y = np.zeros((batch, out_channels, (time - 1) * stride + k_size), dtype=np.float64)
    for t in range(time):
        for k in range(k_size):
            y[:, :, t * stride + k] += x[:, :, t] @ w[:, :, k]
    if b is not None:
        y += b[None, :, None]
    return y


def interpolate_loop(x: np.ndarray, factor: int, mode: str) -> np.ndarray:
    """Nearest: repeat each sample. Linear, half-sample aligned: output ``n`` sits
    at input position ``(n + 0.5) / r - 0.5``, clamped to ``[0, T - 1]``."""
    time = x.shape[-1]
    y = np.zeros(x.shape[:-1] + (time * factor,), dtype=np.float64)
    for n in range(time * factor):
        if mode == "nearest":
            y[..., n] = x[..., n // factor]
        else:
            pos = min(max((n + 0.5) / factor - 0.5, 0.0), time - 1)
            lo = int(np.floor(pos))
            hi = min(lo + 1, time - 1)
            frac = pos - lo
            y[..., n] = (1 - frac) * x[..., lo] + frac * x[..., hi]
    return y


def phase_shuffle_loop(z: np.ndarray, starts: tuple[int, ...], length: int) -> np.ndarray:
    """``(B, C * r, N) -> (B, C, length * r)``, each phase from its own column:
    ``y[b, c, s * r + i] = z[b, c * r + i, s + starts[i]]``."""
    batch, rows, _ = z.shape
    factor = len(starts)
    y = np.zeros((batch, rows // factor, length * factor), dtype=z.dtype)
    for b in range(batch):
        for c in range(rows // factor):
            for s in range(length):
                for i, start in enumerate(starts):
                    y[b, c, s * factor + i] = z[b, c * factor + i, s + start]
    return y


def resample_loop(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, lowpass: np.ndarray,
                  factor: int) -> np.ndarray:
    """The resampling upsampler as written: zero stuffing by ``r``, the centred filter
    ``lowpass`` (odd length ``2 H + 1``, tap ``H`` at lag 0) on the zero-stuffed,
    zero-extended input, then the learnable kernel dilated by ``r`` at the high rate
    ("same" alignment), sample by sample:
    ``u[n] = sum_s lowpass[n - s r + H] x[s]`` for every ``n``, and
    ``y[o, m] = b[o] + sum_{c, k} w[o, c, k] u[c, m + (k - (K - 1) // 2) r]``,
    ``0 <= m < T r``."""
    batch, in_channels, time = x.shape
    out_channels, _, k_size = w.shape
    half = (len(lowpass) - 1) // 2
    left = (k_size - 1) // 2
    r = factor

    def u(n: int) -> np.ndarray:  # (B, C_in): the interpolated signal at high-rate n
        total = np.zeros((batch, in_channels))
        for s in range(time):
            if abs(n - s * r) <= half:
                total += lowpass[n - s * r + half] * x[:, :, s]
        return total

    y = np.zeros((batch, out_channels, time * r))
    for m in range(time * r):
        for k in range(k_size):
            # (B, C_in) x (C_out, C_in) -> (B, C_out)
            y[:, :, m] += u(m + (k - left) * r) @ w[:, :, k].T
    if b is not None:
        y += b[None, :, None]
    return y


def istft_loop(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, factor: int,
               window: np.ndarray, normalize: bool = True) -> np.ndarray:
    """An iSTFT head by its definition, on ``x`` zero-extended past both ends: the
    spectra ``z[o, t] = sum_{c, k} w[o, c, k] x[c, t + k - (K - 1) // 2]`` at every step
    ``t`` (output channel ``c``'s ``N`` rows: real parts of bins ``0 .. N // 2``, then
    imaginary parts of bins ``1 .. (N - 1) // 2``), each frame ``np.fft.irfft`` times
    ``window``, frame ``t`` centred on output ``t * factor``, added and kept over outputs
    ``0 .. T * factor - 1``; divided by the window-square overlap-add of frames at every
    step (the steady state, ends included); plus ``b``."""
    n = len(window)
    batch, _, time = x.shape
    rows, _, k_size = w.shape
    left = (k_size - 1) // 2
    channels = rows // n
    bins = n // 2 + 1
    y = np.zeros((batch, channels, time * factor))
    envelope = np.zeros(time * factor)
    for t in range(-n - k_size, time + n + k_size):
        spectra = np.zeros((batch, rows))
        for k in range(k_size):
            if 0 <= t + k - left < time:
                spectra += x[:, :, t + k - left] @ w[:, :, k].T
        for q in range(n):
            m = t * factor + q - n // 2
            if not 0 <= m < time * factor:
                continue
            envelope[m] += window[q] ** 2
            for bb in range(batch):
                for c in range(channels):
                    block = spectra[bb, c * n:(c + 1) * n]
                    spec = block[:bins].astype(complex)
                    spec[1:1 + n - bins] += 1j * block[bins:]
                    y[bb, c, m] += window[q] * np.fft.irfft(spec, n)[q]
    if normalize:
        y /= envelope
    if b is not None:
        y += b[None, :, None]
    return y
