"""Keras 3 front end: subpixel, transposed, interpolation, resampling and inverse-STFT
upsamplers, the classic ``SubPixel1D`` layer, the article's raw-audio autoencoder, and the
anti-aliased activations (``Snake1D``, ``SnakeBeta1D``, ``AntiAliasedActivation1D``).

Tensors are ``(B, T, C)``, as Keras expects. Everything is written with
``keras.ops``, so it runs on the TensorFlow, JAX and PyTorch backends (choose
one with the ``KERAS_BACKEND`` environment variable before importing keras).

Needs the ``[keras]`` extra: ``pip install "neural-upsamplers[keras]"`` (and a
backend: TensorFlow, JAX, or the PyTorch that the core already uses).
"""

from __future__ import annotations

try:
    import keras  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised only without keras
    raise ImportError(
        "upsamplers.keras needs Keras 3: pip install 'neural-upsamplers[keras]'"
    ) from error

from .activations import (
    AntiAliasedActivation1D,
    Snake1D,
    SnakeBeta1D,
    activation_names,
    make_activation,
)
from .layers import (
    ICNR,
    KINDS,
    InterpConv1D,
    ISTFTConv1D,
    LinearUpSampling1D,
    ResampleConv1D,
    SubPixel1D,
    SubPixelConv1D,
    TransposedConv1D,
    make_upsampler,
)
from .models import build_autoencoder

__all__ = [
    "AntiAliasedActivation1D",
    "ICNR",
    "KINDS",
    "InterpConv1D",
    "ISTFTConv1D",
    "LinearUpSampling1D",
    "ResampleConv1D",
    "SubPixel1D",
    "Snake1D",
    "SnakeBeta1D",
    "SubPixelConv1D",
    "TransposedConv1D",
    "activation_names",
    "build_autoencoder",
    "make_activation",
    "make_upsampler",
]
