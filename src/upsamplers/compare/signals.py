"""The audio of a compare run: the data folder, checked before anything is
trained, and the validation signals every variant is scored on."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from .._checks import InvalidType, UserFileError, UserInputError
from ..data import embedded_data_dir, is_stem_folder, open_dataset
from ..models import model_class
from ..scoring import Signal, validation_signals
from .config import CompareConfig


def check_data(config: CompareConfig) -> Path:
    """The data folder, after checking that it exists and holds usable training and
    validation audio for the model (:class:`~upsamplers._checks.UserFileError`
    naming it otherwise)."""
    if config.data is None:
        root = embedded_data_dir(config.task_spec.data)
    else:
        if not isinstance(config.data, (str, os.PathLike)):
            raise InvalidType(f"data must be a path to a folder; received data={config.data!r}")
        root = Path(config.data)
        if not root.is_dir():
            raise UserFileError(f"data must be an existing folder of audio; received "
                                f"data={str(config.data)!r} (no such folder)")
    if not any(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")):
        raise UserFileError(f"data folder {root} is empty; it must hold audio files (.wav, "
                            ".flac, .ogg) or stem folders (<track>/<stem>.flac)")
    model = model_class(config.model)
    if model.dataset_kind == "stems" and not is_stem_folder(root):
        raise UserFileError(f"the {model.name} model trains on a stem folder "
                            f"(<track>/<stem>.flac); data={str(root)!r} is not one")
    for split in ("train", "validation"):
        try:
            validation_set(config, root, split)
        except UserInputError as error:
            raise UserFileError(f"data {root}: {error}") from None
    return root


def validation_set(config: CompareConfig, root: Path, split: str = "validation") -> Any:
    """The data set of one split of ``root``, as the model reads it (its
    ``dataset_kind`` and audio channels). Only training crops need a crop's
    length: the tracks of any other split are scored whole, at any length."""
    model = model_class(config.model)
    return open_dataset(model.dataset_kind, root, split=split, sample_rate=config.sample_rate,
                        channels=model.audio_channels_of(config.model_options),
                        crop=config.crop, seed=config.seed,
                        min_length=None if split == "train" else 1)


def signals(dataset: Any) -> list[Signal]:
    """Every validation clip whole: ``(name, input (C, T), sources (S, C, T))``
    (:func:`upsamplers.scoring.validation_signals`)."""
    return list(validation_signals(dataset))


def held_out_clip(signals: list[Signal], rate: int, seconds: float) -> tuple[str, torch.Tensor]:
    """The first ``seconds`` of the first validation signal: its name and input
    ``(C, T)``."""
    name, mixture, _ = signals[0]
    return name, mixture[..., : min(mixture.shape[-1], max(1, int(seconds * rate)))]
