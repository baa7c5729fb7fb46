"""neural-upsamplers: upsampling layers for neural audio synthesis, and the
instrument that measures what they do to audio.

Tensors are ``(B, C, T)``; every upsampler maps ``(B, C_in, T)`` to
``(B, C_out, T * factor)``. The packages and what each may import are described
in ``docs/architecture.md``.
"""

from __future__ import annotations

from ._checks import InvalidType, InvalidValue, UserFileError, UserInputError
from .activations import (
    AntiAliasedActivation1d,
    Snake1d,
    SnakeBeta1d,
    activation_names,
    make_activation,
)
from .conversion import ConversionError, ConversionReport, PaddedSubPixel1d, convert, to_subpixel
from .init import equal_phase_weight_, icnr_, icnr_weight_, nearest_init_
from .layers import (
    ArtifactWarning,
    FoldedUpsample1d,
    InterpUpsample1d,
    ISTFTUpsample1d,
    PeriodicShuffle1d,
    PeriodicUnshuffle1d,
    ResampleUpsample1d,
    SincUpsample1d,
    SubPixel1d,
    TransposedUpsample1d,
    UnsupportedExportError,
    Upsampler,
    make_upsampler,
    overlap_regime,
    upsampler_kinds,
)
from .ops import PhaseKernels, periodic_shuffle, periodic_unshuffle, polyphase_forward
from .swapping import SwapReport, swap

__version__ = "0.1.0"

__all__ = [
    "AntiAliasedActivation1d",
    "ArtifactWarning",
    "ConversionError",
    "ConversionReport",
    "Snake1d",
    "SnakeBeta1d",
    "FoldedUpsample1d",
    "InterpUpsample1d",
    "ISTFTUpsample1d",
    "InvalidType",
    "InvalidValue",
    "PaddedSubPixel1d",
    "PeriodicShuffle1d",
    "PeriodicUnshuffle1d",
    "PhaseKernels",
    "ResampleUpsample1d",
    "SincUpsample1d",
    "SubPixel1d",
    "SwapReport",
    "TransposedUpsample1d",
    "UnsupportedExportError",
    "Upsampler",
    "UserFileError",
    "UserInputError",
    "__version__",
    "activation_names",
    "convert",
    "equal_phase_weight_",
    "icnr_",
    "icnr_weight_",
    "make_activation",
    "make_upsampler",
    "nearest_init_",
    "overlap_regime",
    "periodic_shuffle",
    "periodic_unshuffle",
    "polyphase_forward",
    "swap",
    "to_subpixel",
    "upsampler_kinds",
]
