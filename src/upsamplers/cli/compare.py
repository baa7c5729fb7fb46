"""The ``upsamplers compare`` sub-command: its arguments, with the defaults of
:class:`~upsamplers.compare.CompareConfig`, turned into a config and run."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any

from ..compare import (
    COMPARE_MODELS,
    DEFAULT_SEEDS,
    DEFAULT_TASK,
    TASKS,
    VARIANTS,
    CompareConfig,
    collect,
    compare,
)
from ..compare.presets import PRESETS
from ..data import one_line_warnings
from .train import key_value

DEFAULTS = CompareConfig()


class _TaskVariants(list):  # type: ignore[type-arg]
    """The ``--variants`` default: the default task's, and for another ``--task``
    that task's (``CompareConfig(variants=None)``)."""


TASK_VARIANTS = _TaskVariants(DEFAULTS.variants or ())


def add_subcommand(subparsers: Any) -> None:
    """Add ``compare`` to the ``upsamplers`` command's sub-parsers."""
    parser = subparsers.add_parser(
        "compare", help="which upsampler should I use? rank them on a task, several seeds",
        description="Train the task's model once per upsampler variant and seed (same data and "
        "budget), each until its validation metric reaches a plateau or its step budget ends, "
        "in parallel worker processes; then report each variant's status (converged, "
        "improving, failed), the mean and spread over seeds of its metrics with ties, "
        "training step time, inference real-time factor, calibrated tone measures and the "
        "artifact audit, learning curves, spectrograms and audio of its outputs, Pons et al. "
        "(2021) beside our figures, and a recommendation. Writes report.md, report.json and "
        "report.html into --out. An interrupted run resumes its unfinished runs when the "
        "same command is run again. --collect builds the same report from runs trained "
        "elsewhere with `upsamplers train`.")
    parser.add_argument("--task", default=DEFAULT_TASK, choices=tuple(TASKS),
                        help="; ".join(f"{t.name}: {t.why}" for t in TASKS.values())
                        + f" (default {DEFAULT_TASK})")
    parser.add_argument("--data", default=None, help="folder of audio or of stems; default: "
                        "the task's embedded recordings")
    parser.add_argument("--preset", default=None, choices=tuple(PRESETS),
                        help="a published setting: "
                        + "; ".join(f"{p.name}: {p.why}, needs --data {p.needs_data}"
                                    for p in PRESETS.values())
                        + " (fills the task, model options, sample rate, variants and "
                        "training; flags given win)")
    parser.add_argument("--test-data", default=None, metavar="DIR",
                        help="score every trained model on every track of DIR (recordings "
                        "outside the training data, of the kind the task reads) and report "
                        "the test mean and the validation-minus-test gap per variant")
    parser.add_argument("--sample-rate", type=int, default=None,
                        help="audio rate of training and scoring in Hz (default: the task's "
                        "or the preset's)")
    parser.add_argument("--model", default=None,
                        help=f"one of {', '.join(COMPARE_MODELS)} (default: the task's)")
    parser.add_argument("--variants", "--kinds", nargs="+", default=TASK_VARIANTS,
                        metavar="VARIANT", action=_VariantsAction,
                        help=f"among {', '.join(VARIANTS)}; default: the task's ("
                        + "; ".join(f"{t.name}: {' '.join(t.variants or DEFAULTS.variants or ())}"
                                    for t in TASKS.values())
                        + ") (--kinds: the name before 0.2)")
    parser.add_argument("--seeds", type=int, default=DEFAULT_SEEDS,
                        help=f"seeds per variant (default {DEFAULT_SEEDS}: --seed, --seed + 1, "
                        "...)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="runs trained at once, one worker process each (default: the "
                        "number of CPU cores; one on a GPU)")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, default=None,
                        help="most training steps per run (default: the task's)")
    budget.add_argument("--minutes", type=float, default=None,
                        help="minutes for the whole job, from its start to its report "
                             "(default 15 unless --steps is given): every run trains the "
                             "same steps, planned from the measured step times")
    parser.add_argument("--collect", nargs="+", default=None, metavar="RUN_DIR",
                        help="build the report from these `upsamplers train` run folders "
                        "(trained elsewhere: a cluster, several GPUs) instead of training")
    _add_training_options(parser)
    _add_measure_options(parser)
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--force", action="store_true",
                        help="replace the report an --out already holds")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(func=_run_cli)


def _add_training_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed, help="the first seed")
    parser.add_argument("--batch-size", type=int, default=None,
                        help=f"default: the task's ({DEFAULTS.batch_size})")
    parser.add_argument("--crop", type=int, default=None,
                        help=f"samples per training item (default: the task's, {DEFAULTS.crop})")
    parser.add_argument("--lr", type=float, default=None,
                        help=f"Adam learning rate (default: the task's, "
                        f"{_scientific(DEFAULTS.lr)})")
    parser.add_argument("--stft-weight", type=float, default=None,
                        help=f"weight of the multi-resolution STFT loss (default: the task's, "
                        f"{DEFAULTS.stft_weight:g}: L1 only)")
    parser.add_argument("--model-option", action="append", default=None, metavar="KEY=VALUE",
                        help="model constructor argument, e.g. width=16 (repeatable; over the "
                        "task's model options)")
    parser.add_argument("--eval-every", type=int, default=None,
                        help=f"steps between validation evaluations (default: the task's, "
                        f"{DEFAULTS.eval_every})")
    parser.add_argument("--eval-seconds", type=float, default=None,
                        help=f"validation audio scored at each evaluation (default: the task's, "
                        f"{DEFAULTS.eval_seconds:g} s)")
    parser.add_argument("--plateau-db", type=float, default=None,
                        help=f"a run has converged when its validation metric gained less than "
                        f"this over the last --plateau-fraction of its steps (default "
                        f"{DEFAULTS.plateau_db:g})")
    parser.add_argument("--plateau-fraction", type=float, default=None,
                        help=f"(default {DEFAULTS.plateau_fraction:g})")
    parser.add_argument("--min-steps", type=int, default=None,
                        help=f"no plateau stop before this step (default: the task's, "
                        f"{DEFAULTS.min_steps})")


def _add_measure_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--audit-seconds", type=float, default=DEFAULTS.audit_seconds,
                        help=f"output seconds of every audit probe (default "
                        f"{DEFAULTS.audit_seconds:g})")
    parser.add_argument("--clip-seconds", type=float, default=DEFAULTS.clip_seconds)
    parser.add_argument("--timing-steps", type=int, default=DEFAULTS.timing_steps)
    parser.add_argument("--no-naive-timing", action="store_true",
                        help="do not time the naive interpolation forms")
    parser.add_argument("--threads", type=int, default=DEFAULTS.threads,
                        help=f"CPU threads of torch per worker (default {DEFAULTS.threads}; "
                        "see CompareConfig)")
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


TRAINING_FLAGS = ("batch_size", "crop", "lr", "stft_weight", "eval_every", "eval_seconds",
                  "plateau_db", "plateau_fraction", "min_steps")


def _config(args: argparse.Namespace) -> CompareConfig:
    options = (None if args.model_option is None
               else dict(key_value(t) for t in args.model_option))
    return CompareConfig(
        task=args.task, model=args.model, data=args.data,
        variants=None if args.variants is TASK_VARIANTS else tuple(args.variants),
        steps=args.steps, minutes=args.minutes, seeds=args.seeds, seed=args.seed,
        jobs=args.jobs, model_options=options,
        **{name: getattr(args, name) for name in TRAINING_FLAGS},
        naive_timing=not args.no_naive_timing, timing_steps=args.timing_steps,
        audit_seconds=args.audit_seconds, clip_seconds=args.clip_seconds, device=args.device,
        threads=args.threads, preset=args.preset, test_data=args.test_data,
        sample_rate=args.sample_rate)


def _run_cli(args: argparse.Namespace) -> int:
    config = _config(args)
    with one_line_warnings():
        if args.collect is not None:
            report = collect(args.collect, args.out, base=config, force=args.force,
                             progress=not args.no_progress)
        else:
            report = compare(config, args.out, force=args.force, progress=not args.no_progress)
    print(f"wrote {args.out / 'report.md'}, report.json and report.html "
          f"({report['seconds']:.0f} s)")
    print(report["recommendation"])
    for line in report["reading"]:
        print(line)
    return 0
