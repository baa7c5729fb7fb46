"""Write benchmarks/results/cpu.md and cpu.json: every upsampler kind, forward +
backward, float32, CPU, three shapes (see ``upsamplers.bench``).

    python benchmarks/run_cpu.py [--repeats N] [--threads N]

On a machine with a CUDA GPU this script still times the CPU; the table names
the processor and the thread count it ran with.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from upsamplers.bench import DEFAULT_SHAPES, goals, run_benchmark, to_markdown
from upsamplers.timing import machine_description

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument("--name", default="cpu", help="file stem under benchmarks/results")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    details: dict = {}
    rows = run_benchmark(DEFAULT_SHAPES, repeats=args.repeats, warmup=args.warmup,
                         details=details, progress=lambda m: print(f"timing {m}", flush=True))
    machine = machine_description()
    table = to_markdown(rows, machine, details["shuffle"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.md").write_text(table)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(
        {"machine": machine, "rows": rows, "shuffle": details["shuffle"],
         "goals": goals(rows, details["shuffle"])}, indent=2))
    print(table)


if __name__ == "__main__":
    main()
