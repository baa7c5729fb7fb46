"""The ``upsamplers audit``, ``upsamplers lint`` and ``upsamplers figures`` commands.

``TARGET`` names a model factory, ``path/to/file.py:NAME`` or
``package.module:NAME`` (see :func:`upsamplers.analysis.targets.load_target`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._io import check_outputs
from ..analysis import auditing, figures, linting
from ..analysis._validate import check_rate
from ..analysis.targets import load_target


def _factors(text: str) -> tuple[int, ...]:
    """``8,8,2,2`` (or ``8x8x2x2``) for argparse, which shows only an
    ArgumentTypeError's message."""
    try:
        values = tuple(int(v) for v in text.replace("x", ",").split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"factors must be integers like 8,8,2,2; "
                                         f"received {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"factors must be positive integers; received {text!r}")
    return values


def _names(text: str) -> list[str]:
    """A comma-separated list, blanks dropped."""
    return [v.strip() for v in text.split(",") if v.strip()]


def _progress(total: int, label: str) -> tuple[Callable[[str], None], Callable[[], None]]:
    """A progress callback (tqdm when installed, else lines on stderr) and a closer."""
    try:
        from tqdm import tqdm
    except ImportError:
        def say(message: str) -> None:
            print(f"{label}: {message}", file=sys.stderr, flush=True)
        return say, lambda: None
    # the bar is drawn at the first step, after the job has checked its arguments:
    # a refused argument is one line on stderr, with no bar before it
    bars: list[Any] = []

    def step(message: str) -> None:
        if bars:
            bars[0].update(1)
        else:
            bars.append(tqdm(total=total, desc=label, unit="step", file=sys.stderr, leave=False))
        bars[0].set_postfix_str(message)

    def close() -> None:
        if bars:
            bars[0].close()
    return step, close


def add_subcommand(subparsers: Any) -> None:
    _add_audit(subparsers)
    _add_lint(subparsers)
    _add_figures(subparsers)


def _add_audit(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "audit", help="probe a model and measure its upsampling artifacts",
        description="Feed a model ones, silence, white noise and tones; report tones, "
        "filtering, replicas and offsets with verdicts.")
    p.add_argument("target", metavar="PATH_OR_MODULE:FACTORY")
    p.add_argument("--sample-rate", type=float, required=True, help="output rate of the model (Hz)")
    p.add_argument("--factors", type=_factors, default=None,
                   help="upsampling factors, first stage first (e.g. 8,8,2,2)")
    p.add_argument("--inputs", default=",".join(auditing.PROBES),
                   help="probes, comma-separated (default: all)")
    p.add_argument("--seconds", type=float, default=auditing.DEFAULT_SECONDS,
                   help="output seconds per probe")
    p.add_argument("--in-channels", type=int, default=None)
    p.add_argument("--seed", type=int, default=auditing.DEFAULT_SEED)
    p.add_argument("--out", type=Path, default=None,
                   help="folder for audit.md, audit.json and spectrogram PNGs")
    p.add_argument("--no-plot", action="store_true", help="do not write PNGs")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    p.set_defaults(func=_audit)


def _add_lint(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "lint", help="list a model's upsampling layers with advice, without running it")
    p.add_argument("target", metavar="PATH_OR_MODULE:FACTORY")
    p.add_argument("--sample-rate", type=float, default=None, help="output rate (Hz)")
    p.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    p.set_defaults(func=_lint)


def _add_figures(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "figures", help="reproduce the figures of Pons et al. 2021 as numbers and PNGs")
    p.add_argument("--out", type=Path, required=True, help="folder for figures.md/.json/PNGs")
    p.add_argument("--only", default=None, help="comma-separated subset, e.g. fig7,fig8")
    p.add_argument("--seed", type=int, default=figures.DEFAULT_SEED)
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=_figures)


def _audit(args: argparse.Namespace) -> int:
    inputs = tuple(_names(args.inputs))
    check_rate("sample_rate", args.sample_rate)
    if args.out is not None:
        check_outputs([args.out / n for n in auditing.OUTPUT_NAMES], force=args.force)
    model = load_target(args.target)
    step, close = _progress(len(inputs), "audit")
    try:
        report = auditing.audit(model, args.sample_rate, factors=args.factors, inputs=inputs,
                                seconds=args.seconds, in_channels=args.in_channels,
                                seed=args.seed, progress=step)
    finally:
        close()
    print(report.to_markdown())
    if args.out is not None:
        written = report.save(args.out, plot=not args.no_plot)
        print(f"wrote {len(written)} files to {args.out}")
    return 1 if any(v.status == "fail" for v in report.verdicts.values()) else 0


def _lint(args: argparse.Namespace) -> int:
    model = load_target(args.target)
    report = linting.lint(model, args.sample_rate)
    print(report.to_json() if args.json else report.to_markdown())
    return 0


def _figures(args: argparse.Namespace) -> int:
    names = None if args.only is None else figures.check_names(_names(args.only))
    check_outputs([args.out / n for n in figures.OUTPUT_NAMES], force=args.force)
    step, close = _progress(len(names or figures.FIGURES), "figures")
    try:
        results = figures.reproduce(names, out=None if args.no_plot else args.out,
                                    seed=args.seed, progress=step)
    finally:
        close()
    figures.save(results, args.out)
    print(figures.to_markdown(results))
    checks = [c for r in results for c in r.checks]
    failed = [c.claim for c in checks if not c.passed]
    print(f"{len(checks) - len(failed)} of {len(checks)} checks met; wrote {args.out}")
    return 1 if failed else 0
