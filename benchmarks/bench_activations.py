"""Write benchmarks/results/<name>.md and .json: the anti-aliased activation
against alias-free-torch's ``Activation1d`` (BigVGAN's), forward + backward,
medians of interleaved runs, and the ratio of each round's pair.

Two comparisons per activation:

* **same activation** (the issue's bar): ``AntiAliasedActivation1d.bigvgan(act)``
  against ``Activation1d(act)`` with one and the same module ``act`` (our
  ``Snake1d``/``SnakeBeta1d``/``LeakyReLU``): the resampling's cost alone differs;
* **as users run it**: against ``Activation1d`` around BigVGAN's own Snake code
  (written out in plain operations here, ``x + 1/(b + 1e-9) sin^2(a x)`` with
  ``a = exp(log_alpha)``), the configuration a BigVGAN user has today.

And our default filter (53 taps) for its cost beside the preset's 12.

    python benchmarks/bench_activations.py [--repeats N] [--threads N] [--name NAME]
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
from upsamplers.activations import AntiAliasedActivation1d, Snake1d, SnakeBeta1d
from upsamplers.timing import machine_description, measure_round_robin

RESULTS = Path(__file__).resolve().parent / "results"
SHAPE = (4, 128, 8192)  # the issue's: BigVGAN's configuration, one thread


class PlainSnakeBeta(nn.Module):
    """BigVGAN's SnakeBeta with ``alpha_logscale=True``, in the plain operations its
    code uses (for the "as users run it" column)."""

    def __init__(self, channels: int, beta: bool = True) -> None:
        super().__init__()
        self.log_alpha = nn.Parameter(torch.zeros(channels))
        self.log_beta = nn.Parameter(torch.zeros(channels)) if beta else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        alpha = self.log_alpha.exp().view(1, -1, 1)
        beta = alpha if self.log_beta is None else self.log_beta.exp().view(1, -1, 1)
        return x + (1.0 / (beta + 1e-9)) * torch.pow(torch.sin(x * alpha), 2)


def step(module: nn.Module, x: torch.Tensor, grad: torch.Tensor):
    def run() -> None:
        module.zero_grad(set_to_none=True)
        x.grad = None
        module(x).backward(grad)
    return run


def cases(channels: int) -> list[tuple[str, str, nn.Module, nn.Module]]:
    from alias_free_torch import Activation1d

    out = []
    for name, make in (("LeakyReLU(0.1)", lambda: nn.LeakyReLU(0.1)),
                       ("Snake1d", lambda: Snake1d(channels)),
                       ("SnakeBeta1d", lambda: SnakeBeta1d(channels))):
        act = make()
        out.append((name, "same activation", AntiAliasedActivation1d.bigvgan(act),
                    Activation1d(act)))
    for name, beta in (("Snake", False), ("SnakeBeta", True)):
        ours = Snake1d(channels) if not beta else SnakeBeta1d(channels)
        out.append((f"{name} (BigVGAN's code)", "as users run it",
                    AntiAliasedActivation1d.bigvgan(ours),
                    Activation1d(PlainSnakeBeta(channels, beta))))
    act = SnakeBeta1d(channels)
    out.append(("SnakeBeta1d", "our default filter (53 taps)", AntiAliasedActivation1d(act),
                Activation1d(act)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--name", default="activations_cpu_1thread")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    b, c, t = SHAPE
    x = torch.randn(b, c, t, requires_grad=True)
    grad = torch.randn(b, c, t)
    rows = []
    load_before = os.getloadavg()[0]
    for name, comparison, ours, theirs in cases(c):
        with torch.no_grad():
            gap = (ours(x) - theirs(x))[..., 16:-16].abs().max().item()
        times = measure_round_robin([step(ours, x, grad), step(theirs, x, grad)],
                                    repeats=args.repeats, warmup=2)
        ratios = [b_ / a_ for a_, b_ in zip(*times, strict=True)]
        rows.append({"activation": name, "comparison": comparison,
                     "ours_ms": 1e3 * statistics.median(times[0]),
                     "alias_free_ms": 1e3 * statistics.median(times[1]),
                     "speedup_median_of_rounds": statistics.median(ratios),
                     "speedup_min": min(ratios), "max_abs_difference": gap})
        print(rows[-1], flush=True)
    machine = machine_description()
    machine["load_average_before"] = load_before
    RESULTS.mkdir(exist_ok=True)
    atomic_write_text(RESULTS / f"{args.name}.json",
                      json.dumps({"shape": SHAPE, "machine": machine, "rows": rows}, indent=2))
    lines = [f"# Anti-aliased activation vs alias-free-torch Activation1d, B={b} C={c} T={t}",
             "", f"forward + backward, {args.threads} thread(s), median of {args.repeats} "
             f"interleaved rounds; {machine['processor']}, torch {machine['torch']}, "
             f"load average {load_before:.1f} before, {machine['load_average_1min']:.1f} after.",
             "", "| activation | comparison | ours (ms) | alias-free-torch (ms) | speed-up "
             "(median of rounds) | slowest round | max difference (interior) |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['activation']} | {r['comparison']} | {r['ours_ms']:.0f} | "
                     f"{r['alias_free_ms']:.0f} | {r['speedup_median_of_rounds']:.2f}x | "
                     f"{r['speedup_min']:.2f}x | {r['max_abs_difference']:.1e} |")
    atomic_write_text(RESULTS / f"{args.name}.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
