"""The simplest non-learned answers to the reference models' tasks: what a
trained model must beat before its figures mean anything.

Each reference model names its baseline (:meth:`ReferenceModel.baseline`), and
the scorer scores it exactly as it scores the model, on the same audio:

* a separator: the mixture itself, given back as every source;
* bandwidth extension: the band-limited input resampled to the full rate with a
  long Kaiser-windowed sinc (:func:`sinc_resample`);
* an autoencoder: the input band-limited to the rate of its code
  (:func:`sinc_resample` down and up), a non-learned code that passes as many
  numbers per second as the model's bottleneck;
* a vocoder: Griffin-Lim from the same log-mel spectrogram
  (:func:`griffin_lim`, after :func:`mel_to_magnitude`).
"""

from __future__ import annotations

import math

import numpy as np
import torch

#: Kaiser beta of the baseline's resampling filter (about 90 dB of stop band).
SINC_BETA = 9.0
#: Zero crossings on either side of the baseline's resampling filter, per the
#: lower of the two rates.
SINC_ZEROS = 32
#: Griffin-Lim iterations (fast Griffin-Lim, momentum :data:`GL_MOMENTUM`): the
#: spectral convergence of a speech test signal changes by less than 0.1 dB past 64.
GL_ITERATIONS = 64
GL_MOMENTUM = 0.99
#: Projected-gradient iterations from the pseudo-inverse to non-negative magnitudes.
NNLS_ITERATIONS = 30


def sinc_resample(audio: torch.Tensor, up: int, down: int) -> torch.Tensor:
    """``audio`` resampled by ``up / down`` with a Kaiser-windowed sinc
    (``scipy.signal.resample_poly`` with a filter of :data:`SINC_ZEROS` zero
    crossings a side and beta :data:`SINC_BETA`, cut-off at the lower Nyquist
    frequency), float64 inside.

    Shape: ``(..., T) -> (..., ceil(T * up / down))``.
    """
    from scipy.signal import firwin, resample_poly

    g = math.gcd(up, down)
    up, down = up // g, down // g
    if up == down:
        return audio.clone()
    rate = max(up, down)
    taps = firwin(2 * SINC_ZEROS * rate + 1, 1.0 / rate, window=("kaiser", SINC_BETA))
    x = audio.detach().cpu().double().numpy()
    y = resample_poly(x, up, down, axis=-1, window=taps)
    return torch.from_numpy(np.ascontiguousarray(y)).to(audio.dtype)


def mel_to_magnitude(log_mel: torch.Tensor, filters: torch.Tensor) -> torch.Tensor:
    """STFT magnitudes from a log-mel spectrogram (``log(filters @ |S|)``): the
    least-squares, non-negative magnitudes whose mel projection is closest, by
    projected gradient from the pseudo-inverse's start.

    Shape: ``(B, M, F), (M, K) -> (B, K, F)``.
    """
    mel = torch.exp(log_mel.float())
    a = filters.float()
    mag = torch.clamp(torch.linalg.pinv(a) @ mel, min=0.0)
    step = 1.0 / float(torch.linalg.matrix_norm(a, ord=2)) ** 2
    for _ in range(NNLS_ITERATIONS):  # projected gradient on |a @ mag - mel|^2, mag >= 0
        mag = torch.clamp(mag - step * (a.T @ (a @ mag - mel)), min=0.0)
    return mag


def _frames(x: torch.Tensor, n_fft: int, hop: int, window: torch.Tensor) -> torch.Tensor:
    """Windowed frames' spectra of ``x`` ``(B, L)`` framed without centring:
    ``(B, K, F)``."""
    return torch.stft(x, n_fft, hop, window=window, center=False, return_complex=True)


def _fold(frames: torch.Tensor, hop: int) -> torch.Tensor:
    """Overlap-add of frames ``(B, N, F)`` placed every ``hop`` samples:
    ``(B, (F - 1) * hop + N)``. With ``N`` a multiple of ``hop`` the frames are
    added as ``N / hop`` shifted blocks; otherwise by a transposed convolution."""
    batch, n_fft, count = frames.shape
    if n_fft % hop:
        eye = torch.eye(n_fft, dtype=frames.dtype).unsqueeze(1)  # (N, 1, N)
        return torch.nn.functional.conv_transpose1d(frames, eye, stride=hop)[:, 0]
    parts = n_fft // hop
    blocks = frames.reshape(batch, parts, hop, count)  # block k of frame f -> slot f + k
    out = frames.new_zeros(batch, hop, count + parts - 1)
    for k in range(parts):
        out[:, :, k:k + count] += blocks[:, k]
    return out.transpose(1, 2).reshape(batch, -1)  # (B, hop, F + parts - 1) -> (B, L)


def _overlap_add(spec: torch.Tensor, n_fft: int, hop: int, window: torch.Tensor,
                 norm: torch.Tensor) -> torch.Tensor:
    """The signal ``(B, L)`` whose windowed frames are closest to ``spec``
    ``(B, K, F)`` in the least-squares sense (weighted overlap-add; ``norm``: the
    overlap-added squared window, :func:`_window_norm`)."""
    frames = torch.fft.irfft(spec, n=n_fft, dim=1) * window[None, :, None]  # (B, n_fft, F)
    return _fold(frames, hop) / norm


def _window_norm(window: torch.Tensor, hop: int, count: int) -> torch.Tensor:
    """The squared window overlap-added over ``count`` frames, floored at 1e-3 of its
    peak (the ends, which fewer frames cover)."""
    n_fft = window.shape[0]
    norm = _fold((window ** 2)[None, :, None].expand(1, n_fft, count).contiguous(), hop)[0]
    return torch.clamp(norm, min=1e-3 * float(norm.max()))


def griffin_lim(magnitude: torch.Tensor, n_fft: int, hop: int, *, pad: int, length: int,
                iterations: int = GL_ITERATIONS, momentum: float = GL_MOMENTUM,
                seed: int = 0) -> torch.Tensor:
    """A signal whose STFT magnitudes are close to ``magnitude``: fast Griffin-Lim
    (Perraudin et al., 2013) from a seeded random phase, with the framing of
    :class:`upsamplers.models.melgan_like.LogMel` (Hann window, ``pad`` samples
    reflected on the left, frames not centred).

    Shape: ``(B, K, F) -> (B, length)``.
    """
    mag = magnitude.float()
    window = torch.hann_window(n_fft)
    norm = _window_norm(window, hop, mag.shape[-1])
    generator = torch.Generator().manual_seed(seed)
    phase = torch.rand(mag.shape, generator=generator) * 2 * math.pi
    spec = mag * torch.exp(1j * phase)
    previous = torch.zeros_like(spec)
    for _ in range(iterations):
        padded = _overlap_add(spec, n_fft, hop, window, norm)
        rebuilt = _frames(padded, n_fft, hop, window)
        accelerated = rebuilt + momentum * (rebuilt - previous)
        previous = rebuilt
        spec = mag * torch.exp(1j * torch.angle(accelerated))
    padded = _overlap_add(spec, n_fft, hop, window, norm)
    return padded[:, pad:pad + length].to(magnitude.dtype)
