"""Keras 3 front end: subpixel, transposed, interpolation and resampling upsamplers, the
classic ``SubPixel1D`` layer and the article's raw-audio autoencoder.

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

from .layers import (
    ICNR,
    KINDS,
    InterpConv1D,
    LinearUpSampling1D,
    ResampleConv1D,
    SubPixel1D,
    SubPixelConv1D,
    TransposedConv1D,
    make_upsampler,
)
from .models import build_autoencoder

__all__ = [
    "ICNR",
    "KINDS",
    "InterpConv1D",
    "LinearUpSampling1D",
    "ResampleConv1D",
    "SubPixel1D",
    "SubPixelConv1D",
    "TransposedConv1D",
    "build_autoencoder",
    "make_upsampler",
]
