"""Upsampling layers for PyTorch, tensors ``(B, C, T)``.

Every layer derives from :class:`Upsampler` and maps ``(B, C_in, T)`` to exactly
``(B, C_out, T * factor)`` for every ``T >= 1``. Upsamplers have no bias by
default: a bias (like a ReLU) adds an offset, and the upsampler's replicas of
that offset are tones at multiples of ``sample_rate / factor``.

The families:

* :class:`SubPixel1d`: low-rate convolution to ``C_out * factor`` channels,
  then :func:`~upsamplers.ops.periodic_shuffle`;
* :class:`TransposedUpsample1d`: transposed convolution with stride ``factor``,
  cropped to ``T * factor`` samples;
* :class:`InterpUpsample1d` (nearest, linear) and :class:`SincUpsample1d`:
  interpolation by ``factor``, then a convolution at the high rate, computed
  folded at the low rate (siblings under :class:`FoldedUpsample1d`);
* :class:`ResampleUpsample1d`: a learnable convolution at the low rate, then a
  fixed windowed-sinc low-pass with unit pass-band gain (the resampling
  upsampler: images 90 dB down, cheaper than subpixel at equal channels);
* :class:`ISTFTUpsample1d`: a convolution to ``n_fft`` spectral coefficients per
  channel at the frame rate, then an inverse STFT with hop ``factor`` (the head of
  Vocos, iSTFTNet, WavTokenizer).

All take ``(in_channels, out_channels, factor, kernel_size)`` positionally and
everything else by keyword. :func:`make_upsampler` builds any of them by name.
"""

from __future__ import annotations

from ..ops.kernels import overlap_regime
from .base import SUPPORTED_EXPORTS, ArtifactWarning, UnsupportedExportError, Upsampler
from .interpolation import FoldedUpsample1d, InterpUpsample1d, SincUpsample1d
from .istft import ISTFTUpsample1d
from .registry import make_upsampler, upsampler_kinds
from .resample import ResampleUpsample1d
from .shuffle import PeriodicShuffle1d, PeriodicUnshuffle1d
from .subpixel import SubPixel1d
from .transposed import TransposedUpsample1d

__all__ = [
    "ArtifactWarning",
    "FoldedUpsample1d",
    "ISTFTUpsample1d",
    "InterpUpsample1d",
    "PeriodicShuffle1d",
    "PeriodicUnshuffle1d",
    "ResampleUpsample1d",
    "SincUpsample1d",
    "SUPPORTED_EXPORTS",
    "SubPixel1d",
    "TransposedUpsample1d",
    "UnsupportedExportError",
    "Upsampler",
    "make_upsampler",
    "overlap_regime",
    "upsampler_kinds",
]
