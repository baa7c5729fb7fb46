"""Inference speed of every upsampler kind exported to ONNX and run in onnxruntime,
beside eager torch inference, CPU, one thread, float32.

Each case of ``upsamplers.bench.default_cases()`` is exported once per shape with
``torch.export`` and ``torch.onnx.export(..., dynamo=True)`` (batch and length
dynamic, see docs/deployment.md) and timed round-robin against the eager module
under ``torch.inference_mode``: median of the runs. The largest difference between
the two outputs on the timed input is reported too.

    python benchmarks/bench_onnxruntime.py [--quick] [--repeats N] [--out DIR]

Needs the ``export`` extra (``pip install "neural-upsamplers[export]"``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import warnings
from pathlib import Path
from typing import Any

import torch

from upsamplers.bench import (
    DEFAULT_REPEATS,
    DEFAULT_SHAPES,
    DEFAULT_WARMUP,
    QUICK_REPEATS,
    QUICK_SHAPES,
    QUICK_WARMUP,
    Case,
    Shape,
    default_cases,
)
from upsamplers.timing import machine_description, measure_round_robin


def onnx_session(module: torch.nn.Module, x: torch.Tensor) -> Any:
    """``module`` exported with a dynamic batch and length, in a one-thread
    onnxruntime session."""
    import onnxruntime as ort

    dims = ({0: torch.export.Dim("batch", min=1), 2: torch.export.Dim("time", min=1)},)
    program = torch.export.export(module, (x,), dynamic_shapes=dims)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        onnx_program = torch.onnx.export(program, dynamo=True, verbose=False)
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    return ort.InferenceSession(onnx_program.model_proto.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


def time_case(shape: Shape, case: Case, *, repeats: int, warmup: int) -> dict[str, Any]:
    """Eager torch and onnxruntime inference of one case on one shape."""
    module = case.build(shape).eval()
    x = torch.randn(shape.batch, shape.channels, shape.time)
    session = onnx_session(module, x)
    feed = {session.get_inputs()[0].name: x.numpy()}

    def eager() -> torch.Tensor:
        with torch.inference_mode():
            return module(x)

    def onnxruntime() -> Any:
        return session.run(None, feed)[0]

    difference = float((torch.from_numpy(onnxruntime()) - eager()).abs().max())
    torch_s, ort_s = measure_round_robin([eager, onnxruntime], repeats=repeats, warmup=warmup)
    return {"shape": vars(shape), "case": case.label, "torch_ms": 1e3 * statistics.median(torch_s),
            "onnxruntime_ms": 1e3 * statistics.median(ort_s), "max_abs_difference": difference,
            "torch_times_ms": [1e3 * t for t in torch_s],
            "onnxruntime_times_ms": [1e3 * t for t in ort_s]}


def to_markdown(rows: list[dict[str, Any]], machine: dict[str, Any], repeats: int) -> str:
    lines = [f"Inference, float32, one thread, {machine['processor']}, torch {machine['torch']}; "
             f"median of {repeats} runs timed round-robin.", "",
             "| shape (B, C, T, factor) | case | torch eager (ms) | onnxruntime (ms) | "
             "onnxruntime / torch | max abs difference |",
             "|---|---|---:|---:|---:|---:|"]
    for row in rows:
        s = Shape(**row["shape"])
        lines.append(f"| {s.batch}, {s.channels}, {s.time}, x{s.factor} | {row['case']} | "
                     f"{row['torch_ms']:.2f} | {row['onnxruntime_ms']:.2f} | "
                     f"{row['onnxruntime_ms'] / row['torch_ms']:.2f} | "
                     f"{row['max_abs_difference']:.1e} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"one shape ({QUICK_SHAPES[0]}), {QUICK_REPEATS} runs")
    parser.add_argument("--shape", action="append", type=Shape.parse, default=None,
                        help="B,C,T,factor (repeatable; default: the bench shapes)")
    parser.add_argument("--case", action="append", default=None,
                        help="a case label of upsamplers.bench.default_cases (repeatable)")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for onnxruntime.md and onnxruntime.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    shapes = args.shape or (QUICK_SHAPES if args.quick else DEFAULT_SHAPES)
    repeats = args.repeats or (QUICK_REPEATS if args.quick else DEFAULT_REPEATS)
    warmup = QUICK_WARMUP if args.quick else DEFAULT_WARMUP
    cases = [c for c in default_cases() if args.case is None or c.label in args.case]
    if not cases:
        parser.error(f"no case named {args.case}; the cases are "
                     f"{', '.join(c.label for c in default_cases())}")
    rows = []
    for shape in shapes:
        for case in cases:
            rows.append(time_case(shape, case, repeats=repeats, warmup=warmup))
            print(f"{shape} {case.label}: torch {rows[-1]['torch_ms']:.2f} ms, onnxruntime "
                  f"{rows[-1]['onnxruntime_ms']:.2f} ms", flush=True)
    machine = machine_description()
    table = to_markdown(rows, machine, repeats)
    print(table)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "onnxruntime.md").write_text(table)
        (args.out / "onnxruntime.json").write_text(
            json.dumps({"machine": machine, "repeats": repeats, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
