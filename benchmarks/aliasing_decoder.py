"""Time the default ``upsamplers aliasing`` on the 20 M-parameter look-alike decoder
(``tests/lookalikes.py:hifigan_decoder``: weight-normed ConvTranspose1d stages by
8, 8, 2, 2, Snake, HiFi-GAN residual blocks, 128 latent channels), as a user runs
it: the command in a subprocess, wall time, CPU time (user + system) and the load
average before and after. Writes benchmarks/results/NAME.md and NAME.json.

    python benchmarks/aliasing_decoder.py [--name aliasing_decoder] [-- extra options]

The figure is the machine's, shared or not: read it with its load average.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from upsamplers._io import atomic_write_text
from upsamplers.timing import machine_description

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
TARGET = f"{ROOT / 'tests' / 'lookalikes.py'}:hifigan_decoder"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="aliasing_decoder")
    parser.add_argument("extra", nargs="*", help="options passed to upsamplers aliasing")
    args = parser.parse_args()
    command = [sys.executable, "-m", "upsamplers", "aliasing", TARGET, "--json", *args.extra]
    load_before = os.getloadavg()
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    load_after = os.getloadavg()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"upsamplers aliasing failed ({done.returncode}): {done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    sine = next(s for s in report["summaries"] if s["wave"] == "sine" and s["amplitude"] == 0.8)
    result = {
        "command": " ".join(["upsamplers", "aliasing", "tests/lookalikes.py:hifigan_decoder",
                             *args.extra]),
        "machine": machine_description(), "cpus": os.cpu_count(),
        "load_before": load_before, "load_after": load_after, "wall_s": wall,
        "user_s": usage.ru_utime, "system_s": usage.ru_stime,
        "elapsed_in_report_s": report["elapsed_s"], "length": report["length"],
        "ratio": report["ratio"], "signals": len(report["measures"]),
        "contexts": sorted({m["context"] for m in report["measures"]}),
        "steady": report["steady"], "sine_0.8_mean_ahr_db": sine["mean_ahr_db"],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS / f"{args.name}.json", json.dumps(result, indent=2))
    load = ", ".join(f"{v:.2f}" for v in load_before)
    lines = [f"# `{result['command']}`", "",
             f"{result['machine']['processor']}, torch {result['machine']['torch']}; "
             f"{result['cpus']} CPUs; load average before {load}, after "
             + ", ".join(f"{v:.2f}" for v in load_after) + ".", "",
             "| wall (s) | user + system CPU (s) | signals | period N | contexts | sine 0.8 "
             "mean AHR (dB) |", "|---:|---:|---:|---:|---|---:|",
             f"| {wall:.1f} | {usage.ru_utime:.1f} + {usage.ru_stime:.1f} | {result['signals']} "
             f"| {result['length']} | {result['contexts']} | {sine['mean_ahr_db']:.2f} |"]
    atomic_write_text(RESULTS / f"{args.name}.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
