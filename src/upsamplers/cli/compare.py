"""The ``upsamplers compare`` sub-command: its arguments, with the defaults of
:class:`~upsamplers.compare.CompareConfig`, turned into a config and run."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any

from ..compare import COMPARE_MODELS, DEFAULT_STEPS, VARIANTS, CompareConfig, compare
from ..data import one_line_warnings
from .train import key_value

DEFAULTS = CompareConfig()


def add_subcommand(subparsers: Any) -> None:
    """Add ``compare`` to the ``upsamplers`` command's sub-parsers."""
    parser = subparsers.add_parser(
        "compare", help="rank upsamplers on real audio by quality, speed and artifacts",
        description="Train the chosen model once per upsampler variant (same budget, seed and "
        "data), then report parameters, training step time, inference real-time factor, "
        "validation SI-SDR/SDR and the artifact audit at init and after training, with "
        "spectrograms and audio of each variant's output. Writes report.md, report.json and "
        "report.html into --out. An interrupted run resumes its unfinished variants when the "
        "same command is run again.")
    parser.add_argument("--data", default=DEFAULTS.data, help="folder of audio or of stems; "
                        "default: the embedded data set")
    parser.add_argument("--model", default=DEFAULTS.model,
                        help=f"one of {', '.join(COMPARE_MODELS)} (default {DEFAULTS.model})")
    parser.add_argument("--variants", "--kinds", nargs="+", default=list(DEFAULTS.variants),
                        metavar="VARIANT", action=_VariantsAction,
                        help=f"among {', '.join(VARIANTS)}; default: "
                        f"{' '.join(DEFAULTS.variants)} (--kinds: the name before 0.2)")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, default=DEFAULTS.steps,
                        help=f"training steps per variant (default {DEFAULT_STEPS})")
    budget.add_argument("--minutes", type=float, default=DEFAULTS.minutes,
                        help="training minutes per variant (steps from the measured step time)")
    _add_training_options(parser)
    _add_measure_options(parser)
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--force", action="store_true",
                        help="replace the report an --out already holds")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(func=_run_cli)


def _add_training_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed)
    parser.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size)
    parser.add_argument("--crop", type=int, default=DEFAULTS.crop,
                        help="samples per training item")
    parser.add_argument("--lr", type=float, default=DEFAULTS.lr,
                        help=f"Adam learning rate ({_scientific(DEFAULTS.lr)})")
    parser.add_argument("--stft-weight", type=float, default=DEFAULTS.stft_weight,
                        help=f"weight of the multi-resolution STFT loss (default "
                        f"{DEFAULTS.stft_weight:g}: L1 only)")
    parser.add_argument("--model-option", action="append", default=[], metavar="KEY=VALUE",
                        help="model constructor argument, e.g. widths=[8,16] (repeatable)")


def _add_measure_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--audit-seconds", type=float, default=DEFAULTS.audit_seconds,
                        help=f"output seconds of every audit probe (default "
                        f"{DEFAULTS.audit_seconds:g})")
    parser.add_argument("--clip-seconds", type=float, default=DEFAULTS.clip_seconds)
    parser.add_argument("--timing-steps", type=int, default=DEFAULTS.timing_steps)
    parser.add_argument("--no-naive-timing", action="store_true",
                        help="do not time the naive interpolation forms")
    parser.add_argument("--threads", type=int, default=DEFAULTS.threads,
                        help=f"CPU threads of torch (default {DEFAULTS.threads}; see "
                        "CompareConfig)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default=DEFAULTS.device,
                        help="default: cuda when available, else cpu")


class _VariantsAction(argparse.Action):
    """``--variants``; ``--kinds``, its name before 0.2, still works and warns."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        if option_string == "--kinds":
            warnings.warn("upsamplers compare --kinds is now --variants; --kinds stops working "
                          "in the next release", FutureWarning, stacklevel=2)
        setattr(namespace, self.dest, values)


def _scientific(value: float) -> str:
    """``1e-3`` for 0.001: a learning rate as people write it."""
    mantissa, exponent = f"{value:e}".split("e")
    return f"{float(mantissa):g}e{int(exponent)}"


def _run_cli(args: argparse.Namespace) -> int:
    config = CompareConfig(
        model=args.model, data=args.data, variants=tuple(args.variants), steps=args.steps,
        minutes=args.minutes, seed=args.seed, batch_size=args.batch_size, crop=args.crop,
        lr=args.lr, stft_weight=args.stft_weight,
        model_options=dict(key_value(t) for t in args.model_option),
        naive_timing=not args.no_naive_timing, timing_steps=args.timing_steps,
        audit_seconds=args.audit_seconds, clip_seconds=args.clip_seconds, device=args.device,
        threads=args.threads)
    with one_line_warnings():
        report = compare(config, args.out, force=args.force, progress=not args.no_progress)
    print(f"wrote {args.out / 'report.md'}, report.json and report.html "
          f"({report['seconds']:.0f} s)")
    for line in report["reading"]:
        print(line)
    return 0
