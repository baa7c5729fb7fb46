"""The ``upsamplers audit``, ``lint``, ``aliasing`` and ``figures`` commands.

``TARGET`` names a model factory, ``path/to/file.py:NAME`` or
``package.module:NAME`` (see :func:`upsamplers.analysis.targets.load_target`);
``aliasing`` also takes built-in targets
(:func:`upsamplers.analysis.targets.load_aliasing_target`).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

from .._checks import InvalidValue, check_positive_int
from .._io import check_outputs
from ..analysis import aliasing, auditing, figures, linting
from ..analysis._validate import check_int, check_rate, implausible_rate
from ..analysis.targets import (
    ArrayCallable,
    builtin_help,
    builtin_scale,
    load_aliasing_target,
    load_target,
)


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


def _floats(option: str, text: str | None, default: tuple[float, ...]) -> tuple[float, ...]:
    """``0.1,0.2`` as floats (``default`` for ``None``); ``InvalidValue`` naming the
    option otherwise (one line from the job, not argparse's usage block)."""
    if text is None:
        return default
    try:
        return tuple(float(v) for v in _names(text))
    except ValueError:
        raise InvalidValue(f"{option} must be comma-separated numbers like 0.1,0.2; "
                           f"received {option} {text!r}") from None


def _progress(total: int | None, label: str) -> tuple[Callable[[str], None], Callable[[], None]]:
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
            # a job whose first message counts its steps ("3 signals, ...") knows best
            counted = re.match(r"(\d+) signals\b", message)
            bars.append(tqdm(total=int(counted.group(1)) if counted else total, desc=label,
                             unit="step", file=sys.stderr, leave=False))
        bars[0].set_postfix_str(message)

    def close() -> None:
        if bars:
            bars[0].close()
    return step, close


#: What ``--in-channels`` is, in the help of audit and aliasing.
IN_CHANNELS_HELP = (
    "the model's input channels (e.g. 128 for a latent decoder, 2 for a stereo "
    "separator); default: guessed from its layers, its first Conv1d first, and "
    "checked by a short run on zeros. Given, it is used as it is")


#: The one meaning of ``--sample-rate`` in audit, lint and aliasing.
SAMPLE_RATE_HELP = ("the model's OUTPUT sample rate, Hz: the rate of the audio it produces "
                    "(its input rate is this over the measured rate ratio)")


def _warn_rate(output_rate: float | None, ratio: float | None) -> None:
    """One ``warning:`` line on stderr when the found rate ratio makes the given
    output rate implausible (:func:`~upsamplers.analysis._validate.implausible_rate`)."""
    why = None if output_rate is None or not ratio else implausible_rate(output_rate, ratio)
    if why is not None:
        print(f"warning: {why}", file=sys.stderr, flush=True)


def add_subcommand(subparsers: Any) -> None:
    _add_audit(subparsers)
    _add_lint(subparsers)
    _add_aliasing(subparsers)
    _add_figures(subparsers)


def _add_audit(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "audit", help="probe a model and measure its upsampling artifacts",
        description="Feed a model ones, silence, white noise and tones; report tones, "
        "filtering, replicas and offsets with verdicts. Tone levels: dBFS on silence, "
        "dB re the output RMS on ones, dB above the local floor on noise.")
    p.add_argument("target", metavar="PATH_OR_MODULE:FACTORY")
    p.add_argument("--sample-rate", type=float, required=True, help=SAMPLE_RATE_HELP)
    p.add_argument("--factors", type=_factors, default=None,
                   help="upsampling factors, first stage first (e.g. 8,8,2,2)")
    p.add_argument("--inputs", default=",".join(auditing.PROBES),
                   help="probes, comma-separated (default: all)")
    p.add_argument("--seconds", type=float, default=auditing.DEFAULT_SECONDS,
                   help="output seconds per probe")
    p.add_argument("--in-channels", type=int, default=None, metavar="N", help=IN_CHANNELS_HELP)
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
    p.add_argument("--sample-rate", type=float, default=None, help=SAMPLE_RATE_HELP)
    p.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    p.set_defaults(func=_lint)


def _add_aliasing(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "aliasing", help="measure the aliasing of a module (AHR, dB) with test signals",
        description="Feed sines (and band-limited sawtooth and triangle waves) whose period "
        "is a prime number of samples; report the aliased-to-harmonic ratio (AHR, dB, lower "
        "is better) per f0 and amplitude, the strongest aliased components, and the image "
        "level of an upsampler. See docs/aliasing.md.")
    p.add_argument("target", metavar="TARGET",
                   help=f"PATH_OR_MODULE:FACTORY, or {builtin_help()}")
    p.add_argument("--sample-rate", type=float, default=None,
                   help=SAMPLE_RATE_HELP + "; here for Hz labels only")
    p.add_argument("--f0", default=None, help="sine fundamentals, fractions of the input "
                   "rate, comma-separated (default 0.05 to 0.40 by 0.025)")
    p.add_argument("--wave-f0", default=None, help="sawtooth and triangle fundamentals "
                   f"(default {','.join(map(str, aliasing.DEFAULT_WAVE_F0S))})")
    p.add_argument("--amplitudes", default=None, help="peak amplitudes (default "
                   f"{','.join(map(str, aliasing.DEFAULT_AMPLITUDES))})")
    p.add_argument("--waves", default=",".join(aliasing.WAVES), help="default: all")
    p.add_argument("--length", type=int, default=aliasing.DEFAULT_LENGTH,
                   help="the period in input samples, a prime")
    p.add_argument("--warmup", type=int, default=aliasing.DEFAULT_WARMUP,
                   help="periods fed before the analysed ones, at most (more for long "
                   "memories; less is fed where less is steady, see --whole-periods)")
    p.add_argument("--ratio", default=None, metavar="P[/Q]",
                   help="the model's rate ratio, output samples per input sample (e.g. "
                   "256 for a decoder by 256, 1/2 for a decimator by 2): no rate dry run")
    p.add_argument("--sweep", choices=aliasing.SWEEPS, default="auto",
                   help="auto (default): with no signal option given, a quick sweep (sines at "
                   "0.2, 0.3, 0.4, amplitude 0.8) where the default one would take over a "
                   "minute (a large decoder; the report says so); full: the default sweep")
    p.add_argument("--whole-periods", action="store_true",
                   help="feed whole warm-up periods to every signal (the exhaustive "
                   "layout) instead of the shortest steady context")
    p.add_argument("--factor", type=int, default=None,
                   help="upsampler:KIND's factor and aa:NAME's oversampling ratio (default 2)")
    p.add_argument("--in-channels", "--channels", dest="channels", type=int, default=None,
                   metavar="N",
                   help=IN_CHANNELS_HELP)
    p.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for aliasing.md, aliasing.json and aliasing.png")
    p.add_argument("--no-plot", action="store_true", help="do not write the PNG")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    p.set_defaults(func=_aliasing)


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
    _warn_rate(args.sample_rate, report.ratio)
    print(report.to_markdown())
    if args.out is not None:
        written = report.save(args.out, plot=not args.no_plot)
        print(f"wrote {len(written)} files to {args.out}")
    return 1 if any(v.status == "fail" for v in report.verdicts.values()) else 0


def _aliasing(args: argparse.Namespace) -> int:
    options = dict(
        f0s=_floats("--f0", args.f0, aliasing.DEFAULT_F0S),
        wave_f0s=_floats("--wave-f0", args.wave_f0, aliasing.DEFAULT_WAVE_F0S),
        amplitudes=_floats("--amplitudes", args.amplitudes, aliasing.DEFAULT_AMPLITUDES),
        waves=_names(args.waves),
        length=check_int("length", args.length, minimum=aliasing.MIN_LENGTH),
        warmup=check_int("warmup", args.warmup, minimum=0),
        ratio=_rate_ratio(args.ratio),
        layout="periods" if args.whole_periods else "auto", sweep=args.sweep,
        channels=None if args.channels is None else check_int("channels", args.channels),
        output_rate=None if args.sample_rate is None else check_rate("sample_rate",
                                                                      args.sample_rate))
    # the probe's size before the target is built or anything allocated: a built-in
    # target's factor is known now; any other's rate ratio when it is measured
    factor = _factor_of(args.target, args.factor)
    scale = builtin_scale(args.target, factor) or 1
    aliasing.check_probe(length=options["length"],
                         warmup=options["warmup"], channels=options["channels"] or 1,
                         ratio=options["ratio"] or 1, factor=scale)
    count = len(aliasing.signal_list(options["waves"], options["f0s"], options["wave_f0s"],
                                     options["amplitudes"]))
    if args.out is not None:
        names = aliasing.OUTPUT_NAMES + (() if args.no_plot else (aliasing.PLOT_NAME,))
        check_outputs([args.out / n for n in names], force=args.force)
    module, label = load_aliasing_target(args.target, factor=factor)
    step, close = _progress(count, "aliasing")
    try:
        report = aliasing.measure_aliasing(module, progress=step, **options)
    finally:
        close()
    report.module = label
    _warn_rate(args.sample_rate, report.ratio[0] / report.ratio[1])
    print(report.to_json() if args.json else report.to_markdown())
    if args.out is not None:
        written = report.save(args.out, plot=not args.no_plot)
        print(f"wrote {len(written)} files to {args.out}", file=sys.stderr if args.json
              else sys.stdout)
    return 0


def _rate_ratio(text: str | None) -> Fraction | None:
    """``--ratio``: ``P`` or ``P/Q``, positive, ``Q <= MAX_DECIMATION``; ``InvalidValue``
    naming the option otherwise (one line)."""
    if text is None:
        return None
    try:
        ratio = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        ratio = None
    if ratio is None or ratio <= 0 or ratio.denominator > aliasing.MAX_DECIMATION:
        raise InvalidValue(f"--ratio must be the model's output samples per input sample, "
                           f"P or P/Q with P, Q positive integers and Q <= "
                           f"{aliasing.MAX_DECIMATION} (e.g. 256 or 1/2); received --ratio "
                           f"{text!r}")
    return ratio


def _factor_of(target: str, factor: int | None) -> int:
    """``--factor`` (default 2), which only ``upsampler:KIND`` and ``aa:NAME`` take:
    given to any other target it would be ignored, so it is refused."""
    if factor is None:
        return 2
    factor = check_positive_int("factor", factor)
    if target.partition(":")[0] not in ("upsampler", "aa"):
        raise InvalidValue(f"factor applies to the built-in targets upsampler:KIND and "
                           f"aa:NAME only; {target!r} has its own rate; received factor={factor}")
    return factor


def _lint(args: argparse.Namespace) -> int:
    model = load_target(args.target)
    if isinstance(model, ArrayCallable):
        raise model.refusal("is not a torch.nn.Module, whose layers lint reads")
    report = linting.lint(model, args.sample_rate)
    _warn_rate(args.sample_rate, report.net_factor)
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
