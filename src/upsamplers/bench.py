"""Speed of every upsampler kind: forward + backward, medians of repeated runs.

``upsamplers bench`` prints a markdown table and can write it, with a JSON copy
of every figure, into ``--out``. Ratios are taken between figures measured in
the same run.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from ._checks import check_positive_int
from .layers import make_upsampler, upsampler_kinds


@dataclass(frozen=True)
class Shape:
    """A benchmark shape: input ``(batch, channels, time)``, upsampled by ``factor``
    to ``channels`` output channels."""

    batch: int
    channels: int
    time: int
    factor: int

    @classmethod
    def parse(cls, text: str) -> Shape:
        """Parse ``"B,C,T,factor"``, e.g. ``"8,64,4096,4"``."""
        parts = text.split(",")
        if len(parts) != 4:
            raise ValueError(f"shape must be B,C,T,factor (four integers); received {text!r}")
        try:
            values = [int(p) for p in parts]
        except ValueError:
            raise ValueError(
                f"shape must be B,C,T,factor (four integers); received {text!r}"
            ) from None
        for name, value in zip(("B", "C", "T", "factor"), values, strict=True):
            if value < 1:
                raise ValueError(f"shape {name} must be a positive integer; received {text!r}")
        return cls(*values)

    def __str__(self) -> str:
        return f"B={self.batch} C={self.channels} T={self.time} x{self.factor}"


@dataclass(frozen=True)
class Case:
    """One upsampler configuration: ``make_upsampler(kind, C, C, factor, **options)``."""

    label: str
    kind: str
    options: dict[str, Any] = field(default_factory=dict)

    def build(self, shape: Shape) -> torch.nn.Module:
        return make_upsampler(self.kind, shape.channels, shape.channels, shape.factor,
                              **self.options)


DEFAULT_SHAPES = (Shape(8, 64, 4096, 4), Shape(2, 32, 1024, 4), Shape(8, 128, 8192, 4))
QUICK_SHAPES = (Shape(8, 64, 4096, 4),)


def default_cases() -> list[Case]:
    """Every kind that :func:`make_upsampler` knows, at its default settings."""
    return [Case(kind, kind) for kind in upsampler_kinds()]


def measure(fn: Callable[[], object], *, repeats: int, warmup: int) -> list[float]:
    """Wall-clock seconds of ``fn()`` over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def forward_backward_step(module: torch.nn.Module, x: torch.Tensor) -> Callable[[], None]:
    """A closure running one forward and backward pass (gradients for the input
    and the weights), as training does."""
    x = x.detach().requires_grad_(True)

    def step() -> None:
        module.zero_grad(set_to_none=True)
        x.grad = None
        module(x).sum().backward()

    return step


def run_benchmark(
    shapes: Sequence[Shape] = DEFAULT_SHAPES,
    cases: Sequence[Case] | None = None,
    *,
    repeats: int = 10,
    warmup: int = 2,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Time forward + backward of every case on every shape (float32, CPU).

    Returns one row per (shape, case) with ``median_ms``, all the times, and
    ``vs_subpixel``: the ratio of the median to the subpixel case of the same shape
    (absent when no subpixel case ran).
    """
    repeats = check_positive_int("repeats", repeats)
    warmup = check_positive_int("warmup", warmup, minimum=0)
    cases = list(default_cases() if cases is None else cases)
    rows: list[dict[str, Any]] = []
    for shape in shapes:
        torch.manual_seed(seed)
        x = torch.randn(shape.batch, shape.channels, shape.time)
        shape_rows = []
        for case in cases:
            if progress is not None:
                progress(f"{shape}: {case.label}")
            module = case.build(shape)
            times = measure(forward_backward_step(module, x), repeats=repeats, warmup=warmup)
            shape_rows.append({
                "shape": asdict(shape),
                "label": case.label,
                "kind": case.kind,
                "options": case.options,
                "parameters": sum(p.numel() for p in module.parameters()),
                "median_ms": 1e3 * statistics.median(times),
                "times_ms": [1e3 * t for t in times],
            })
        reference = next((r for r in shape_rows if r["label"] == "subpixel"), None)
        for row in shape_rows:
            if reference is not None:
                row["vs_subpixel"] = row["median_ms"] / reference["median_ms"]
        rows.extend(shape_rows)
    return rows


def machine_description() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }


def to_markdown(rows: Sequence[dict[str, Any]], machine: dict[str, Any] | None = None) -> str:
    """A markdown table of ``rows`` from :func:`run_benchmark`."""
    lines = []
    if machine is not None:
        lines.append(f"Forward + backward, float32, CPU ({machine['processor']}, "
                     f"{machine['threads']} threads, torch {machine['torch']}); "
                     "median of repeated runs.")
        lines.append("")
    lines.append("| shape | upsampler | parameters | median (ms) | vs subpixel |")
    lines.append("|---|---|---:|---:|---:|")
    for row in rows:
        shape = Shape(**row["shape"])
        ratio = f"{row['vs_subpixel']:.2f}x" if "vs_subpixel" in row else "n/a"
        lines.append(f"| {shape} | {row['label']} | {row['parameters']} | "
                     f"{row['median_ms']:.2f} | {ratio} |")
    return "\n".join(lines) + "\n"


def add_subcommand(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="time every upsampler kind (forward + backward) and print a table",
        description="Time forward + backward of every upsampler kind on CPU, float32; "
        "report medians and ratios measured in the same run.",
    )
    parser.add_argument("--shape", action="append", type=Shape.parse, metavar="B,C,T,FACTOR",
                        help="shape to time (repeatable); default: three shapes")
    parser.add_argument("--quick", action="store_true",
                        help="one shape (8,64,4096,4) and fewer repeats")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per case")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder to write bench.md and bench.json into")
    parser.add_argument("--force", action="store_true",
                        help="overwrite bench.md / bench.json in --out")
    parser.set_defaults(func=_run_cli)


def _run_cli(args: argparse.Namespace) -> int:
    from .cli import CommandError

    shapes = args.shape or (QUICK_SHAPES if args.quick else DEFAULT_SHAPES)
    repeats = args.repeats if args.repeats is not None else (5 if args.quick else 10)
    outputs = []
    if args.out is not None:
        outputs = [args.out / "bench.md", args.out / "bench.json"]
        existing = [str(p) for p in outputs if p.exists()]
        if existing and not args.force:
            raise CommandError(f"{', '.join(existing)} already exist; pass --force to overwrite")
    rows = run_benchmark(shapes, repeats=repeats, warmup=args.warmup,
                         progress=lambda message: print(f"timing {message}", flush=True))
    machine = machine_description()
    table = to_markdown(rows, machine)
    print(table)
    if outputs:
        args.out.mkdir(parents=True, exist_ok=True)
        outputs[0].write_text(table)
        outputs[1].write_text(json.dumps({"machine": machine, "rows": rows}, indent=2))
        print(f"wrote {outputs[0]} and {outputs[1]}")
    return 0
