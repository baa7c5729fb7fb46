"""Time upsamplers.analysis.audit on a ~10M-parameter model at 44.1 kHz.

    python benchmarks/bench_audit.py [--repeats 3] [--seconds 4]

The model is the MelGAN-like generator of ``upsamplers.analysis.figures`` with
channels 768 -> 384 -> 192 -> 96 -> 48 (80 mel channels in, factors 8, 8, 2, 2,
residual blocks), run at 44.1 kHz output: every probe (ones, silence, noise,
tones) runs the model on ``seconds`` of output plus borders and analyses it; the
aliasing probe runs it on five sines of about as many output samples in all.
Prints a markdown table with the median wall-clock time.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from upsamplers.analysis import PROBES, audit
from upsamplers.analysis.figures import melgan_like


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = melgan_like(channels=(768, 384, 192, 96, 48))
    params = sum(p.numel() for p in model.parameters())
    times = []
    report = None
    for _ in range(args.repeats):
        start = time.perf_counter()
        report = audit(model, 44100.0, seconds=args.seconds)
        times.append(time.perf_counter() - start)
    assert report is not None
    print(f"CPU: {platform.processor() or platform.machine()}, {torch.get_num_threads()} "
          f"threads, torch {torch.__version__}")
    print()
    print("| model | parameters | sample rate | seconds per probe | probes | median audit (s) |"
          " runs (s) |")
    print("|---|---:|---:|---:|---:|---:|---|")
    print(f"| MelGAN-like 768-384-192-96-48 | {params / 1e6:.1f} M | 44100 | "
          f"{report.output_seconds:.2f} | {len(PROBES)} | {statistics.median(times):.1f} | "
          f"{', '.join(f'{t:.1f}' for t in times)} |")
    print()
    print("verdicts:", {k: v.status for k, v in report.verdicts.items()})


if __name__ == "__main__":
    main()
