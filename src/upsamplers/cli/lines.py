"""The ``upsamplers lines AUDIO...`` command: the combs of lines in recordings,
for a user who has a model's output but not the model
(:func:`upsamplers.analysis.combs.find_combs`).

One line per file on stdout (``FILE: no comb`` or ``FILE: lines every 86.13 Hz
= 44100 / 512, ...``), or one JSON document with ``--json``. With ``--out DIR``
also a figure per file (``DIR/<name>.png``) and ``DIR/combs.json``. Missing
paths, bad options and outputs in the way are refused before any file is read
(one line, exit 2); a file that cannot be decoded gets one error line, the
others are still measured, and the exit status is 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from .._checks import InvalidValue, UserFileError
from .._io import atomic_write_text, check_outputs, plain
from ..analysis import combs
from .analysis import _progress

#: The summary written beside the figures.
SUMMARY_NAME = "combs.json"


def add_subcommand(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "lines", help="find combs of lines (k * fs / hop) in recordings, without the model",
        description="Find the combs of lines an upsampler leaves in audio (lines at k * fs / "
        "hop), from the recordings alone: their spacing and the hop it implies, how far they "
        "stand above the local floor and over how much of each file. Musical harmonics are "
        "not combs unless a steady note sits exactly on fs / hop. See docs/lines.md.")
    p.add_argument("audio", nargs="+", metavar="AUDIO",
                   help="audio files (wav, flac, ogg) or folders (searched recursively)")
    p.add_argument("--out", type=Path, default=None,
                   help=f"folder for a figure per file and {SUMMARY_NAME} (default: none)")
    p.add_argument("--json", action="store_true", help="print JSON instead of lines")
    p.add_argument("--threshold-db", type=float, default=combs.DEFAULT_THRESHOLD_DB,
                   help="how far above the local floor a line must stand, dB "
                   f"(default {combs.DEFAULT_THRESHOLD_DB:g})")
    p.add_argument("--min-hop", type=int, default=combs.DEFAULT_MIN_HOP,
                   help=f"smallest hop searched (default {combs.DEFAULT_MIN_HOP})")
    p.add_argument("--max-hop", type=int, default=None,
                   help=f"largest hop searched (default: {combs.DEFAULT_MAX_HOP} or the hop "
                   f"of {combs.MIN_SPACING_HZ:g} Hz lines, the smaller)")
    p.add_argument("--no-plot", action="store_true", help="with --out: no figures")
    p.add_argument("--force", action="store_true", help="replace existing outputs")
    p.set_defaults(func=_lines)


def _check_options(args: argparse.Namespace) -> None:
    """The options, named as the user typed them, before any file is read."""
    if not (args.threshold_db > 0 and args.threshold_db < float("inf")):
        raise InvalidValue(f"--threshold-db must be a number above 0; received "
                           f"--threshold-db {args.threshold_db}")
    if args.min_hop < 2:
        raise InvalidValue(f"--min-hop must be an integer >= 2; received --min-hop {args.min_hop}")
    if args.max_hop is not None and not args.min_hop <= args.max_hop <= combs.MAX_HOP_LIMIT:
        raise InvalidValue(f"--max-hop must be from --min-hop ({args.min_hop}) to "
                           f"{combs.MAX_HOP_LIMIT}; "
                           f"received --max-hop {args.max_hop}")


def audio_inputs(paths: list[str]) -> list[tuple[Path, str]]:
    """Every file to measure, with the name of its outputs: a file as it is, a
    folder's audio files (recursive, sorted) named by their path in it. A missing
    path or a folder without audio is one :class:`~upsamplers._checks.UserFileError`."""
    from ..data import audio_files

    found: list[tuple[Path, str]] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            files = audio_files(path)
            if not files:
                raise UserFileError(f"{path} holds no audio files (.wav, .flac, .ogg)")
            found += [(f, "__".join(f.relative_to(path).with_suffix("").parts)) for f in files]
        elif path.is_file():
            found.append((path, path.stem))
        else:
            raise UserFileError(f"{path}: no such file or folder")
    names: dict[str, int] = {}
    unique = []
    for file, name in found:  # the same stem twice: a number tells them apart
        names[name] = names.get(name, 0) + 1
        unique.append((file, name if names[name] == 1 else f"{name}_{names[name]}"))
    return unique


def _measure(file: Path, args: argparse.Namespace) -> combs.CombReport:
    from ..data import read_audio

    audio, rate = read_audio(file)
    return combs.find_combs(audio, rate, threshold_db=args.threshold_db,
                            min_hop=args.min_hop, max_hop=args.max_hop)


def _lines(args: argparse.Namespace) -> int:
    _check_options(args)
    inputs = audio_inputs(args.audio)
    plot = args.out is not None and not args.no_plot
    if args.out is not None:
        names = [SUMMARY_NAME] + ([f"{n}.png" for _, n in inputs] if plot else [])
        check_outputs([args.out / n for n in names], inputs=[f for f, _ in inputs],
                      force=args.force)
    if plot:
        from ..analysis.comb_plot import plot_combs  # matplotlib: fail before the work
        from ..analysis.plots import pyplot

        pyplot()
    step, close = _progress(len(inputs), "lines") if len(inputs) > 1 else (None, None)
    results, failed = [], 0
    try:
        for file, name in inputs:
            if step is not None:
                step(file.name)
            try:
                report = _measure(file, args)
            except UserFileError as error:  # undecodable: one line, the others go on
                failed += 1
                print(f"upsamplers lines: error: {error}", file=sys.stderr, flush=True)
                results.append({"file": os.fspath(file), "error": str(error)})
                continue
            results.append({"file": os.fspath(file), **report.to_dict()})
            if not args.json:
                print(f"{file}: {report.summary()}", flush=True)
            if plot:
                plot_combs(report, args.out / f"{name}.png", title=file.name)
    finally:
        if close is not None:
            close()
    if args.json:
        print(json.dumps(plain(results), indent=2))
    if args.out is not None:
        atomic_write_text(args.out / SUMMARY_NAME, json.dumps(plain(results), indent=2) + "\n")
        print(f"wrote {args.out}", file=sys.stderr if args.json else sys.stdout)
    return 2 if failed else 0
