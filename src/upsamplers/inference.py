"""Inference on audio of any length: chunked with overlap-add.

``upsamplers reconstruct --checkpoint CKPT IN OUT`` runs an autoencoder (or a
MelGAN-like generator through its mel spectrogram) on a file;
``upsamplers separate --checkpoint CKPT IN OUTDIR`` writes one file per source of
a Demucs-like separator. Outputs have the length, sample rate and channel count
of the input: the audio is resampled to the model's rate and back when they
differ, and every channel of the file goes through the model on its own when
the model is mono. An input is never overwritten; an existing output only with
``--force``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ._checks import check_positive_int

DEFAULT_OVERLAP = 0.25


def crossfade_window(length: int, overlap: int) -> torch.Tensor:
    """Weights of one chunk: linear ramps of ``overlap`` samples at both ends
    (never zero), 1 in between. Shape ``(length,)``."""
    w = torch.ones(length, dtype=torch.float64)
    if overlap:
        ramp = torch.arange(1, overlap + 1, dtype=torch.float64) / (overlap + 1)
        w[:overlap] = ramp
        w[length - overlap:] = ramp.flip(0)
    return w


def overlap_add(
    fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    *,
    chunk: int,
    overlap: int,
    batch: int = 8,
    progress: bool = False,
) -> torch.Tensor:
    """Apply ``fn`` to ``x`` in chunks of ``chunk`` samples overlapping by
    ``overlap``, cross-fading the outputs (weighted overlap-add, normalised by
    the sum of the weights, so ``fn = identity`` returns ``x`` exactly).

    ``fn`` maps ``(N, C, chunk) -> (N, *D, chunk)``. The signal is zero-padded at
    the end to a whole number of hops.

    Shape: ``(C, T) -> (*D, T)``.
    """
    chunk = check_positive_int("chunk", chunk)
    overlap = check_positive_int("overlap", overlap, minimum=0)
    if overlap >= chunk:
        raise ValueError(f"overlap must be smaller than chunk={chunk}; received overlap={overlap}")
    length = x.shape[-1]
    hop = chunk - overlap
    count = max(1, math.ceil(max(length - chunk, 0) / hop) + 1)
    padded = torch.nn.functional.pad(x, (0, (count - 1) * hop + chunk - length))
    starts = [i * hop for i in range(count)]
    window = crossfade_window(chunk, overlap if count > 1 else 0)
    out: torch.Tensor | None = None
    weight = torch.zeros(padded.shape[-1], dtype=torch.float64)
    iterator: Any = range(0, count, batch)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, unit="batch", desc="chunks", leave=False)
    with torch.inference_mode():
        for first in iterator:
            group = starts[first:first + batch]
            y = fn(torch.stack([padded[..., s:s + chunk] for s in group]))
            if y.shape[-1] != chunk:
                raise ValueError(f"the model returned {y.shape[-1]} samples for {chunk}")
            if out is None:
                out = torch.zeros(*y.shape[1:-1], padded.shape[-1], dtype=torch.float64)
            for s, piece in zip(group, y, strict=True):
                out[..., s:s + chunk] += piece.double() * window
                weight[s:s + chunk] += window
    assert out is not None
    return (out / weight)[..., :length].float()


def _check_paths(inputs: list[Path], outputs: list[Path], force: bool) -> None:
    for path in inputs:
        if not path.is_file():
            raise ValueError(f"input {path} does not exist")
    resolved = {os.path.realpath(p) for p in inputs}
    for path in outputs:
        if os.path.realpath(path) in resolved:
            raise ValueError(f"output {path} is the input file; it is never overwritten")
    existing = [str(p) for p in outputs if p.exists()]
    if existing and not force:
        raise ValueError(f"{', '.join(existing)} already exist(s); pass --force to overwrite")


def _prepare(model: Any, path: Path) -> tuple[torch.Tensor, int, int]:
    """Read ``path`` at the model's rate: ``((C_file, T_model), file rate, file length)``."""
    from .data import audio_info, read_audio

    info = audio_info(path)
    audio, _ = read_audio(path, sample_rate=model.sample_rate)
    return torch.from_numpy(audio), info.sample_rate, info.frames


def _back(audio: torch.Tensor, model_rate: int, rate: int, frames: int) -> np.ndarray:
    """``(..., T_model)`` at the model's rate to ``(..., frames)`` at ``rate``."""
    from .data import resample

    out = resample(audio.numpy(), model_rate, rate)
    if out.shape[-1] < frames:
        out = np.concatenate([out, np.zeros((*out.shape[:-1], frames - out.shape[-1]),
                                            dtype=out.dtype)], axis=-1)
    return out[..., :frames]


def _model_channels(model: Any) -> int:
    return int(getattr(model, "channels", getattr(model, "audio_channels", 1)))


def _per_channel(model: Any, audio: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """Fold the file's channels into the batch when the model is mono."""
    wanted = _model_channels(model)
    if audio.shape[0] == wanted:
        return audio, False
    if wanted == 1:
        return audio, True
    raise ValueError(f"the model takes {wanted}-channel audio; the file has {audio.shape[0]}")


def reconstruct_file(checkpoint: str | os.PathLike[str], source: str | os.PathLike[str],
                     target: str | os.PathLike[str], *, force: bool = False,
                     chunk: int | None = None, overlap: int | None = None,
                     progress: bool = False) -> Path:
    """Run an autoencoder (or a MelGAN-like generator) checkpoint on ``source`` and
    write ``target`` with the same length, rate and channels."""
    from .data import write_audio
    from .models import Autoencoder, MelGANLike, load_model

    source, target = Path(source), Path(target)
    _check_paths([source], [target], force)
    model = load_model(checkpoint).eval()
    if not isinstance(model, (Autoencoder, MelGANLike)):
        raise ValueError(f"{checkpoint} holds a {type(model).__name__}; reconstruct needs an "
                         "Autoencoder or MelGANLike checkpoint (use separate for separators)")
    audio, rate, frames = _prepare(model, source)
    audio, folded = _per_channel(model, audio)
    chunk = model.length if chunk is None else check_positive_int("chunk", chunk)
    overlap = int(chunk * DEFAULT_OVERLAP) if overlap is None else overlap
    hop = model.valid_length(1) if isinstance(model, Autoencoder) else model.hop
    if chunk % hop:
        raise ValueError(f"chunk must be a multiple of {hop} for this model; received "
                         f"chunk={chunk}")
    run = model.reconstruct if isinstance(model, MelGANLike) else model
    if folded:  # (C, T) -> C mono signals (C, 1, T)
        out = overlap_add(lambda x: run(x.reshape(-1, 1, chunk)).reshape(x.shape),
                          audio, chunk=chunk, overlap=overlap, progress=progress)
    else:
        out = overlap_add(run, audio, chunk=chunk, overlap=overlap, progress=progress)
    return write_audio(target, _back(out, model.sample_rate, rate, frames), rate, force=force)


def separate_file(checkpoint: str | os.PathLike[str], source: str | os.PathLike[str],
                  folder: str | os.PathLike[str], *, force: bool = False,
                  chunk: int | None = None, overlap: int | None = None,
                  suffix: str = ".wav", progress: bool = False) -> list[Path]:
    """Run a separator checkpoint on ``source``; write ``folder/<source name><suffix>``
    per source, each with the input's length, rate and channels."""
    from .data import write_audio
    from .models import DemucsLike, load_model

    source, folder = Path(source), Path(folder)
    if suffix not in (".wav", ".flac"):
        raise ValueError(f"suffix must be '.wav' or '.flac'; received suffix={suffix!r}")
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"output folder {folder} is a file")
    model = load_model(checkpoint).eval()
    if not isinstance(model, DemucsLike):
        raise ValueError(f"{checkpoint} holds a {type(model).__name__}; separate needs a "
                         "DemucsLike checkpoint")
    targets = [folder / f"{name}{suffix}" for name in model.source_names]
    _check_paths([source], targets, force)
    audio, rate, frames = _prepare(model, source)
    audio, folded = _per_channel(model, audio)
    chunk = model.length if chunk is None else check_positive_int("chunk", chunk)
    overlap = int(chunk * DEFAULT_OVERLAP) if overlap is None else overlap
    if folded:  # each file channel alone: (N, C, T) -> (N * C, 1, T) -> (N, S, C, T)
        def run(x: torch.Tensor) -> torch.Tensor:
            y = model(x.reshape(-1, 1, x.shape[-1]))  # (N * C, S, 1, T)
            y = y.reshape(x.shape[0], x.shape[1], model.sources, x.shape[-1])
            return y.transpose(1, 2)
        out = overlap_add(run, audio, chunk=chunk, overlap=overlap, progress=progress)
    else:
        out = overlap_add(model, audio, chunk=chunk, overlap=overlap, progress=progress)
    folder.mkdir(parents=True, exist_ok=True)
    back = _back(out, model.sample_rate, rate, frames)  # (S, C, T)
    return [write_audio(t, back[i], rate, force=force) for i, t in enumerate(targets)]


def add_subcommand(subparsers: Any) -> None:
    rec = subparsers.add_parser(
        "reconstruct", help="run a trained autoencoder on an audio file",
        description="Run an autoencoder (or MelGAN-like) checkpoint on a file of any length, "
        "in overlapping chunks; the output has the input's length, rate and channels.")
    rec.add_argument("--checkpoint", type=Path, required=True)
    rec.add_argument("input", type=Path)
    rec.add_argument("output", type=Path)
    sep = subparsers.add_parser(
        "separate", help="separate an audio file into sources with a trained separator",
        description="Run a Demucs-like checkpoint on a file of any length, in overlapping "
        "chunks; writes OUTDIR/<source>.wav with the input's length, rate and channels.")
    sep.add_argument("--checkpoint", type=Path, required=True)
    sep.add_argument("input", type=Path)
    sep.add_argument("output", type=Path, metavar="OUTDIR")
    sep.add_argument("--format", choices=("wav", "flac"), default="wav")
    for parser, func in ((rec, _run_reconstruct), (sep, _run_separate)):
        parser.add_argument("--force", action="store_true", help="overwrite existing outputs")
        parser.add_argument("--chunk", type=int, default=None,
                            help="samples per chunk (default: the model's training length)")
        parser.add_argument("--overlap", type=int, default=None,
                            help="samples of overlap (default: a quarter of the chunk)")
        parser.add_argument("--no-progress", action="store_true")
        parser.set_defaults(func=func)


def _run_reconstruct(args: Any) -> int:
    path = reconstruct_file(args.checkpoint, args.input, args.output, force=args.force,
                            chunk=args.chunk, overlap=args.overlap,
                            progress=not args.no_progress)
    print(f"wrote {path}")
    return 0


def _run_separate(args: Any) -> int:
    paths = separate_file(args.checkpoint, args.input, args.output, force=args.force,
                          chunk=args.chunk, overlap=args.overlap, suffix=f".{args.format}",
                          progress=not args.no_progress)
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0
