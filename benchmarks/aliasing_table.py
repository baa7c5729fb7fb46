"""Write benchmarks/results/<name>.md and .json: the AHR of activations and
upsamplers (Gu et al.'s module table, measured with ``measure_aliasing``: sines at
amplitude 0.8, f0 0.05 to 0.40 of the rate, prime period 4099, float32) and the cost
of each, forward + backward on one thread (medians of interleaved runs) beside
subpixel's at the same shape.

    python benchmarks/aliasing_table.py [--repeats N] [--name NAME]

Activations are timed at B=4 C=128 T=8192 (BigVGAN's configuration), upsamplers x2
C=128 -> 128 at B=4 T=4096 (output 8192 samples); both beside ``SubPixel1d(128, 128,
2, 3)`` at B=4 T=4096.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from pathlib import Path

import torch
from torch import nn

from upsamplers._io import atomic_write_text
from upsamplers.activations import AntiAliasedActivation1d, SnakeBeta1d
from upsamplers.analysis import measure_aliasing
from upsamplers.layers import make_upsampler
from upsamplers.timing import machine_description, measure_round_robin

RESULTS = Path(__file__).resolve().parent / "results"
B, C, T = 4, 128, 8192


def _alias_free(act: nn.Module) -> nn.Module:
    from alias_free_torch import Activation1d

    return Activation1d(act)


def _unit(kind: str, channels: int, **options) -> nn.Module:
    torch.manual_seed(0)
    layer = make_upsampler(kind, channels, channels, 2, **options)
    if options.get("kernel_size") == 1 and channels == 1:
        with torch.no_grad():
            for p in layer.parameters():
                p.fill_(1.0)
    return layer


# name -> (what Gu et al. report, dB, or None; builder of channels)
ACTIVATIONS = {
    "LeakyReLU(0.01)": (-25.3, lambda c: nn.LeakyReLU(0.01)),
    "SnakeBeta": (-39.6, lambda c: SnakeBeta1d(c)),
    "SnakeBeta, BigVGAN x4 (12 taps)": (-42.4, lambda c: AntiAliasedActivation1d.bigvgan(
        SnakeBeta1d(c), 4)),
    "SnakeBeta ADAA": (-42.3, lambda c: SnakeBeta1d(c, adaa=True)),
    "SnakeBeta ADAA, BigVGAN x2": (-46.0, lambda c: AntiAliasedActivation1d.bigvgan(
        SnakeBeta1d(c, adaa=True))),
    "SnakeBeta, alias-free-torch Activation1d (BigVGAN)": (None, lambda c: _alias_free(
        SnakeBeta1d(c))),
    "LeakyReLU(0.01), ours x2": (None, lambda c: AntiAliasedActivation1d(nn.LeakyReLU(0.01))),
    "SnakeBeta ADAA, ours x2": (None, lambda c: AntiAliasedActivation1d(
        SnakeBeta1d(c, adaa=True))),
}
UPSAMPLERS = {
    "transposed (K=4, default init)": (-21.7, lambda c: _unit("transposed", c)),
    "linear + conv (K=1)": (-48.1, lambda c: _unit("linear", c, kernel_size=1)),
    "sinc + conv (K=1)": (None, lambda c: _unit("sinc", c, kernel_size=1)),
    "resample (K=1)": (-53.9, lambda c: _unit("resample", c, kernel_size=1)),
    "resample (K=3)": (None, lambda c: _unit("resample", c, kernel_size=3)),
}


def ahr(module: nn.Module) -> tuple[float, float]:
    (summary,) = measure_aliasing(module, waves=("sine",), amplitudes=(0.8,)).summaries
    return summary.mean_ahr_db, summary.mean_of_db


def timed(modules: list[nn.Module], x: torch.Tensor, repeats: int) -> list[float]:
    def step(m: nn.Module):
        def run() -> None:
            x.grad = None
            m.zero_grad(set_to_none=True)
            m(x).sum().backward()
        return run
    times = measure_round_robin([step(m) for m in modules], repeats=repeats, warmup=1)
    return [1e3 * statistics.median(t) for t in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--name", default="aliasing_cpu_1thread")
    args = parser.parse_args()
    torch.set_num_threads(1)
    load = os.getloadavg()[0]
    rows = []
    subpixel = make_upsampler("subpixel", C, C, 2, kernel_size=3)
    x_low = torch.randn(B, C, T // 2, requires_grad=True)
    x_act = torch.randn(B, C, T, requires_grad=True)
    for group, table, x in (("activation", ACTIVATIONS, x_act), ("upsampler", UPSAMPLERS, x_low)):
        names = list(table)
        costs = timed([table[n][1](C) for n in names] + [subpixel], x, args.repeats)
        for name, cost in zip(names, costs[:-1], strict=True):
            mean, mean_of_db = ahr(table[name][1](1))
            rows.append({"group": group, "module": name, "gu_et_al_db": table[name][0],
                         "mean_ahr_db": mean, "mean_of_db": mean_of_db, "ms": cost,
                         "subpixel_ms": costs[-1]})
            print(rows[-1], flush=True)
    machine = machine_description()
    machine["load_average_before"] = load
    RESULTS.mkdir(exist_ok=True)
    atomic_write_text(RESULTS / f"{args.name}.json",
                      json.dumps({"machine": machine, "rows": rows}, indent=2))
    lines = ["# Aliasing (AHR) and cost", "",
             "AHR: sines at amplitude 0.8, f0 0.05-0.40 of the rate (15), prime period 4099, "
             "float32, one channel; mean = power mean over f0, lower is better. Cost: "
             f"forward + backward, one thread, median of {args.repeats} interleaved runs, "
             f"activations at B={B} C={C} T={T}, upsamplers x2 C={C} at B={B} T={T // 2}; "
             f"subpixel = SubPixel1d({C}, {C}, 2, 3) at B={B} T={T // 2}. "
             f"{machine['processor']}, load average {load:.1f} before, "
             f"{machine['load_average_1min']:.1f} after.", "",
             "| module | Gu et al. (dB) | AHR, power mean (dB) | AHR, mean of dB | ms | "
             "subpixel ms |", "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        gu = "" if r["gu_et_al_db"] is None else f"{r['gu_et_al_db']:.1f}"
        lines.append(f"| {r['module']} | {gu} | {r['mean_ahr_db']:.1f} | "
                     f"{r['mean_of_db']:.1f} | {r['ms']:.0f} | {r['subpixel_ms']:.0f} |")
    atomic_write_text(RESULTS / f"{args.name}.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
