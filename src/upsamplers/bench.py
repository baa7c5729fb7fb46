"""Speed of every upsampler kind: forward + backward, medians of repeated runs,
against the arithmetic floor measured on the same machine in the same run.

``upsamplers bench`` prints a markdown table and can write it, with a JSON copy
of every figure, into ``--out``. Ratios are taken between figures measured in
the same run, and the cases are timed round-robin (one run of each case per
round) so that a change of machine load hits them alike.

The figures, for each shape ``B, C, T, factor`` (``C_in = C_out = C``):

* ``median_ms``: forward + backward (gradients for the input and the weights,
  with a fixed random output gradient), float32, CPU.
* ``phase_taps``: taps of the low-rate convolution that computes the layer,
  summed over the ``factor`` phases, counting only taps that can be non-zero:
  ``factor * K`` for subpixel, ``K`` for transposed, the folded support for
  interpolation + convolution (the same for its naive and polyphase
  executions: it is a property of the function).
* ``macs``: multiply-adds per input time step of the cheapest exact form
  (:meth:`~upsamplers.layers.Upsampler.macs_per_input_sample`): ``C * C *
  phase_taps`` for subpixel, transposed, nearest and linear; for sinc, its
  interpolation as ``r`` short filters per channel followed by the high-rate
  convolution, which costs less than folding the long filter into every
  output channel; for resample, its low-rate convolution and its low-pass's
  ``r`` phases on each output channel (``C * C * K + C * r * D``).
* ``floor_ms``: ``3 * 2 * B * T * macs`` floating-point operations
  (forward + backward counts three times the forward multiply-adds) at the
  matrix-multiply rate measured in the same run (``torch.mm`` of the subpixel
  convolution's GEMM size); ``vs_floor`` is ``median_ms / floor_ms``.
* ``speedup``: naive median over polyphase median, for interpolation kinds.
* per shape, ``shuffle``: the bare low-rate convolution of a kernel-3 subpixel
  layer against the same convolution followed by the periodic shuffle, unfused
  and fused (:func:`~upsamplers.ops.polyphase_conv`).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ._checks import InvalidType, InvalidValue, check_positive_int
from ._io import atomic_write_text
from .layers import Upsampler, make_upsampler
from .layers.base import check_factor_limit
from .ops import periodic_shuffle, polyphase_conv
from .timing import measure, measure_round_robin


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
            raise InvalidValue(f"shape must be B,C,T,factor (four integers); received {text!r}")
        try:
            values = [int(p) for p in parts]
        except ValueError:
            raise InvalidValue(
                f"shape must be B,C,T,factor (four integers); received {text!r}"
            ) from None
        for name, value in zip(("B", "C", "T", "factor"), values, strict=True):
            if value < 1:
                raise InvalidValue(f"shape {name} must be a positive integer; received {text!r}")
        batch, channels, time, factor = values
        check_factor_limit(factor)
        if batch * channels * time * factor > MAX_ELEMENTS:
            raise InvalidValue(f"shape B*C*T*factor must be at most {MAX_ELEMENTS:,} output "
                               f"samples (upsamplers.bench.MAX_ELEMENTS, 1 GiB of float32); "
                               f"received {text!r} ({batch * channels * time * factor:,})")
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


# the main shape, a small one at x4 and x8, many channels at x8, and x2 (the shapes
# on which the speed of every kind is judged)
DEFAULT_SHAPES = (Shape(8, 64, 4096, 4), Shape(2, 32, 1024, 4), Shape(2, 32, 1024, 8),
                  Shape(1, 512, 256, 8), Shape(4, 128, 2048, 2))
#: The shape on which every kind is held to its arithmetic floor.
MAIN_SHAPE = Shape(8, 64, 4096, 4)
#: Least naive / polyphase time ratio of every interpolation kind on every shape.
NAIVE_RATIO_GOAL = 0.95
#: Most time over the arithmetic floor of every kind on the main shape.
FLOOR_GOAL = 1.5
QUICK_SHAPES = (Shape(8, 64, 4096, 4),)
#: Timed runs per case and untimed runs before them: by default, and quick.
DEFAULT_REPEATS, DEFAULT_WARMUP = 10, 2
#: Most output samples of a shape (B * C * T * factor): 1 GiB of float32. A larger
#: shape failed in the allocator with a traceback.
MAX_ELEMENTS = 2 ** 28
#: Most timed (or warm-up) runs per case: --repeats 10**12 ran for ever.
MAX_REPEATS = 10_000
QUICK_REPEATS, QUICK_WARMUP = 3, 1
#: The files :func:`save` writes.
OUTPUT_NAMES = ("bench.md", "bench.json")
INTERP_KINDS = ("nearest", "linear", "sinc")


def default_cases() -> list[Case]:
    """Every kind at its default settings; nearest, linear and sinc also with
    ``impl="naive"`` and with ``kernel_size=3`` (naive too); resample last."""
    cases = [Case("transposed", "transposed"), Case("subpixel", "subpixel")]
    for kind in INTERP_KINDS:
        cases += [Case(kind, kind), Case(f"{kind} (naive)", kind, {"impl": "naive"})]
    for kind in INTERP_KINDS:
        cases += [Case(f"{kind} k=3", kind, {"kernel_size": 3}),
                  Case(f"{kind} k=3 (naive)", kind, {"kernel_size": 3, "impl": "naive"})]
    return [*cases, Case("resample", "resample")]


def phase_taps(module: torch.nn.Module) -> int:
    """Taps of the low-rate convolution that computes ``module``, summed over its
    phases (per input/output channel pair); see the module docstring."""
    if not isinstance(module, Upsampler):
        raise InvalidType("phase_taps knows upsamplers (upsamplers.layers.Upsampler); "
                          f"received {type(module).__name__}")
    return module.phase_taps()


def floor_flops(shape: Shape, macs: int) -> int:
    """Floating-point operations of forward + backward at the arithmetic floor of a
    layer doing ``macs`` multiply-adds per input time step: ``3 * 2 * B * T *
    macs`` (each multiply-add is two operations; the backward computes the input
    and the weight gradients, each as costly as the forward)."""
    return 3 * 2 * shape.batch * shape.time * macs


def forward_backward_step(module: torch.nn.Module, x: torch.Tensor,
                          grad: torch.Tensor | None = None) -> Callable[[], None]:
    """A closure running one forward and backward pass (gradients for the input
    and the weights), as training does. ``grad`` is the output gradient (default:
    that of ``output.sum()``)."""
    x = x.detach().requires_grad_(True)

    def step() -> None:
        module.zero_grad(set_to_none=True)
        x.grad = None
        y = module(x)
        if grad is None:
            y.sum().backward()
        else:
            y.backward(grad)

    return step


def matmul_gflops(m: int, k: int, n: int, *, repeats: int = 5, warmup: int = 2) -> float:
    """This machine's float32 ``torch.mm`` rate on an ``(m, k) x (k, n)`` product, GFLOP/s
    (median)."""
    a, b = torch.randn(m, k), torch.randn(k, n)
    seconds = statistics.median(measure(lambda: torch.mm(a, b), repeats=repeats, warmup=warmup))
    return 2.0 * m * k * n / seconds / 1e9


def shuffle_overhead(shape: Shape, *, repeats: int, warmup: int,
                     kernel_size: int = 3) -> dict[str, float]:
    """Forward + backward of the bare low-rate convolution ``(B, C, T) -> (B, C * r, T)``,
    of the same followed by :func:`periodic_shuffle`, and of the fused
    :func:`~upsamplers.ops.polyphase_conv` (convolution + shuffle, a batch
    chunk at a time, as the polyphase layers run). ``overhead`` is the fused
    time over the bare convolution minus one; ``overhead_unfused`` the same for
    convolution + ``periodic_shuffle``."""
    b, c, t, r = shape.batch, shape.channels, shape.time, shape.factor
    x = torch.randn(b, c, t, requires_grad=True)
    w = torch.randn(c * r, c, kernel_size, requires_grad=True)
    grad = torch.randn(b, c * r, t)
    pad = (kernel_size - 1) // 2
    right = kernel_size - 1 - pad

    def bare() -> None:
        x.grad = w.grad = None
        F.conv1d(x, w, padding=pad).backward(grad)

    def shuffled() -> None:
        x.grad = w.grad = None
        periodic_shuffle(F.conv1d(x, w, padding=pad), r).backward(grad.view(b, c, t * r))

    def fused() -> None:
        x.grad = w.grad = None
        # symmetric padding max(pad, right); phases start at max - pad
        polyphase_conv(x, w, None, padding=right, starts=[right - pad] * r,
                       length=t).backward(grad.view(b, c, t * r))

    times = measure_round_robin([bare, shuffled, fused], repeats=repeats, warmup=warmup)
    bare_ms, shuffled_ms, fused_ms = (1e3 * statistics.median(ts) for ts in times)
    return {"conv_ms": bare_ms, "conv_shuffle_ms": shuffled_ms, "fused_ms": fused_ms,
            "overhead": fused_ms / bare_ms - 1.0,
            "overhead_unfused": shuffled_ms / bare_ms - 1.0}


def run_benchmark(
    shapes: Sequence[Shape] = DEFAULT_SHAPES,
    cases: Sequence[Case] | None = None,
    *,
    repeats: int = DEFAULT_REPEATS,
    warmup: int = DEFAULT_WARMUP,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    details: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Time forward + backward of every case on every shape (float32, CPU).

    Returns one row per (shape, case): ``median_ms`` and all the times,
    ``vs_subpixel`` (ratio to the subpixel case of the same shape, when one ran),
    ``phase_taps``, ``floor_ms``, ``vs_floor``, ``gflops`` (the matrix-multiply
    rate used for the floor), and ``speedup`` (naive over polyphase) for the
    polyphase rows of interpolation kinds whose naive twin ran. If ``details`` is
    a dict, it receives ``{"shuffle": [...]}``, one :func:`shuffle_overhead` per shape.
    """
    repeats = check_positive_int("repeats", repeats)
    warmup = check_positive_int("warmup", warmup, minimum=0)
    for name, value in (("repeats", repeats), ("warmup", warmup)):
        if value > MAX_REPEATS:
            raise InvalidValue(f"{name} must be at most {MAX_REPEATS} (upsamplers.bench."
                               f"MAX_REPEATS); received {name}={value}")
    cases = list(default_cases() if cases is None else cases)
    rows: list[dict[str, Any]] = []
    shuffles = []
    for shape in shapes:
        torch.manual_seed(seed)
        x = torch.randn(shape.batch, shape.channels, shape.time)
        grad = torch.randn(shape.batch, shape.channels, shape.time * shape.factor)
        if progress is not None:
            progress(f"{shape}: matrix-multiply rate and shuffle overhead")
        rate = matmul_gflops(shape.batch * shape.time, shape.channels * 3,
                             shape.channels * shape.factor, repeats=max(3, repeats), warmup=1)
        shuffles.append({"shape": asdict(shape),
                         **shuffle_overhead(shape, repeats=repeats, warmup=warmup)})
        modules = [case.build(shape) for case in cases]
        if progress is not None:
            progress(f"{shape}: {len(cases)} cases, {repeats} rounds")
        steps = [forward_backward_step(m, x, grad) for m in modules]
        all_times = measure_round_robin(steps, repeats=repeats, warmup=warmup)
        shape_rows = []
        for case, module, times in zip(cases, modules, all_times, strict=True):
            taps = phase_taps(module)
            macs = module.macs_per_input_sample()
            floor_ms = 1e3 * floor_flops(shape, macs) / (rate * 1e9)
            median_ms = 1e3 * statistics.median(times)
            shape_rows.append({
                "shape": asdict(shape),
                "label": case.label,
                "kind": case.kind,
                "options": case.options,
                "impl": getattr(module, "impl", "-"),
                # the form a call of this shape runs (interpolation layers choose per call)
                "form": (module.form_for(shape.batch, shape.time)
                         if hasattr(module, "form_for") else "-"),
                "kernel_size": module.kernel_size,
                "parameters": sum(p.numel() for p in module.parameters()),
                "phase_taps": taps,
                "macs": macs,
                "gflops": rate,
                "floor_ms": floor_ms,
                "median_ms": median_ms,
                "vs_floor": median_ms / floor_ms,
                "times_ms": [1e3 * t for t in times],
            })
        _add_ratios(shape_rows)
        rows.extend(shape_rows)
    if details is not None:
        details["shuffle"] = shuffles
    return rows


def _add_ratios(shape_rows: list[dict[str, Any]]) -> None:
    """``vs_subpixel`` (when a subpixel case ran) and ``speedup`` (naive over
    polyphase, for interpolation kinds whose naive twin ran) of one shape's rows."""
    reference = next((r for r in shape_rows if r["label"] == "subpixel"), None)
    for row in shape_rows:
        if reference is not None:
            row["vs_subpixel"] = row["median_ms"] / reference["median_ms"]
        if row["impl"] == "polyphase":
            twin = next((r for r in shape_rows if r["kind"] == row["kind"]
                         and r["impl"] == "naive"
                         and r["kernel_size"] == row["kernel_size"]), None)
            if twin is not None:
                row["speedup"] = twin["median_ms"] / row["median_ms"]


def goals(rows: Sequence[dict[str, Any]], shuffles: Sequence[dict[str, Any]]) -> list[str]:
    """The speed goals, each with its measured figures and met / missed: every
    interpolation kind at least :data:`NAIVE_RATIO_GOAL` times as fast as its
    naive composition on every shape; every kind (default settings) within
    :data:`FLOOR_GOAL` of its floor on :data:`MAIN_SHAPE`; and the fused shuffle's
    overhead."""
    out = []

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    timed = [r for r in rows if "speedup" in r and r.get("form") != "naive"]
    same = [r for r in rows if "speedup" in r and r.get("form") == "naive"]
    if timed:
        worst: dict[str, dict[str, Any]] = {}
        for r in timed:
            if r["label"] not in worst or r["speedup"] < worst[r["label"]]["speedup"]:
                worst[r["label"]] = r
        figures = ", ".join(f"{label} {r['speedup']:.2f}x ({Shape(**r['shape'])})"
                            for label, r in worst.items())
        # where the engine runs the composition itself the ratio compares two runs of
        # one computation: it measures the machine's noise, and is reported apart
        noise = ""
        if same:
            ratios = [r["speedup"] for r in same]
            noise = (f"; {len(same)} more run the naive composition itself (the engine's "
                     f"choice there), measured {min(ratios):.2f}x-{max(ratios):.2f}x against "
                     f"it: the noise of two runs of one computation")
        ok = all(r["speedup"] >= NAIVE_RATIO_GOAL for r in timed)
        out.append(f"every interpolation kind at least {NAIVE_RATIO_GOAL}x as fast as its naive "
                   f"composition on every shape (worst per case where another form runs: "
                   f"{figures}{noise}): {verdict(ok)}")
    main = [r for r in rows if r["options"] == {} and Shape(**r["shape"]) == MAIN_SHAPE]
    if main:
        figures = ", ".join(f"{r['label']} {r['vs_floor']:.2f}x" for r in main)
        ok = all(r["vs_floor"] <= FLOOR_GOAL for r in main)
        out.append(f"every kind (default settings) within {FLOOR_GOAL}x of its floor on "
                   f"{MAIN_SHAPE}: {figures}: {verdict(ok)}")
    if shuffles:
        figures = ", ".join(f"{100 * s['overhead']:+.0f}% ({Shape(**s['shape'])})"
                            for s in shuffles)
        out.append(f"shuffle (fused, as the polyphase layers run it) adds <= 10% to the bare "
                   f"low-rate convolution: {figures}: "
                   f"{verdict(all(s['overhead'] <= 0.10 for s in shuffles))}")
    return out


def to_markdown(rows: Sequence[dict[str, Any]], machine: dict[str, Any] | None = None,
                shuffles: Sequence[dict[str, Any]] = ()) -> str:
    """A markdown table of ``rows`` from :func:`run_benchmark`, the shuffle
    overhead per shape and the goals."""
    lines = []
    if machine is not None:
        load = machine.get("load_average_1min")
        load_text = "" if load is None else f", load average {load:.1f} at the end"
        lines.append(f"Forward + backward, float32, CPU ({machine['processor']}, "
                     f"{machine.get('cpus', '?')} CPUs, {machine['threads']} threads, "
                     f"torch {machine['torch']}{load_text}); median of repeated runs, "
                     "cases interleaved.")
        lines.append("")
    lines.append("| shape | upsampler | impl | form | K | phase taps | median (ms) | vs subpixel | "
                 "naive / polyphase | floor (ms) | vs floor |")
    lines.append("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        shape = Shape(**row["shape"])
        ratio = f"{row['vs_subpixel']:.2f}x" if "vs_subpixel" in row else "n/a"
        speedup = f"{row['speedup']:.2f}x" if "speedup" in row else ""
        lines.append(f"| {shape} | {row['label']} | {row['impl']} | {row.get('form', '-')} | "
                     f"{row['kernel_size']} | "
                     f"{row['phase_taps']} | {row['median_ms']:.2f} | {ratio} | {speedup} | "
                     f"{row['floor_ms']:.2f} | {row['vs_floor']:.2f}x |")
    rates = {}
    for row in rows:
        rates.setdefault(str(Shape(**row["shape"])), row["gflops"])
    lines.append("")
    lines.append("Floor: 3 x 2 x B x T x C x C x (phase taps) flop at the measured "
                 "matrix-multiply rate: " + "; ".join(f"{k}: {v:.1f} GFLOP/s"
                                                      for k, v in rates.items()) + ".")
    if shuffles:
        lines.append("")
        lines.append("| shape | low-rate conv (ms) | + periodic_shuffle (ms) | overhead | "
                     "fused polyphase_conv (ms) | overhead |")
        lines.append("|---|---:|---:|---:|---:|---:|")
        for s in shuffles:
            lines.append(f"| {Shape(**s['shape'])} | {s['conv_ms']:.2f} | "
                         f"{s['conv_shuffle_ms']:.2f} | {100 * s['overhead_unfused']:+.1f}% | "
                         f"{s['fused_ms']:.2f} | {100 * s['overhead']:+.1f}% |")
    found = goals(rows, shuffles)
    if found:
        lines.append("")
        lines.append("Goals:")
        lines.extend(f"- {g}" for g in found)
    return "\n".join(lines) + "\n"


def save(directory: str | Path, table: str, rows: Sequence[dict[str, Any]],
         machine: dict[str, Any], shuffles: Sequence[dict[str, Any]]) -> list[Path]:
    """Write ``table`` (from :func:`to_markdown`) as ``bench.md``, and every figure
    with the machine and the goals as ``bench.json``, into ``directory`` (created
    if needed); returns their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    markdown, data = (directory / name for name in OUTPUT_NAMES)
    return [atomic_write_text(markdown, table),
            atomic_write_text(data, json.dumps({"machine": machine, "rows": list(rows),
                                                "shuffle": list(shuffles),
                                                "goals": goals(rows, shuffles)}, indent=2))]
