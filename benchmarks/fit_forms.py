"""Measure every exact form of the interpolation layers on random configurations,
fit the engine's cost model (``upsamplers.ops.plan.CPU_MODEL``) and check its
choices on configurations it was not fitted to.

    OMP_NUM_THREADS=1 python benchmarks/fit_forms.py --out benchmarks/results/forms_cpu_1thread

For each configuration (kind, C_in = C_out = C, factor, kernel, B, T) every
form the layer can run (folded, filtered, projected, naive) is timed forward +
backward, interleaved, median of repeats. The model's terms are the layer's
``form_costs()``; its coefficients come from non-negative least squares on the
relative error of the fit set. The held-out set (another seed) reports how far
the predictions are off and how much slower the chosen form is than the
fastest one measured; the crossovers table gives, for the benchmark layers, the
input steps (B x T) at which the choice changes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.optimize import nnls

from upsamplers._io import atomic_write_text
from upsamplers.bench import forward_backward_step
from upsamplers.layers import make_upsampler
from upsamplers.ops.plan import PLAIN_MARGIN, CostModel, FormCost, choose_form
from upsamplers.timing import cpu_name, measure_round_robin

FORMS = ("folded", "filtered", "projected", "naive")
TERMS = ("dense", "dense_rows", "depthwise", "interp", "moved")
#: The issue's shapes (B, C, T, factor, kind, K), always in the fit set.
NAMED = [(2, 32, 1024, 4, "linear", 3), (2, 32, 1024, 4, "nearest", 3),
         (2, 32, 1024, 8, "linear", 3), (1, 512, 256, 8, "linear", 3),
         (1, 512, 256, 8, "nearest", 3), (4, 128, 2048, 2, "linear", 3),
         (4, 128, 2048, 2, "nearest", 3), (1, 512, 256, 8, "sinc", 3),
         (4, 128, 2048, 2, "sinc", 3), (8, 64, 4096, 4, "nearest", 9),
         (8, 64, 4096, 4, "linear", 9), (8, 64, 4096, 4, "sinc", 9)]
#: Most multiply-adds (B * T * C * C * factor * K) of a random configuration.
MAX_WORK = 6e9


def random_configs(seed: int, count: int) -> list[tuple[int, int, int, int, str, int]]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        c = rng.choice([4, 8, 16, 32, 64, 128, 256, 512])
        r = rng.choice([2, 3, 4, 5, 8])
        kind = rng.choice(["nearest", "linear", "sinc"])
        k = rng.choice([1, 3, 5, 2 * r + 1, 4 * r])
        steps = rng.choice([64, 256, 1024, 4096, 16384, 65536])
        b = rng.choice([1, 2, 4, 8])
        t = max(1, steps // b)
        while b * t * c * c * r * max(k, 4) > MAX_WORK and t > 8:
            t //= 2
        out.append((b, c, t, r, kind, k))
    return out


def measure_config(config: tuple[int, int, int, int, str, int]) -> list[dict]:
    """Forward + backward medians (ms) of every form of one configuration; forms
    with over 6x the fewest multiply-adds are left out (they never win)."""
    b, c, t, r, kind, k = config
    probe = make_upsampler(kind, c, c, r, kernel_size=k)
    costs = probe.form_costs()
    fewest = min(cost.macs for cost in costs.values())
    forms = [f for f in FORMS if f in costs and costs[f].macs <= 6 * fewest]
    modules = [make_upsampler(kind, c, c, r, kernel_size=k, impl=f) for f in forms]
    x, grad = torch.randn(b, c, t), torch.randn(b, c, t * r)
    steps = [forward_backward_step(m, x, grad) for m in modules]
    start = time.perf_counter()
    steps[0]()
    once = time.perf_counter() - start
    repeats = 7 if once < 0.05 else (5 if once < 0.3 else 3)
    times = measure_round_robin(steps, repeats=repeats, warmup=1)
    return [{"B": b, "C": c, "T": t, "factor": r, "kind": kind, "K": probe.kernel_size,
             "form": f, "naive_exact": probe.naive_is_exact,
             "cost": dataclasses.asdict(costs[f]), "ms": 1e3 * statistics.median(ts)}
            for f, ts in zip(forms, times, strict=True)]


def features(row: dict) -> list[float]:
    cost, steps = row["cost"], row["B"] * row["T"]
    return ([steps * cost[term] for term in TERMS] + [cost["weight"], float(cost["ends"])]
            + [float(row["form"] == f) for f in FORMS])


def fit(rows: list[dict]) -> CostModel:
    a = np.array([features(r) for r in rows])
    y = np.array([r["ms"] / 1e3 for r in rows])
    scale = a.max(axis=0)
    scale[scale == 0] = 1.0
    coef, _ = nnls(a / scale / y[:, None], np.ones_like(y))
    coef = coef / scale
    n = len(TERMS)
    values = {term: float(f"{v:.2g}") for term, v in zip(TERMS, coef[:n], strict=True)}
    calls = {f: float(f"{v:.2g}") for f, v in zip(FORMS, coef[n + 2:], strict=True)}
    return CostModel(**values, weight=float(f"{coef[n]:.2g}"), ends=float(f"{coef[n + 1]:.2g}"),
                     calls=calls, default_call=max(calls.values()),
                     name=f"fit_forms.py, {cpu_name()}")


def evaluate(rows: list[dict], model: CostModel) -> dict:
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        key = (row["B"], row["C"], row["T"], row["factor"], row["kind"], row["K"])
        groups.setdefault(key, []).append(row)
    errors, picks = [], []
    for key, group in groups.items():
        predicted = {r["form"]: model.seconds(r["form"], FormCost(**r["cost"]), r["B"], r["T"])
                     for r in group}
        measured = {r["form"]: r["ms"] for r in group}
        errors += [abs(float(np.log(1e3 * predicted[f] / measured[f]))) for f in measured]
        allowed = [f for f in measured if f != "naive" or group[0]["naive_exact"]]
        # the engine's choice among the forms measured (the plain composition preferred
        # unless another is predicted cheaper by PLAIN_MARGIN)
        pick = choose_form({r["form"]: FormCost(**r["cost"]) for r in group
                            if r["form"] in allowed}, key[0], key[2], model, prefer="naive")
        best = min(allowed, key=measured.get)
        picks.append({"config": key, "pick": pick, "pick_ms": measured[pick], "best": best,
                      "best_ms": measured[best], "loss": measured[pick] / measured[best],
                      "naive_ms": measured.get("naive"), "naive_exact": group[0]["naive_exact"]})
    return {"median_error": float(np.median(errors)), "p90_error": float(np.quantile(errors, 0.9)),
            "picks": picks}


def crossovers(model: CostModel) -> list[str]:
    """For the benchmark layers, the input steps (B x T) at which the choice changes."""
    lines = []
    for kind, c, r, k in [("nearest", 32, 4, 3), ("linear", 32, 4, 3), ("linear", 32, 8, 3),
                          ("nearest", 512, 8, 3), ("linear", 128, 2, 3), ("nearest", 64, 4, 9),
                          ("linear", 64, 4, 9), ("sinc", 128, 2, 3), ("sinc", 512, 8, 3),
                          ("sinc", 64, 4, 9), ("sinc", 32, 4, 9)]:
        layer = make_upsampler(kind, c, c, r, kernel_size=k)
        previous, changes = None, []
        costs = layer.form_costs()
        if not layer.naive_is_exact:
            del costs["naive"]
        for steps in [2 ** e for e in range(4, 23)]:
            form = choose_form(costs, 1, steps, model, prefer="naive")
            if form != previous:
                changes.append(f"{form} from {steps}" if previous else f"{form}")
                previous = form
        lines.append(f"| {kind} C={c} x{r} K={layer.kernel_size} | {', '.join(changes)} |")
    return lines


def report(model: CostModel, fitted: dict, held: dict, machine: str) -> str:
    lines = [f"# The engine's cost model, fitted and checked ({machine})", "",
             "Forward + backward, float32, one thread; medians of interleaved repeats. "
             "Error: |log(predicted / measured)|; loss: measured time of the chosen form "
             "over the fastest form measured (naive only where it is exact); the choice is "
             f"the engine's (the plain composition unless another form is predicted "
             f"{PLAIN_MARGIN:.0%} cheaper).", "",
             "```", repr(model), "```", "",
             "| set | configurations | median error | 90th pct error | chosen within 5 % "
             "| worst loss | chosen slower than an exact naive by over 5 % |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, result in (("fit", fitted), ("held out", held)):
        picks = result["picks"]
        if not picks:
            continue
        behind = sum(p["naive_exact"] and p["naive_ms"] is not None
                     and p["naive_ms"] < 0.95 * p["pick_ms"] for p in picks)
        lines.append(f"| {name} | {len(picks)} | {np.exp(result['median_error']):.2f}x | "
                     f"{np.exp(result['p90_error']):.2f}x | "
                     f"{sum(p['loss'] < 1.05 for p in picks)} of {len(picks)} | "
                     f"{max(p['loss'] for p in picks):.2f}x | "
                     f"{behind} |")
    lines += ["", "Crossovers (B x T at which `impl=\"polyphase\"` changes form, CPU model):", "",
              "| layer | form by input steps |", "|---|---|", *crossovers(model), "",
              "| set | B, C, T, factor, kind, K | chosen | ms | fastest | ms | naive ms |",
              "|---|---|---|---:|---|---:|---:|"]
    for name, result in (("fit", fitted), ("held out", held)):
        for p in result["picks"]:
            naive = "" if p["naive_ms"] is None else f"{p['naive_ms']:.2f}"
            lines.append(f"| {name} | {', '.join(map(str, p['config']))} | {p['pick']} | "
                         f"{p['pick_ms']:.2f} | {p['best']} | {p['best_ms']:.2f} | {naive} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", type=int, default=40, help="random fit configurations")
    parser.add_argument("--held-out", type=int, default=24, help="random held-out configurations")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--from-json", help="refit from a previous run's JSON, no timing")
    parser.add_argument("--out", help="write OUT.md and OUT.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.from_json:
        data = json.loads(Path(args.from_json).read_text())
        fit_rows, held_rows = data["fit"], data["held_out"]
    else:
        fit_rows, held_rows = [], []
        sets = ((fit_rows, NAMED + random_configs(args.seed, args.configs)),
                (held_rows, random_configs(args.seed + 1000, args.held_out)))
        for rows, configs in sets:
            for i, config in enumerate(configs):
                rows += measure_config(config)
                print(f"[{i + 1}/{len(configs)}] {config}", file=sys.stderr, flush=True)
    model = fit(fit_rows)
    fitted, held = evaluate(fit_rows, model), evaluate(held_rows, model)
    machine = data["machine"] if args.from_json else (
        f"{cpu_name()}, {os.cpu_count()} CPUs, {torch.get_num_threads()} thread, "
        f"torch {torch.__version__}, load average "
        f"{' '.join(f'{v:.1f}' for v in os.getloadavg())} at the end")
    text = report(model, fitted, held, machine)
    print(text)
    if args.out:
        atomic_write_text(Path(args.out + ".md"), text)
        atomic_write_text(Path(args.out + ".json"), json.dumps(
            {"machine": machine, "model": dataclasses.asdict(model), "fit": fit_rows,
             "held_out": held_rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
