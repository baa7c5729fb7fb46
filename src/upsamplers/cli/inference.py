"""The ``upsamplers reconstruct`` and ``upsamplers separate`` sub-commands:
arguments and the calls of :func:`upsamplers.inference.reconstruct_file` and
:func:`~upsamplers.inference.separate_file` (defaults are theirs)."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from ..inference import reconstruct_file, separate_file

_DEFAULTS = {name: p.default for name, p in inspect.signature(separate_file).parameters.items()}


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
    sep.add_argument("--format", choices=("wav", "flac"), default=_DEFAULTS["suffix"][1:])
    for parser, func in ((rec, _run_reconstruct), (sep, _run_separate)):
        parser.add_argument("--force", action="store_true", help="overwrite existing outputs")
        parser.add_argument("--chunk", type=int, default=_DEFAULTS["chunk"],
                            help="input samples per chunk (default: the model's training length, "
                            "longer if its receptive field needs it)")
        parser.add_argument("--overlap", type=int, default=_DEFAULTS["overlap"],
                            help="samples of cross-faded overlap (default: none for a "
                            "convolutional model, whose chunks overlap by its receptive field "
                            "and give one whole-signal pass exactly; a quarter of the chunk "
                            "for a model with an LSTM)")
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


__all__ = ["add_subcommand"]
