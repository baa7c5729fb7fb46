"""neural-upsamplers: upsampling layers for neural audio synthesis, and the
instrument that measures what they do to audio.

Tensors are ``(B, C, T)``; every upsampler maps ``(B, C_in, T)`` to
``(B, C_out, T * factor)``.
"""

from __future__ import annotations

from .convert import ConversionError, PaddedSubPixel1d, convert, to_subpixel
from .init import icnr_, nearest_init_
from .layers import (
    ArtifactWarning,
    InterpUpsample1d,
    SincUpsample1d,
    SubPixel1d,
    TransposedUpsample1d,
    make_upsampler,
    overlap_regime,
    upsampler_kinds,
)
from .shuffle import PeriodicShuffle1d, PeriodicUnshuffle1d, periodic_shuffle, periodic_unshuffle

__version__ = "0.1.0"

__all__ = [
    "ArtifactWarning",
    "ConversionError",
    "InterpUpsample1d",
    "PaddedSubPixel1d",
    "PeriodicShuffle1d",
    "PeriodicUnshuffle1d",
    "SincUpsample1d",
    "SubPixel1d",
    "TransposedUpsample1d",
    "__version__",
    "convert",
    "icnr_",
    "make_upsampler",
    "nearest_init_",
    "overlap_regime",
    "periodic_shuffle",
    "periodic_unshuffle",
    "to_subpixel",
    "upsampler_kinds",
]
