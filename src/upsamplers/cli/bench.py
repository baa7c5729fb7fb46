"""The ``upsamplers bench`` command: time every upsampler kind (see :mod:`upsamplers.bench`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .. import bench
from .._io import check_outputs
from ..timing import machine_description


def _shape(text: str) -> bench.Shape:
    """``Shape.parse`` for argparse, which shows only an ArgumentTypeError's message."""
    try:
        return bench.Shape.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_subcommand(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="time every upsampler kind (forward + backward) and print a table",
        description="Time forward + backward of every upsampler kind on CPU, float32; "
        "report medians, ratios measured in the same run, and each kind's distance "
        "to its arithmetic floor.",
    )
    parser.add_argument("--shape", action="append", type=_shape, metavar="B,C,T,FACTOR",
                        help="shape to time (repeatable); default: three shapes")
    quick = bench.QUICK_SHAPES[0]
    parser.add_argument("--quick", action="store_true",
                        help=f"one shape ({quick.batch},{quick.channels},{quick.time},"
                        f"{quick.factor}) and fewer repeats")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per case")
    parser.add_argument("--warmup", type=int, default=None, help="untimed runs first")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder to write bench.md and bench.json into")
    parser.add_argument("--force", action="store_true",
                        help="overwrite bench.md / bench.json in --out")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    shapes = args.shape or (bench.QUICK_SHAPES if args.quick else bench.DEFAULT_SHAPES)
    repeats = args.repeats if args.repeats is not None else (
        bench.QUICK_REPEATS if args.quick else bench.DEFAULT_REPEATS)
    warmup = args.warmup if args.warmup is not None else (
        bench.QUICK_WARMUP if args.quick else bench.DEFAULT_WARMUP)
    if args.out is not None:
        check_outputs([args.out / name for name in bench.OUTPUT_NAMES], force=args.force)
    details: dict[str, Any] = {}
    rows = bench.run_benchmark(shapes, repeats=repeats, warmup=warmup, details=details,
                               progress=lambda message: print(f"timing {message}", flush=True))
    machine = machine_description()
    table = bench.to_markdown(rows, machine, details["shuffle"])
    print(table)
    if args.out is not None:
        markdown, data = bench.save(args.out, table, rows, machine, details["shuffle"])
        print(f"wrote {markdown} and {data}")
    return 0
