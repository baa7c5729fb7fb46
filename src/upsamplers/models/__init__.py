"""Reference models whose upsamplers can be swapped by ``kind``.

* :class:`Autoencoder` (``"autoencoder"``): the upsampling-artifacts article's
  raw-audio autoencoder;
* :class:`DemucsLike` (``"demucs"``): a Demucs-like waveform source separator;
* :class:`MelGANLike` (``"melgan"``): a MelGAN-like generator from log-mel
  spectrograms;
* :class:`BandwidthUNet` (``"unet"``): x4 bandwidth extension (audio
  super-resolution) with a U-Net with skips, after Kuleshov et al. (2017).

Every model implements the :class:`ReferenceModel` interface (see
:mod:`upsamplers.models.base`), which is all that training, evaluation,
inference and ``compare`` ask of it; :data:`MODELS` is the one registry, by
name. Each saves a checkpoint holding its class, constructor arguments and
weights (:meth:`~ReferenceModel.save`), and :func:`load_model` rebuilds it with
no user code.
"""

from __future__ import annotations

import warnings
from typing import Any

from .._io import atomic_torch_save
from .autoencoder import Autoencoder
from .base import (
    MODELS,
    ReferenceModel,
    load_model,
    model_class,
    model_from_checkpoint,
    read_checkpoint,
)
from .chunking import centre_chunks, crossfade_window, overlap_add
from .demucs_like import DemucsLike
from .melgan_like import LogMel, MelGANLike, mel_filterbank
from .unet import BandwidthUNet


def build_model(name: str, upsampler: str = "transposed", **config: Any) -> ReferenceModel:
    """Build a model by its registry name (``"autoencoder"``, ``"demucs"``,
    ``"melgan"``, ``"unet"``) with the upsampler ``kind`` and constructor arguments."""
    return model_class(name)(upsampler, **config)


def __getattr__(name: str) -> Any:
    # the two registries of earlier releases, now views of MODELS
    if name == "MODEL_NAMES":
        warnings.warn("upsamplers.models.MODEL_NAMES is deprecated; use MODELS",
                      FutureWarning, stacklevel=2)
        return dict(MODELS)
    if name == "MODEL_CLASSES":
        warnings.warn("upsamplers.models.MODEL_CLASSES is deprecated; use MODELS (checkpoints "
                      "name the class: see upsamplers.models.base.class_by_checkpoint_name)",
                      FutureWarning, stacklevel=2)
        return {cls.__name__: cls for cls in MODELS.values()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MODELS",
    "Autoencoder",
    "BandwidthUNet",
    "DemucsLike",
    "LogMel",
    "MelGANLike",
    "ReferenceModel",
    "atomic_torch_save",
    "build_model",
    "centre_chunks",
    "crossfade_window",
    "load_model",
    "mel_filterbank",
    "model_class",
    "model_from_checkpoint",
    "overlap_add",
    "read_checkpoint",
]
