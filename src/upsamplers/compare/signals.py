"""The audio of a compare run: the data folder, checked before anything is
trained, and the validation signals every variant is scored on."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from .._checks import InvalidType, UserFileError, UserInputError
from ..data import StemFolder, default_data_dir, is_stem_folder, open_audio_dataset
from .config import CompareConfig
from .measures import Signal


def check_data(config: CompareConfig) -> Path:
    """The data folder, after checking that it exists and holds usable training and
    validation audio (:class:`~upsamplers._checks.UserFileError` naming it
    otherwise)."""
    if config.data is None:
        try:
            root = default_data_dir()
        except FileNotFoundError as error:
            raise UserFileError(str(error)) from None
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
    if config.model == "demucs" and not is_stem_folder(root):
        raise UserFileError(f"the demucs model trains on a stem folder (<track>/<stem>.flac); "
                            f"data={str(root)!r} is not one")
    for split in ("train", "validation"):
        try:
            validation_set(config, root, split)
        except (UserInputError, ValueError) as error:
            raise UserFileError(f"data {root}: {error}") from None
    return root


def validation_set(config: CompareConfig, root: Path, split: str = "validation") -> Any:
    """The dataset of one split of ``root``, as the model reads it."""
    channels = int(config.model_options.get(
        "audio_channels" if config.model == "demucs" else "channels", 1))
    common = dict(split=split, sample_rate=config.sample_rate, channels=channels,
                  crop=config.crop, seed=config.seed)
    if config.model == "demucs":
        return StemFolder(root, **common)
    return open_audio_dataset(root, **common)


def signals(dataset: Any, separator: bool) -> list[Signal]:
    """Every validation clip whole: ``(name, input (C, T), target)``; the target is
    the input (``(C, T)``) for an autoencoder, the sources (``(S, C, T)``) for a
    stem folder's separator."""
    out = []
    for index, clip in enumerate(dataset.clips):
        if hasattr(dataset, "track"):
            name, mixture, sources = dataset.track(index)
            if not separator:
                sources = mixture
        else:
            name, mixture = clip.name, torch.from_numpy(dataset.window(clip, 0, clip.frames)[0])
            sources = mixture
        out.append((name, mixture, sources))
    return out


def held_out_clip(signals: list[Signal], rate: int, seconds: float) -> tuple[str, torch.Tensor]:
    """The first ``seconds`` of the first validation signal: its name and input
    ``(C, T)``."""
    name, mixture, _ = signals[0]
    return name, mixture[..., : min(mixture.shape[-1], max(1, int(seconds * rate)))]
