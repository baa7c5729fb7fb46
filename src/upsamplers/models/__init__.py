"""Reference models whose upsamplers can be swapped by ``kind``.

* :class:`Autoencoder`: the upsampling-artifacts article's raw-audio autoencoder;
* :class:`DemucsLike`: a Demucs-like waveform source separator;
* :class:`MelGANLike`: a MelGAN-like generator from log-mel spectrograms.

Each saves a checkpoint holding its class, constructor arguments and weights
(:meth:`~ReferenceModel.save`), and :func:`load_model` rebuilds it with no user
code.
"""

from __future__ import annotations

from typing import Any

from .autoencoder import Autoencoder
from .base import MODEL_CLASSES, ReferenceModel, atomic_torch_save, load_model, read_checkpoint
from .demucs_like import DemucsLike
from .melgan_like import LogMel, MelGANLike, mel_filterbank

# command-line names
MODEL_NAMES: dict[str, type[ReferenceModel]] = {
    "autoencoder": Autoencoder,
    "demucs": DemucsLike,
    "melgan": MelGANLike,
}


def build_model(name: str, upsampler: str = "transposed", **config: Any) -> ReferenceModel:
    """Build a model by its command-line name (``"autoencoder"``, ``"demucs"``,
    ``"melgan"``) with the upsampler ``kind`` and constructor arguments."""
    from .._checks import check_choice

    name = check_choice("model", name, MODEL_NAMES)
    return MODEL_NAMES[name](upsampler, **config)


__all__ = [
    "MODEL_CLASSES",
    "MODEL_NAMES",
    "Autoencoder",
    "DemucsLike",
    "LogMel",
    "MelGANLike",
    "ReferenceModel",
    "atomic_torch_save",
    "build_model",
    "load_model",
    "mel_filterbank",
    "read_checkpoint",
]
