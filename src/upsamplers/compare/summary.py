"""The figures of a compare run gathered into its report: one row per variant
(its status, the mean and spread over the seeds of every metric, its rank and
ties, speed, tones and filtering), the per-seed results, the article's speed
claims checked on the measured step times, the published figures beside ours, a
recommendation and the reading (sentences computed from the figures).

The report is one JSON-ready dictionary (``report.json``); :mod:`.report`
renders it as markdown and HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from .._io import plain
from ..analysis import ToneMeasures
from ..health import FAILED_BELOW_DB
from ..scoring import METRIC_INFO, improvement_label
from ..timing import machine_description
from .aggregate import VariantSummary, higher_is_better, statistic
from .budget import EVALUATIONS
from .config import CompareConfig
from .generalisation import generalisation
from .published import published_comparison
from .results import StepTiming
from .variants import NAIVE_OF, REFERENCE, VARIANTS

PARITY = 1.25  # "at parity": step time within a factor 1.25 of subpixel's


def speed_claims(median: dict[str, float]) -> dict[str, Any]:
    """The article's speed claims, checked on the measured medians.

    * naive: subpixel and transposed each faster than every naive interpolation
      timed (``None`` when not all of them were timed);
    * parity: the ratio of every polyphase interpolation timed to subpixel, and
      whether it is within a factor :data:`PARITY`.
    """
    naive = {n: t for n, t in median.items() if n.endswith("-naive")}
    ref = median.get(REFERENCE)
    out: dict[str, Any] = {"naive_slower": None, "parity": {}}
    if naive and ref is not None and "transposed" in median:
        fast = max(ref, median["transposed"])
        out["naive_slower"] = bool(fast < min(naive.values()))
    if ref is not None:
        for name in NAIVE_OF:  # the polyphase interpolation kinds
            if name in median:
                ratio = median[name] / ref
                out["parity"][name] = {"ratio": ratio,
                                       "at_parity": bool(1 / PARITY <= ratio <= PARITY),
                                       "faster": bool(ratio < 1 / PARITY)}
    return out


CRITERION = ("a run has converged when its validation {metric} gained less than "
             "{plateau_db:g} dB over the last {fraction:.0%} of its steps (checked every "
             "{eval_every} steps from step {min_steps} on, on the first {eval_seconds:g} s of "
             "validation audio); a run whose budget ended while it still gained that much is "
             "improving")
TIMED_CRITERION = ("every run trains its whole planned budget (its learning-rate schedule "
                   "ends there) and evaluates itself {evaluations} times on the first "
                   "{eval_seconds:g} s of validation audio; it is converged when the last "
                   "{fraction:.0%} of its steps gained less than {plateau_db:g} dB of validation "
                   "{metric}, else improving")


def tone_stats(measures: Sequence[dict[str, Any] | None]) -> dict[str, dict[str, Any]] | None:
    """Every tone measure (:attr:`upsamplers.analysis.ToneMeasures.LINES`) over the
    seeds: the statistics of its level (``db``), the frequency most seeds found it
    at, and, when no seed has a figure, the first seed's reason (``note``);
    ``None`` when no seed was measured."""
    given = [m for m in measures if m]
    if not given:
        return None
    out = {}
    for name in ToneMeasures.LINES:
        lines = [m.get(name) or {} for m in given]
        found = [line["frequency_hz"] for line in lines if line.get("db") is not None]
        out[name] = {**statistic([line.get("db") for line in lines]).to_dict(),
                     "frequency_hz": max(set(found), key=found.count) if found else None,
                     "note": None if found else next((line.get("note") for line in lines
                                                      if line.get("note")), None)}
    return out


def _seed_record(run: Any) -> dict[str, Any]:
    """The per-seed figures a report row lists."""
    return {"seed": run.seed, "status": run.status, "train_status": run.train_status,
            "stopped_at": run.stopped_at, "steps": run.steps, "metrics": run.metrics,
            "cause": run.cause, "folder": run.folder}


def _row(summary: VariantSummary, timing: StepTiming | None) -> dict[str, Any]:
    """The table row of one trained variant: its seeds gathered."""
    first = summary.runs[0]
    step = timing.median_s.get(summary.variant) if timing else None
    ref = timing.median_s.get(REFERENCE) if timing else None
    failed = summary.status == "failed"
    attenuation = statistic([r.trained.attenuation_09_db for r in summary.runs])
    return {
        "variant": summary.variant, "kind": first.kind, "options": first.options,
        "model_options": VARIANTS[summary.variant].model_overrides,
        "description": first.description, "trained": True, "status": summary.status,
        "seeds": [_seed_record(r) for r in summary.runs],
        "failed_seeds": summary.count("failed"), "improving_seeds": summary.count("improving"),
        "stats": {m: st.to_dict() for m, st in summary.stats.items()},
        "improvement": {m: st.to_dict() for m, st in summary.improvement.items()},
        "rank": summary.rank, "ties": summary.ties,
        "parameters": first.parameters,
        "step_ms": step * 1e3 if step is not None else None,
        "step_ratio": step / ref if step is not None and ref else None,
        "real_time_factor": statistic([r.real_time_factor for r in summary.runs]).mean,
        "tones": None if failed else tone_stats([r.tones for r in summary.runs]),
        "tones_init": tone_stats([r.init.to_dict()["tones"] for r in summary.runs]),
        "attenuation_09_db": None if failed else attenuation.to_dict(),
        "ahr_db": None if failed else statistic([r.ahr_db for r in summary.runs]).to_dict(),
        "verdicts": {} if failed else first.trained.verdicts,
        "causes": [r.cause for r in summary.runs if r.cause],
        "files": first.files,
    }


def _timing_row(name: str, timing: StepTiming) -> dict[str, Any]:
    """A timing-only row (a naive form, or the reference when not trained)."""
    variant = VARIANTS[name]
    step = timing.median_s.get(name)
    ref = timing.median_s.get(REFERENCE)
    return {"variant": name, "kind": variant.kind, "options": variant.upsampler_options,
            "description": variant.description, "trained": False, "status": None,
            "parameters": timing.parameters.get(name),
            "step_ms": step * 1e3 if step is not None else None,
            "step_ratio": step / ref if step is not None and ref else None}


def _machine(device: torch.device) -> dict[str, Any]:
    """The machine fields of the report."""
    machine = machine_description()
    return {"platform": machine["platform"], "processor": machine["processor"],
            "cpus": machine["cpus"], "torch": machine["torch"], "device": str(device),
            "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
            "threads": machine["threads"]}


def _metric_info(names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Label, unit, direction and one sentence for every metric of the report."""
    return {name: {"label": METRIC_INFO[name].label, "unit": METRIC_INFO[name].unit,
                   "higher_is_better": METRIC_INFO[name].higher_is_better,
                   "description": METRIC_INFO[name].description} for name in names}


def build_report(config: CompareConfig, root: Path, timing: StepTiming | None,
                 summaries: Sequence[VariantSummary], clip_name: str, device: torch.device,
                 *, seconds: float, reused: Sequence[str] = (),
                 baseline: dict[str, Any] | None = None) -> dict[str, Any]:
    """All figures of a compare run, the rows of its table, the baseline
    (:func:`upsamplers.compare.baseline.baseline_scores`), the published figures
    beside ours, the recommendation and the reading."""
    metric = summaries[0].runs[0].metric
    names = list(summaries[0].runs[0].metrics)
    rows = [_row(s, timing) for s in summaries]
    if timing is not None:
        trained = {s.variant for s in summaries}
        rows += [_timing_row(n, timing) for n in timing.median_s if n not in trained]
    task = config.task_spec
    budget = (f"a {config.minutes:g}-minute job (every run the same steps, planned from the "
              "measured step times)" if config.minutes is not None
              else f"at most {config.max_steps} steps per run")
    report = {
        "task": {"name": task.name, "why": task.why, "model": config.model,
                 "model_options": config.model_options},
        # the aliasing measurement, when the task has one (its method, from a run)
        "aliasing": _aliasing_method(summaries),
        "settings": {**config.settings(), "data": str(root), "budget": budget},
        "criterion": (CRITERION if config.minutes is None else TIMED_CRITERION).format(
            metric=metric, plateau_db=config.plateau_db, fraction=config.plateau_fraction,
            eval_every=config.eval_every, min_steps=config.min_steps,
            eval_seconds=config.eval_seconds, evaluations=EVALUATIONS),
        "machine": _machine(device), "jobs": config.worker_count(device),
        "timing": timing.to_dict() if timing else None,
        "speed_claims": speed_claims(timing.median_s) if timing else None,
        "held_out_clip": clip_name, "metric": metric, "metric_info": _metric_info(names),
        "baseline": baseline,
        "rows": rows,
        "variants": {s.variant: {"status": s.status, "rank": s.rank, "ties": s.ties,
                                 "stats": {m: st.to_dict() for m, st in s.stats.items()},
                                 "seeds": [r.to_dict() for r in s.runs]} for s in summaries},
        # Pons et al.'s Table 1 is a separator's SDR: set beside a task that has it only
        "published": (published_comparison(summaries, metric, config) if task.published
                      else {"rows": [], "our_range_db": None}),
        "generalisation": generalisation(summaries, metric, config,
                                         (baseline or {}).get("test")),
        "curves": "curves.png", "seconds": seconds, "reused": list(reused),
        "work_seconds": _work_seconds(timing, summaries),
    }
    report["recommendation"] = recommendation(report)
    report["reading"] = reading(report)
    return plain(report)


def _aliasing_method(summaries: Sequence[VariantSummary]) -> str | None:
    """How the runs' AHR was measured (``None`` when no run measured it)."""
    return next((r.aliasing["method"] for s in summaries for r in s.runs
                 if r.aliasing is not None), None)


def _work_seconds(timing: StepTiming | None, summaries: Sequence[VariantSummary]
                  ) -> float | None:
    """Timing phase plus every run's wall time, whichever invocation ran them
    (``None`` if one of them was not recorded)."""
    parts = [timing.seconds if timing else None] + [r.wall_seconds for s in summaries
                                                    for r in s.runs]
    return None if any(p is None for p in parts) else float(sum(parts))


def stat_text(stats: dict[str, Any] | None, unit: str = "dB") -> str:
    """``mean +- spread unit`` (the spread when there are several seeds)."""
    if not stats or stats.get("mean") is None:
        return "n/a"
    text = f"{stats['mean']:.2f}"
    if stats.get("spread") is not None:
        text += f" ± {stats['spread']:.2f}"
    return f"{text} {unit}".rstrip()


def _by_rank(rows: Sequence[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    """The ranked rows, by rank, and within a rank best mean first."""
    sign = 1.0 if higher_is_better(metric) else -1.0
    return sorted((r for r in rows if r["rank"] is not None),
                  key=lambda r: (r["rank"], -sign * r["stats"][metric]["mean"]))


def _not_final(rows: Sequence[dict[str, Any]]) -> str:
    """The sentence on the variants that are not ranked, and why."""
    parts = []
    for row in rows:
        seeds = len(row["seeds"])
        if row["status"] == "failed":
            causes = "; ".join(dict.fromkeys(
                f"{c.get('failure', 'training failed')}"
                + (f" ({c['summary']})" if c.get("summary") else "") for c in row["causes"]))
            parts.append(f"{row['variant']} failed with {row['failed_seeds']} of {seeds} seeds "
                         f"({causes})")
        elif row["status"] == "not learned":
            parts.append(f"{row['variant']} has not learned its task "
                         f"({_learned_text(row)})")
        else:
            parts.append(f"{row['variant']} was still improving when the budget ended with "
                         f"{row['improving_seeds']} of {seeds} seeds (its figure is not final)")
    return "Not ranked: " + "; ".join(parts) + "."


def _learned_text(row: dict[str, Any]) -> str:
    """Why a variant is ``not learned``: its improvement over the baseline, seed by
    seed, and the 95 % interval of its mean."""
    metric = next(iter(row["improvement"]), None)
    gain = row["improvement"].get(metric) if metric else None
    if not gain or gain["mean"] is None:
        return "no finite improvement over the baseline"
    values = ", ".join("n/a" if v is None else f"{v:+.2f}" for v in gain["values"])
    text = f"{metric} improvement over the baseline per seed: {values}"
    if gain["ci95"] is not None:
        low, high = gain["mean"] - gain["ci95"], gain["mean"] + gain["ci95"]
        text += f"; 95 % interval of the mean [{low:+.2f}, {high:+.2f}]"
    return text


def _artifact_pick(rows: Sequence[dict[str, Any]]) -> str:
    """The sentence that recommends from artifacts and speed alone (when no variant
    learned its task): the fastest of those that pass the tonal audit."""
    healthy = [r for r in rows if r["status"] != "failed"]
    if not healthy:
        return "Every variant failed: nothing to recommend."
    clean = [r for r in healthy if r["verdicts"].get("tonal") != "fail"]
    pool = clean or healthy
    pick = min(pool, key=lambda r: (r["step_ratio"] is None, r["step_ratio"] or 0.0))
    text = f"On artifacts and speed alone, {pick['variant']}"
    if clean:
        text += " passes the tonal audit after training"
        if len(clean) > 1:
            text += " and is the fastest of those that do"
    else:
        text += " is the fastest (every variant fails the tonal audit)"
    if pick["step_ratio"] is not None:
        text += f" ({pick['step_ratio']:.2f}x subpixel's step time)"
    return text + "."


def recommendation(report: dict[str, Any]) -> str:
    """A paragraph computed from the figures: which variant to use, why, and what
    the run cannot say."""
    metric = report["metric"]
    unit = report["metric_info"][metric]["unit"]
    rows = [r for r in report["rows"] if r["trained"]]
    ranked = _by_rank(rows, metric)
    others = [r for r in rows if r["rank"] is None]
    baseline = report.get("baseline")
    if baseline and rows and all(r["status"] in ("not learned", "failed") for r in rows):
        return (f"No quality verdict from this run: no variant learned its task, none beats "
                f"the baseline ({baseline['name']}, {metric} "
                f"{_number(baseline['metrics'].get(metric))} {unit}) on every seed with a "
                f"95 % interval above it. " + _not_final(others) + " "
                + _artifact_pick(rows) + " Train longer (--minutes) or on more data before "
                "reading the quality figures.")
    if not ranked:
        statuses = ", ".join(f"{r['variant']} {r['status']}" for r in rows)
        return (f"No recommendation from this run: no variant can be ranked ({statuses}). "
                + _not_final(others) + " Give the runs more steps (--steps) and run again; "
                "finished runs are reused.")
    best = [r for r in ranked if r["rank"] == 1]
    top = best + [r for r in ranked if r not in best
                  and any(r["variant"] in b["ties"] for b in best)]
    clean = [r for r in top if r["verdicts"].get("tonal") != "fail"]
    pool = clean or top
    pick = min(pool, key=lambda r: (r["step_ratio"] is None, r["step_ratio"] or 0.0))
    seeds = len(pick["seeds"])
    text = f"Use {pick['variant']}: "
    if len(top) > 1:
        text += (f"{', '.join(r['variant'] for r in top)} tie for the best validation {metric} "
                 f"(their means differ by less than their seed spreads; "
                 f"{pick['variant']}: {stat_text(pick['stats'][metric], unit)} over {seeds} "
                 "seeds)")
        toned = [r["variant"] for r in top if r not in clean]
        if clean and toned:
            text += (f"; {', '.join(toned)} fail the tonal audit after training, and "
                     + ("of the others it trains fastest" if len(pool) > 1 else "it does not"))
        elif len(pool) > 1:
            text += "; of those it trains fastest"
        if pick["step_ratio"] is not None and (len(pool) > 1 or toned):
            text += f" ({pick['step_ratio']:.2f}x subpixel's step time)"
    else:
        text += (f"it has the best validation {metric} "
                 f"({stat_text(pick['stats'][metric], unit)} over {seeds} seeds), "
                 "outside the seed spread of every other ranked variant")
    if pick["verdicts"].get("tonal") == "fail":
        text += "; but its audit finds tonal artifacts after training (see the tone columns)"
    text += "."
    gain = (pick.get("improvement") or {}).get(metric)
    if baseline and gain and gain.get("mean") is not None:
        interval = f" ± {gain['ci95']:.2f}" if gain.get("ci95") is not None else ""
        text += (f" It beats the baseline ({baseline['name']}) by {gain['mean']:+.2f}{interval} "
                 f"{unit} of {metric} ({improvement_label(metric)}, 95 % interval).")
    best_mean = ranked[0]["stats"][metric]["mean"]
    if unit == "dB" and report["metric_info"][metric]["higher_is_better"] and best_mean < 0:
        text += (f" Every ranked variant's {metric} is below 0 dB: at this budget the models "
                 "barely do the task, so the upsampler's part in the result is small.")
    if len(ranked) > 1:
        means = [r["stats"][metric]["mean"] for r in ranked]
        text += (f" The ranked variants span {max(means) - min(means):.2f} {unit} of "
                 f"{metric}.")
    still = [r for r in ranked if r["status"] == "improving"]
    if still:
        text += (f" Provisional: {', '.join(r['variant'] for r in still)} "
                 f"{'was' if len(still) == 1 else 'were'} still improving when the budget "
                 "ended (the second half of a run gained more than the plateau criterion "
                 "allows), so a longer budget (--minutes) may move the figures.")
    if others:
        text += " " + _not_final(others)
    return text


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _speed_lines(report: dict[str, Any]) -> list[str]:
    """The article's speed claims, stated as measured."""
    rows = report["rows"]
    timed = {r["variant"]: r["step_ratio"] for r in rows if r["step_ratio"] is not None}
    if not timed:
        return []
    fastest = min(timed, key=timed.__getitem__)
    slowest = max(timed, key=timed.__getitem__)
    lines = [f"Training step time: fastest {fastest} ({timed[fastest]:.2f}x subpixel), "
             f"slowest {slowest} ({timed[slowest]:.2f}x subpixel)."]
    claims = report["speed_claims"] or {"naive_slower": None, "parity": {}}
    naive = {n: timed[n] for n in timed if n.endswith("-naive")}
    if claims["naive_slower"] is not None:
        listed = ", ".join(f"{n} {v:.2f}x" for n, v in naive.items())
        transposed = timed.get("transposed")
        holds = "holds" if claims["naive_slower"] else "does NOT hold"
        lines.append(f"The article's speed ranking {holds} here: subpixel (1.00x) and "
                     f"transposed ({transposed:.2f}x) against naive interpolation ({listed}).")
    for name, p in claims["parity"].items():
        if p["at_parity"]:
            state = f"at parity with subpixel (within {PARITY:g}x)"
        elif p["faster"]:
            state = "faster than subpixel"
        else:
            state = f"NOT at parity with subpixel (slower by more than {PARITY:g}x)"
        lines.append(f"Polyphase {name} interpolation: {p['ratio']:.2f}x subpixel's step time, "
                     f"{state}.")
    return lines


def _quality_line(report: dict[str, Any]) -> str | None:
    metric = report["metric"]
    unit = report["metric_info"][metric]["unit"]
    ranked = _by_rank([r for r in report["rows"] if r["trained"]], metric)
    if not ranked:
        return None
    ranks = [r["rank"] for r in ranked]
    parts = [f"#{r['rank']}{'=' if ranks.count(r['rank']) > 1 or r['ties'] else ''} "
             f"{r['variant']} ({stat_text(r['stats'][metric], unit)})" for r in ranked]
    still = " (* still improving: provisional)" if any(
        r["status"] == "improving" for r in ranked) else ""
    parts = [p + ("*" if r["status"] == "improving" else "")
             for p, r in zip(parts, ranked, strict=True)]
    return (f"Ranked variants by validation {metric} (mean ± spread over seeds; = marks a "
            f"tie, a difference inside the seed spreads){still}: " + ", ".join(parts) + ".")


def _published_line(report: dict[str, Any]) -> str | None:
    pub = report["published"]
    if not pub["rows"] or pub["our_range_db"] is None:
        return None
    return (f"Pons et al. (2021, Table 1) rank {' > '.join(pub['published_order'])} "
            f"(SDR range {pub['published_range_db']:.2f} dB); here, by {pub['metric']}: "
            f"{' > '.join(pub['our_order'])} (range {pub['our_range_db']:.2f} dB), in a "
            "different setting (listed under the table).")


def _aliasing_line(report: dict[str, Any], rows: Sequence[dict[str, Any]]) -> str | None:
    """The variants by the AHR of their trained models, lowest (least aliasing) first."""
    if not report.get("aliasing"):
        return None
    measured = [r for r in rows if (r.get("ahr_db") or {}).get("mean") is not None]
    if not measured:
        return None
    measured.sort(key=lambda r: r["ahr_db"]["mean"])
    return ("Aliasing of the trained models, AHR (aliased-to-harmonic ratio; lower is better, "
            "mean ± spread over seeds): "
            + ", ".join(f"{r['variant']} {stat_text(r['ahr_db'])}" for r in measured) + ".")


def reading(report: dict[str, Any]) -> list[str]:
    """Sentences computed from the figures: quality and ties, statuses, speed (the
    article's claims, stated as measured), tones, filtering, published figures."""
    rows = [r for r in report["rows"] if r["trained"]]
    lines = [line for line in (_quality_line(report),) if line]
    unranked = [r for r in rows if r["rank"] is None]
    if unranked:
        lines.append(_not_final(unranked))
    if any(r["status"] == "failed" for r in rows):
        lines.append(f"A failed run is one whose validation output is more than "
                     f"{FAILED_BELOW_DB:g} dB below the target's RMS, exactly zero, or "
                     "non-finite; a failed variant gets no artifact verdict.")
    lines += _speed_lines(report)
    healthy = [r for r in rows if r["status"] != "failed"]
    toned = [r["variant"] for r in healthy if r["verdicts"].get("tonal") == "fail"]
    if healthy:
        lines.append("Tonal artifacts after training (audit fail): " + ", ".join(toned) + "."
                     if toned else "No variant that trained fails the tonal audit after "
                     "training.")
        filt = [r for r in healthy if r["attenuation_09_db"] and
                r["attenuation_09_db"]["mean"] is not None]
        if filt:
            key = lambda r: r["attenuation_09_db"]["mean"]  # noqa: E731
            most, least = min(filt, key=key), max(filt, key=key)
            lines.append(f"Filtering at 0.9 of the input Nyquist: from {key(least):.1f} dB "
                         f"({least['variant']}) to {key(most):.1f} dB ({most['variant']}).")
        ahr = _aliasing_line(report, healthy)
        if ahr:
            lines.append(ahr)
    published = _published_line(report)
    if published:
        lines.append(published)
    return lines
