"""Write benchmarks/results/NAME.md and NAME.json: every upsampler kind, forward +
backward, float32, CPU, on the judged shapes (see ``upsamplers.bench``), run
``--runs`` times (the goals must hold in every run).

    OMP_NUM_THREADS=1 python benchmarks/run_cpu.py --threads 1 --runs 2 --name cpu_1thread

On a machine with a CUDA GPU this script still times the CPU; the table names
the processor, the thread count and the load average it ran with.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from upsamplers._io import atomic_write_text
from upsamplers.bench import DEFAULT_SHAPES, goals, run_benchmark, to_markdown
from upsamplers.timing import machine_description

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--runs", type=int, default=2,
                        help="independent runs; the table shows the first, the goals all")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument("--name", default="cpu", help="file stem under benchmarks/results")
    parser.add_argument("--from-json", help="rebuild the table and goals from a previous "
                        "run's JSON, no timing")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    runs = json.loads(Path(args.from_json).read_text())["runs"] if args.from_json else []
    for run in range(0 if args.from_json else args.runs):
        details: dict = {}
        rows = run_benchmark(DEFAULT_SHAPES, repeats=args.repeats, warmup=args.warmup,
                             details=details, seed=run,
                             progress=lambda m, run=run: print(f"run {run + 1}: timing {m}",
                                                               flush=True))
        runs.append({"machine": machine_description(), "rows": rows,
                     "shuffle": details["shuffle"], "goals": goals(rows, details["shuffle"])})
    for run in runs:
        run["goals"] = goals(run["rows"], run["shuffle"])
    first = runs[0]
    table = to_markdown(first["rows"], first["machine"], first["shuffle"])
    for i, run in enumerate(runs[1:], start=2):
        load = run["machine"].get("load_average_1min")
        load_text = "" if load is None else f" (load average {load:.1f} at the end)"
        table += f"\nRun {i}{load_text}, goals:\n"
        table += "".join(f"- {g}\n" for g in run["goals"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS / f"{args.name}.md", table)
    atomic_write_text(RESULTS / f"{args.name}.json", json.dumps({"runs": runs}, indent=2))
    print(table)


if __name__ == "__main__":
    main()
