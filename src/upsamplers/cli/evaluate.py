"""The ``upsamplers evaluate`` sub-command: arguments and the call of
:func:`upsamplers.evaluate.evaluate` (defaults are that function's)."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

from .._io import atomic_write_text, check_outputs
from ..data import one_line_warnings
from ..evaluate import SPLITS, evaluate, summary

_DEFAULTS = {name: p.default for name, p in inspect.signature(evaluate).parameters.items()}


def add_subcommand(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="score a trained model (its metrics: SI-SDR and SDR, or SNR and LSD "
        "for bandwidth extension) and audit its artifacts",
        description="The model's metrics on a checkpoint (per file, and their mean; per "
        "source for separators): SI-SDR and SDR, or for a bandwidth extension model "
        "(--model unet) SNR and log-spectral distance, full band and above the input's "
        "Nyquist frequency, of its output given each file low-passed and decimated; and "
        "the artifact audit of its decoder on silence and noise. "
        "--data FOLDER of plain audio files scores EVERY file under it (no train/validation "
        "split): any length, any channel count (one channel at a time through a mono "
        "model), any sample rate (resampled to the model's rate and scored there). "
        "Unreadable files are skipped with one warning line each. The embedded data set "
        "and stem folders are scored on their validation split.")
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=_DEFAULTS["data"],
                        help="a folder of audio files (every file is scored) or a stem "
                        "folder (its validation split); default: the embedded data set")
    parser.add_argument("--split", choices=SPLITS, default=_DEFAULTS["split"],
                        help="auto (default): every file of a plain folder, the validation "
                        "split of a stem folder or the embedded set; validation: only the "
                        "validation split (validation/ sub-folder or a hashed 10%% share); "
                        "all: every file or track")
    parser.add_argument("--max-tracks", type=int, default=_DEFAULTS["max_tracks"],
                        help="score only the first N files (tracks)")
    parser.add_argument("--audit-seconds", type=float, default=_DEFAULTS["audit_seconds"])
    parser.add_argument("--out", type=Path, default=None, help="write the JSON report here")
    parser.add_argument("--force", action="store_true", help="overwrite --out")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(func=_run)


def _run(args: Any) -> int:
    if args.out is not None:
        inputs = [args.checkpoint] + ([] if args.data is None else [args.data])
        check_outputs([args.out], inputs, args.force)
    with one_line_warnings():
        result = evaluate(args.checkpoint, data=args.data, split=args.split,
                          max_tracks=args.max_tracks,
                          audit_seconds=args.audit_seconds, progress=not args.no_progress)
    if args.out is not None:
        atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(summary(result))
    return 0


__all__ = ["add_subcommand"]
