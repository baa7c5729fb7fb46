"""The ``upsamplers audit``, ``upsamplers lint`` and ``upsamplers figures`` commands.

``TARGET`` names a model factory: ``path/to/file.py:NAME`` or
``package.module:NAME``. ``NAME`` is a function (called without arguments) or
a module-level object; it must give a ``torch.nn.Module`` (or, for ``audit``,
a callable mapping a numpy array to a numpy array).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._checks import UserInputError


def load_target(target: str) -> Any:
    """Build the model named by ``PATH_OR_MODULE:FACTORY``.

    Raises:
        UserInputError: one line, for a missing file, an import error, a missing or
            failing factory.
    """
    if ":" not in target:
        raise UserInputError(f"TARGET must be PATH_OR_MODULE:FACTORY (e.g. model.py:build); "
                           f"received {target!r}")
    where, _, name = target.rpartition(":")
    if not where or not name:
        raise UserInputError(f"TARGET must be PATH_OR_MODULE:FACTORY; received {target!r}")
    if where.endswith(".py") or "/" in where or Path(where).is_file():
        path = Path(where)
        if not path.is_file():
            raise UserInputError(f"{where}: no such file")
        spec = importlib.util.spec_from_file_location(f"_upsamplers_target_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise UserInputError(f"{where}: cannot be imported as a Python file")
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, str(path.resolve().parent))
        try:
            spec.loader.exec_module(module)
        except Exception as error:  # the user's code: report it in one line
            raise UserInputError(f"{where}: importing it failed: "
                               f"{type(error).__name__}: {error}") from None
        finally:
            sys.path.pop(0)
    else:
        try:
            module = importlib.import_module(where)
        except Exception as error:
            raise UserInputError(f"cannot import {where}: {type(error).__name__}: {error}"
                               ) from None
    if not hasattr(module, name):
        public = sorted(n for n in vars(module) if not n.startswith("_"))[:12]
        raise UserInputError(f"{where} does not define {name!r}; it defines: "
                           f"{', '.join(public) or 'nothing public'}")
    factory = getattr(module, name)
    try:
        import torch

        if isinstance(factory, torch.nn.Module):
            return factory
    except ImportError:  # pragma: no cover
        pass
    if isinstance(factory, type) or (callable(factory) and _takes_no_arguments(factory)):
        try:
            return factory()
        except Exception as error:
            raise UserInputError(f"{where}:{name}() failed: {type(error).__name__}: {error}"
                               ) from None
    if callable(factory):
        return factory
    raise UserInputError(f"{where}:{name} is a {type(factory).__name__}, not a model factory")


def _takes_no_arguments(fn: Callable[..., Any]) -> bool:
    import inspect

    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return False
    return all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
               for p in sig.parameters.values())


def _factors(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.replace("x", ",").split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"factors must be integers like 8,8,2,2; "
                                         f"received {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"factors must be positive integers; received {text!r}")
    return values


def _check_out(out: Path | None, names: list[str], force: bool) -> None:
    if out is None:
        return
    existing = [str(out / n) for n in names if (out / n).exists()]
    if existing and not force:
        raise UserInputError(f"{', '.join(existing)} already exist; pass --force to overwrite")


def _progress(total: int, label: str) -> tuple[Callable[[str], None], Callable[[], None]]:
    """A progress callback (tqdm when installed, else lines on stderr) and a closer."""
    try:
        from tqdm import tqdm
    except ImportError:
        def say(message: str) -> None:
            print(f"{label}: {message}", file=sys.stderr, flush=True)
        return say, lambda: None
    bar = tqdm(total=total, desc=label, unit="step", file=sys.stderr, leave=False)
    started = [False]

    def step(message: str) -> None:
        if started[0]:
            bar.update(1)
        started[0] = True
        bar.set_postfix_str(message)
    return step, bar.close


def add_subcommand(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "audit", help="probe a model and measure its upsampling artifacts",
        description="Feed a model ones, silence, white noise and tones; report tones, "
        "filtering, replicas and offsets with verdicts.")
    p.add_argument("target", metavar="PATH_OR_MODULE:FACTORY")
    p.add_argument("--sample-rate", type=float, required=True, help="output rate of the model (Hz)")
    p.add_argument("--factors", type=_factors, default=None,
                   help="upsampling factors, first stage first (e.g. 8,8,2,2)")
    p.add_argument("--inputs", default=",".join(("ones", "silence", "noise", "tones")),
                   help="probes, comma-separated (default: all)")
    p.add_argument("--seconds", type=float, default=4.0, help="output seconds per probe")
    p.add_argument("--in-channels", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None,
                   help="folder for audit.md, audit.json and spectrogram PNGs")
    p.add_argument("--no-plot", action="store_true", help="do not write PNGs")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    p.set_defaults(func=_audit)

    p = subparsers.add_parser(
        "lint", help="list a model's upsampling layers with advice, without running it")
    p.add_argument("target", metavar="PATH_OR_MODULE:FACTORY")
    p.add_argument("--sample-rate", type=float, default=None, help="output rate (Hz)")
    p.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    p.set_defaults(func=_lint)

    p = subparsers.add_parser(
        "figures", help="reproduce the figures of Pons et al. 2021 as numbers and PNGs")
    p.add_argument("--out", type=Path, required=True, help="folder for figures.md/.json/PNGs")
    p.add_argument("--only", default=None, help="comma-separated subset, e.g. fig7,fig8")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=_figures)


def _audit(args: argparse.Namespace) -> int:
    from ._validate import check_rate
    from .auditing import audit

    inputs = tuple(v.strip() for v in args.inputs.split(",") if v.strip())
    check_rate("sample_rate", args.sample_rate)
    _check_out(args.out, ["audit.md", "audit.json"], args.force)
    model = load_target(args.target)
    step, close = _progress(len(inputs), "audit")
    try:
        report = audit(model, args.sample_rate, factors=args.factors, inputs=inputs,
                       seconds=args.seconds, in_channels=args.in_channels, seed=args.seed,
                       progress=step)
    finally:
        close()
    text = report.to_markdown()
    print(text)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "audit.md").write_text(text)
        (args.out / "audit.json").write_text(report.to_json())
        written = [args.out / "audit.md", args.out / "audit.json"]
        if not args.no_plot:
            written += report.plot(args.out)
        print(f"wrote {len(written)} files to {args.out}")
    return 1 if any(v.status == "fail" for v in report.verdicts.values()) else 0


def _lint(args: argparse.Namespace) -> int:
    from .linting import lint

    model = load_target(args.target)
    report = lint(model, args.sample_rate)
    print(report.to_json() if args.json else report.to_markdown())
    return 0


def _figures(args: argparse.Namespace) -> int:
    from . import figures

    names = None if args.only is None else [n.strip() for n in args.only.split(",") if n.strip()]
    for name in names or ():
        if name not in figures.FIGURES:
            raise UserInputError(f"figure must be one of {', '.join(figures.FIGURES)}; "
                               f"received {name!r}")
    _check_out(args.out, ["figures.md", "figures.json"], args.force)
    step, close = _progress(len(names or figures.FIGURES), "figures")
    try:
        results = figures.reproduce(names, out=None if args.no_plot else args.out,
                                    seed=args.seed, progress=step)
    finally:
        close()
    text = figures.to_markdown(results)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "figures.md").write_text(text)
    (args.out / "figures.json").write_text(json.dumps([r.to_dict() for r in results], indent=2))
    print(text)
    failed = [c.claim for r in results for c in r.checks if not c.passed]
    print(f"{sum(len(r.checks) for r in results) - len(failed)} of "
          f"{sum(len(r.checks) for r in results)} checks met; wrote {args.out}")
    return 1 if failed else 0
