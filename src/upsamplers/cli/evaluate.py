"""The ``upsamplers evaluate`` sub-command: arguments and the call of
:func:`upsamplers.evaluate.evaluate` (defaults are that function's)."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

from .._checks import UserFileError
from .._io import atomic_write_text
from ..data import one_line_warnings
from ..evaluate import evaluate, summary

_DEFAULTS = {name: p.default for name, p in inspect.signature(evaluate).parameters.items()}


def add_subcommand(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="score a trained model (SI-SDR, SDR) and audit its artifacts",
        description="SI-SDR and SDR of a checkpoint on the validation split (per source for "
        "separators), and the artifact audit of its decoder on silence and noise.")
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=_DEFAULTS["data"],
                        help="default: the embedded data set")
    parser.add_argument("--max-tracks", type=int, default=_DEFAULTS["max_tracks"])
    parser.add_argument("--audit-seconds", type=float, default=_DEFAULTS["audit_seconds"])
    parser.add_argument("--out", type=Path, default=None, help="write the JSON report here")
    parser.add_argument("--force", action="store_true", help="overwrite --out")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(func=_run)


def _run(args: Any) -> int:
    if args.out is not None and args.out.exists() and not args.force:
        raise UserFileError(f"{args.out} already exists; pass --force to overwrite it")
    with one_line_warnings():
        result = evaluate(args.checkpoint, data=args.data, max_tracks=args.max_tracks,
                          audit_seconds=args.audit_seconds, progress=not args.no_progress)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(summary(result))
    return 0


__all__ = ["add_subcommand"]
