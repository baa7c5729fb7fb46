"""Inference on audio of any length, in chunks: exact (each chunk's centre, the
overlap covering the receptive field) where the model allows, cross-faded
otherwise or with an explicit ``overlap`` (:meth:`ReferenceModel.process_long`).

``upsamplers reconstruct --checkpoint CKPT IN OUT`` runs an autoencoder (or a
MelGAN-like generator through its mel spectrogram) on a file; a bandwidth
extension model (``unet``) is given the file low-passed and decimated (what it is
scored on, :meth:`ReferenceModel.scoring_pair`) and writes its full-band estimate;
``upsamplers separate --checkpoint CKPT IN OUTDIR`` writes one file per source of
a Demucs-like separator. Outputs have the length, sample rate and channel count
of the input: the audio is resampled to the model's rate and back when they
differ, and every channel of the file goes through the model on its own when
the model is mono. An input is never overwritten; an existing output only with
``--force``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ._checks import InvalidValue, UserFileError, missing_file
from ._io import check_outputs
from .data import audio_info, read_audio, resample, write_audio
from .models import MODELS, load_model
from .models.chunking import DEFAULT_OVERLAP, crossfade_window, overlap_add

__all__ = ["DEFAULT_OVERLAP", "crossfade_window", "overlap_add", "reconstruct_file",
           "separate_file"]

def _check_paths(inputs: list[Path], outputs: list[Path], force: bool) -> None:
    """The audio (``inputs[0]``) exists and has a readable header; outputs pass
    :func:`~upsamplers._io.check_outputs` (the checkpoint and the audio are
    inputs), with room on the disk for every output at the input's length and
    channels in 16-bit PCM (the writers' default)."""
    if not inputs[0].is_file():
        raise UserFileError(f"input {inputs[0]} {missing_file(inputs[0])}")
    info = audio_info(inputs[0])
    per_file = info.frames * info.channels * 2 + 2**16
    check_outputs(outputs, inputs, force, nbytes=per_file * len(outputs))


def _prepare(model: Any, path: Path) -> tuple[torch.Tensor, int, int]:
    """Read ``path`` at the model's rate: ``((C_file, T_model), file rate, file length)``;
    the length is that of the decoded audio, not the header's (they differ for
    some Vorbis files)."""
    audio, rate = read_audio(path)
    frames = audio.shape[-1]
    audio = resample(audio, rate, model.sample_rate)
    return torch.from_numpy(np.ascontiguousarray(audio)), rate, frames


def _back(audio: torch.Tensor, model_rate: int, rate: int, frames: int) -> np.ndarray:
    """``(..., T_model)`` at the model's rate to ``(..., frames)`` at ``rate``."""
    out = resample(audio.numpy(), model_rate, rate)
    if out.shape[-1] < frames:
        out = np.concatenate([out, np.zeros((*out.shape[:-1], frames - out.shape[-1]),
                                            dtype=out.dtype)], axis=-1)
    return out[..., :frames]


def _per_channel(model: Any, audio: torch.Tensor) -> bool:
    """Whether the file's channels go through the model one by one (a mono model
    and a file with more channels); ``InvalidValue`` when they do not fit."""
    wanted = model.audio_channels
    if audio.shape[0] == wanted:
        return False
    if wanted == 1:
        return True
    raise InvalidValue(f"the model takes {wanted}-channel audio; the file has {audio.shape[0]}")


def _load(checkpoint: str | os.PathLike[str], *, separates: bool) -> Any:
    """The model of ``checkpoint``, in eval mode; ``InvalidValue`` when it is not the
    kind the command needs."""
    model = load_model(checkpoint).eval()
    if model.separates != separates:
        fitting = [cls.__name__ for cls in MODELS.values() if cls.separates == separates]
        article = "an" if fitting[0][0] in "AEIOU" else "a"
        command, hint = ("separate", "") if separates else (
            "reconstruct", " (use separate for separators)")
        raise InvalidValue(f"{checkpoint} holds a {type(model).__name__}; {command} needs "
                           f"{article} {' or '.join(fitting)} checkpoint{hint}")
    return model


def reconstruct_file(checkpoint: str | os.PathLike[str], source: str | os.PathLike[str],
                     target: str | os.PathLike[str], *, force: bool = False,
                     chunk: int | None = None, overlap: int | None = None,
                     progress: bool = False) -> Path:
    """Run an autoencoder (or a MelGAN-like generator, or a bandwidth extension model
    on the degraded file) checkpoint on ``source`` and write ``target`` with the
    same length, rate and channels."""
    source, target = Path(source), Path(target)
    _check_paths([source, Path(checkpoint)], [target], force)
    model = _load(checkpoint, separates=False)
    audio, rate, frames = _prepare(model, source)
    inputs, _ = model.scoring_pair(audio, audio[None])  # the model's input for the file
    out = model.process_long(inputs, chunk=chunk, overlap=overlap,
                             fold_channels=_per_channel(model, audio), progress=progress)
    out = out[..., :audio.shape[-1]]
    return write_audio(target, _back(out, model.sample_rate, rate, frames), rate, force=force)


def separate_file(checkpoint: str | os.PathLike[str], source: str | os.PathLike[str],
                  folder: str | os.PathLike[str], *, force: bool = False,
                  chunk: int | None = None, overlap: int | None = None,
                  suffix: str = ".wav", progress: bool = False) -> list[Path]:
    """Run a separator checkpoint on ``source``; write ``folder/<source name><suffix>``
    per source, each with the input's length, rate and channels."""
    source, folder = Path(source), Path(folder)
    if suffix not in (".wav", ".flac"):
        raise InvalidValue(f"suffix must be '.wav' or '.flac'; received suffix={suffix!r}")
    if folder.exists() and not folder.is_dir():
        raise UserFileError(f"output folder {folder} is a file")
    model = _load(checkpoint, separates=True)
    targets = [folder / f"{name}{suffix}" for name in model.source_names]
    _check_paths([source, Path(checkpoint)], targets, force)
    audio, rate, frames = _prepare(model, source)
    out = model.process_long(audio, chunk=chunk, overlap=overlap,
                             fold_channels=_per_channel(model, audio), progress=progress)
    back = _back(out, model.sample_rate, rate, frames)  # (S, C, T)
    return [write_audio(t, back[i], rate, force=force) for i, t in enumerate(targets)]
