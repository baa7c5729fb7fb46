"""The reports of :func:`upsamplers.compare.compare`: ``report.md``, ``report.json``
and ``report.html``, all rendered from one JSON-ready report dictionary (built by
:func:`upsamplers.compare.build_report`), so the three agree.

Cells: ``-`` for a figure that was not measured (a timing-only row is not
trained; a failed variant gets no artifact figure), ``n/a`` for one measured but
undefined (e.g. no finite value). Figures over seeds are ``mean ± spread`` (the
sample standard deviation over the seeds).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from .._io import atomic_write_text
from ..health import FAILED_BELOW_DB
from ..scoring import improvement_label
from .generalisation import test_section
from .summary import stat_text
from .tones import TONE_COLUMNS

# the columns every report has, before the metric and tone columns
HEAD = (("variant", "variant"), ("status", "status"), ("rank", "rank"))
TAIL = (("parameters", "parameters"), ("step_ms", "train step (ms, median)"),
        ("step_ratio", "step vs subpixel"), ("real_time_factor", "inference RTF"))
FILTER = (("attenuation_09_db", "noise response at 0.9 Nyquist (dB re low band)"),)
# the column of a task that measures aliasing (report["aliasing"])
AHR = (("ahr_db", "AHR (dB, lower is better)"),)


# the tone measures the headline shows: the line on a constant input (the replica of
# an offset, what the article's tonal artifact is) and on the held-out recording (what
# a listener meets); the others are in the details table
HEADLINE_TONES = ("constant_db_re_rms", "audio_db_above_floor")


def _metric_title(name: str, info: dict[str, Any]) -> str:
    return (f"{name} ({info['unit']}" + ("" if info["higher_is_better"] else ", lower is better")
            + ")")


def _gain_title(report: dict[str, Any], name: str) -> str:
    return (f"{improvement_label(name)} ({report['metric_info'][name]['unit']} over "
            "the baseline, ± 95 % interval)")


def headline_columns(report: dict[str, Any]) -> list[tuple[str, str]]:
    """``(key, title)`` of the headline table, at most 10 columns: status, rank,
    the primary metric and its improvement over the baseline, speed, and the tone
    cells that decide (and the AHR when the task measures it)."""
    metric = report["metric"]
    tones = [(f"tone:{key}", title) for key, title, _ in TONE_COLUMNS if key in HEADLINE_TONES]
    gain = [(f"gain:{metric}", _gain_title(report, metric))] if report.get("baseline") else []
    ahr = AHR if report.get("aliasing") else ()
    return [*HEAD, (f"metric:{metric}", _metric_title(metric, report["metric_info"][metric])),
            *gain, ("step_ratio", "step vs subpixel"), *tones, *ahr]


def columns(report: dict[str, Any]) -> list[tuple[str, str]]:
    """``(key, title)`` of every column of the details table: every metric (primary
    first) and its improvement over the baseline, then speed, the aliasing (when
    measured), tones and filtering."""
    metrics = []
    for name, info in report["metric_info"].items():
        metrics.append((f"metric:{name}", _metric_title(name, info)))
        if report.get("baseline"):
            metrics.append((f"gain:{name}", _gain_title(report, name)))
    tones = [(f"tone:{key}", title) for key, title, _ in TONE_COLUMNS]
    ahr = AHR if report.get("aliasing") else ()
    return [("variant", "variant"), *metrics, *TAIL, *ahr, *tones, *FILTER]


def baseline_row(report: dict[str, Any]) -> dict[str, Any] | None:
    """The baseline as a table row (its figures in the metric columns, 0 in the
    improvement columns, ``-`` elsewhere), or ``None`` without a baseline."""
    baseline = report.get("baseline")
    if not baseline:
        return None
    return {"variant": f"baseline: {baseline['name']}", "baseline": True, "trained": False,
            "status": None, "parameters": None, "step_ms": None, "step_ratio": None,
            "metrics": baseline["metrics"]}


def explanations(report: dict[str, Any]) -> list[str]:
    """One sentence per column."""
    metric = report["metric"]
    lines = [
        "variants: " + "; ".join(f"{row['variant']}: {row['description']}"
                                 for row in report["rows"]) + ".",
        "status: `converged` when every seed's run reached its plateau; `improving` when a "
        "seed's budget ended while it still gained (its figure is not final); `not learned` "
        f"when a seed does not beat the baseline on {metric}, or the 95 % interval of the "
        "mean improvement reaches 0 (the model does not do its task: no quality verdict "
        f"rests on it); `failed` when a seed's validation output was more than "
        f"{FAILED_BELOW_DB:g} dB below the target's RMS, exactly zero, or non-finite.",
        f"rank: by the mean validation {metric} over seeds, of the variants that learned "
        "their task (converged or still improving; a ranking with an improving variant is "
        "provisional); `=` marks a tie (means closer than the sum of the seed spreads).",
    ]
    if report.get("baseline"):
        lines.append(f"baseline: {report['baseline']['name']}, the simplest non-learned "
                     "answer to the task, scored by the same scorer on the same validation "
                     "audio; an improvement column is a variant's figure minus the "
                     "baseline's (signed so that positive is better; mean over seeds ± the "
                     "half-width of its 95 % interval, Student's t).")
    for name, info in report["metric_info"].items():
        lines.append(f"{name}: {info['description']} (mean ± spread over seeds; "
                     f"{'higher' if info['higher_is_better'] else 'lower'} is better).")
    lines += [
        "train step: median time of one training step (forward, loss, backward, Adam), timed "
        "round-robin before training; step vs subpixel: its ratio to subpixel's.",
        "inference RTF: processing seconds per second of validation audio (below 1 is faster "
        "than real time), measured while the other workers trained.",
    ]
    if report.get("aliasing"):
        lines.append("AHR: the trained model's aliased-to-harmonic ratio, dB (lower is better; "
                     "Gu et al., 2025): the power of its output off the harmonics of a test "
                     "sine over the power on them, through the whole model (a vocoder: "
                     f"through its mel spectrogram and back); {report['aliasing']}; "
                     "mean ± spread over seeds. Above 0 dB the output misses the sine "
                     "itself: a vocoder that has not learnt to follow a steady sine's nearly "
                     "equal mel frames repeats every hop, lines at multiples of fs / hop that "
                     "no harmonic of the sine falls on.")
    lines += [f"{title}: {sentence}" for _, title, sentence in TONE_COLUMNS]
    lines.append("Tone columns: the lines at k * fs / hop (fs the output rate, hop the "
                 "model's total upsampling factor); silence, constant and noise go through the "
                 "upsampling part as the audit probes it, the clip through the whole model; "
                 "`none (why)`: no figure exists (an output exactly zero, a line below float "
                 "rounding, an exactly periodic output whose floor would be rounding noise).")
    lines.append("noise response at 0.9 Nyquist: the upsampling part's response to white "
                 "noise at 0.9 of the input Nyquist frequency re its response near DC "
                 "(filtering; 0 dB is flat).")
    return lines


def cell(row: dict[str, Any], key: str) -> str:
    """The text of one table cell (shared by the markdown and HTML tables)."""
    if key == "variant":
        return str(row["variant"])
    if row.get("baseline"):
        return _baseline_cell(row, key)
    if key == "status":
        return "-" if row["status"] is None else str(row["status"])
    if key == "parameters":
        return "-" if row["parameters"] is None else f"{row['parameters']:,}"
    if key in ("step_ms", "step_ratio"):
        value = row[key]
        return "-" if value is None else (f"{value:.1f}" if key == "step_ms"
                                          else f"{value:.2f}x")
    if not row["trained"]:
        return "-"
    if key == "rank":
        return ("-" if row["rank"] is None
                else f"{row['rank']}{'=' if row['ties'] else ''}")
    if key == "real_time_factor":
        return "n/a" if row[key] is None else f"{row[key]:.4f}"
    if key.startswith("metric:"):
        return stat_text(row["stats"].get(key.split(":", 1)[1]), "")
    if key.startswith("gain:"):
        return gain_text((row.get("improvement") or {}).get(key.split(":", 1)[1]))
    if key.startswith("tone:"):
        return "-" if row["status"] == "failed" else tone_cell(row["tones"], key[5:])
    if key in ("attenuation_09_db", "ahr_db"):
        return "-" if row["status"] == "failed" else stat_text(row[key], "")
    raise KeyError(key)


def _baseline_cell(row: dict[str, Any], key: str) -> str:
    if key.startswith("metric:"):
        value = row["metrics"].get(key.split(":", 1)[1])
        return "n/a" if value is None else f"{value:.2f}"
    if key.startswith("gain:"):
        return "0 (reference)"
    return "-"


def gain_text(gain: dict[str, Any] | None) -> str:
    """``+mean ± ci95`` of an improvement over the seeds (the 95 % interval's
    half-width when there are several seeds)."""
    if not gain or gain.get("mean") is None:
        return "n/a"
    text = f"{gain['mean']:+.2f}"
    if gain.get("ci95") is not None:
        text += f" ± {gain['ci95']:.2f}"
    return text


def tone_cell(tones: dict[str, Any] | None, name: str) -> str:
    """``mean ± spread @ frequency Hz`` of a tone measure over the seeds, or
    ``none (why)`` when no seed has a figure: no number is shown that is not a
    measurement."""
    line = (tones or {}).get(name)
    if line is None:
        return "n/a"
    if line["mean"] is None:
        return f"none ({line['note']})" if line.get("note") else "n/a"
    return f"{stat_text(line, '')} @ {line['frequency_hz']:.0f} Hz"


def _durations(report: dict[str, Any]) -> str:
    text = f"This invocation: {report['seconds']:.0f} s with {report['jobs']} worker(s)"
    if report["reused"]:
        text += f" ({len(report['reused'])} run(s) reused from an earlier invocation)"
    if report["work_seconds"] is not None:
        text += (f"; timing phase and every run (training, scoring, audits, files), summed: "
                 f"{report['work_seconds']:.0f} s")
    return text + "."


def table_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of both tables: the baseline first, then the variants."""
    first = baseline_row(report)
    return ([first] if first else []) + list(report["rows"])


def _table(report: dict[str, Any], cols: list[tuple[str, str]]) -> list[str]:
    lines = ["| " + " | ".join(title for _, title in cols) + " |",
             "|" + "|".join("---" for _ in cols) + "|"]
    for row in table_rows(report):
        lines.append("| " + " | ".join(cell(row, key).replace("|", "/") for key, _ in cols)
                     + " |")
    return lines


def _seed_table(report: dict[str, Any]) -> list[str]:
    metrics = list(report["metric_info"])
    lines = ["| variant | seed | status | stopped at step | budget | "
             + " | ".join(metrics) + " |", "|" + "---|" * (5 + len(metrics))]
    for row in report["rows"]:
        for seed in row.get("seeds", []):
            values = [("n/a" if seed["metrics"].get(m) is None else f"{seed['metrics'][m]:.2f}")
                      for m in metrics]
            lines.append(f"| {row['variant']} | {seed['seed']} | {seed['status']} | "
                         f"{seed['stopped_at']} | {seed['steps']} | " + " | ".join(values) + " |")
    return lines


def _published(report: dict[str, Any]) -> list[str]:
    pub = report["published"]
    if not pub["rows"]:
        return []
    lines = ["## Beside the published figures", "",
             f"{pub['source']}, beside this run's mean validation {pub['metric']}.", "",
             f"| variant | published {pub['published_metric']} | ours: {pub['metric']} | "
             "our status |", "|---|---|---|---|"]
    for row in pub["rows"]:
        ours = "n/a" if row["ours"] is None else f"{row['ours']:.2f}"
        lines.append(f"| {row['variant']} | {row['published']:.2f} | {ours} | {row['status']} |")
    lines += ["", "Differences of setting (the figures are not one experiment):", ""]
    lines += [f"- {line}" for line in pub["setting"]]
    return lines + [""]


def markdown(report: dict[str, Any]) -> str:
    """``report.md``: task, settings, machine, the table, the recommendation, the
    reading, the per-seed results, the published figures and the outputs."""
    m, s, task = report["machine"], report["settings"], report["task"]
    lines = [
        f"# Upsampler comparison: task `{task['name']}`", "",
        f"Task: {task['why']}.", "",
        f"Model `{task['model']}` ({json.dumps(task['model_options'])}) trained on `{s['data']}` "
        f"with {s['budget']} (batch {s['batch_size']} x {s['crop']} samples, lr "
        f"{s['lr']:g}, loss {s.get('loss') or 'l1'} + {s['stft_weight']:g} x STFT, "
        f"{s.get('schedule') or 'constant'} schedule with {s.get('warmup') or 0:.0%} warm-up, "
        f"weight average {s.get('ema') or 0:g}), seeds "
        f"{', '.join(str(x) for x in range(s['seed'], s['seed'] + s['seeds']))}; "
        f"{report['criterion']}. Validation split scored whole.", "",
        f"Machine: {m['processor']} ({m['cpus']} CPUs, {m['threads']} torch threads per "
        f"process), device {m['device']}" + (f" ({m['gpu']})" if m["gpu"] else "")
        + f", torch {m['torch']}. " + _durations(report), "",
        "## Recommendation", "", report["recommendation"], "",
        "## Results", "", *_table(report, headline_columns(report)), "",
        "## Details", "", *_table(report, columns(report)), "",
        *[f"- {line}" for line in explanations(report)], "",
        "## Reading", "", *[f"- {line}" for line in report["reading"]], "",
        "## Learning curves", "", f"![learning curves]({report['curves']})", "",
        "## Every seed", "", *_seed_table(report), "",
        *_published(report),
        *test_section(report),
        "## Outputs", "",
        "Spectrograms and audio of each variant's output (its first seed) on the held-out "
        f"clip ({report['held_out_clip']}) and on silence: see `report.html`, or the run "
        "folders `runs/<variant>/seed-<seed>/` (`clip.png`, `silence.png`, `clip.wav`, "
        "`silence.wav`).", "",
    ]
    return "\n".join(lines)


def _cards(report: dict[str, Any]) -> str:
    e = html.escape
    cards = ["<div class='card'><h3>reference (held-out clip)</h3>"
             "<img src='input_clip.png' alt='input spectrogram'>"
             "<audio controls preload='none' src='input_clip.wav'></audio></div>"]
    for row in report["rows"]:
        files = row.get("files") or {}
        if not files:
            continue
        cards.append(
            f"<div class='card'><h3>{e(row['variant'])} ({e(str(row['status']))})</h3>"
            f"<p>held-out clip</p><img src='{e(files['clip_png'])}' alt='clip spectrogram'>"
            f"<audio controls preload='none' src='{e(files['clip_wav'])}'></audio>"
            f"<p>silence</p><img src='{e(files['silence_png'])}' alt='silence spectrogram'>"
            f"<audio controls preload='none' src='{e(files['silence_wav'])}'></audio></div>")
    return "".join(cards)


def html_page(report: dict[str, Any]) -> str:
    """``report.html``: the markdown's text and tables, the learning curves, and
    every trained variant's spectrograms and audio players (relative paths)."""
    e = html.escape
    headline, details = _html_table(report, headline_columns(report)), _html_table(
        report, columns(report))
    intro = "".join(f"<p>{e(p)}</p>" for p in markdown(report).split("## Recommendation")[0]
                    .split("\n\n")[1:] if p.strip())
    notes = "".join(f"<li>{e(line)}</li>" for line in explanations(report))
    reading = "".join(f"<li>{e(line)}</li>" for line in report["reading"])
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Upsampler comparison</title>"
        "<style>body{font-family:sans-serif;margin:1em}table{border-collapse:collapse;"
        "font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top}"
        "th{background:#f3f3f3;max-width:11em}tr.baseline td{background:#f7f7e8;"
        "font-style:italic}.wide{overflow-x:auto;max-width:100%}"
        ".grid{display:flex;flex-wrap:wrap;gap:12px}.card{width:360px}"
        ".card img{width:100%}.card audio{width:100%}</style></head><body>"
        f"<h1>Upsampler comparison: {e(report['task']['name'])}</h1>{intro}"
        f"<h2>Recommendation</h2><p>{e(report['recommendation'])}</p>"
        f"<h2>Results</h2>{headline}<h2>Details</h2>{details}<ul>{notes}</ul>"
        f"<h2>Reading</h2><ul>{reading}</ul>"
        f"<h2>Learning curves</h2><img src='{e(report['curves'])}' alt='learning curves'>"
        "<h2>Outputs</h2><div class='grid'>" + _cards(report) + "</div></body></html>\n")


def _html_table(report: dict[str, Any], cols: list[tuple[str, str]]) -> str:
    e = html.escape
    head = "".join(f"<th>{e(title)}</th>" for _, title in cols)
    body = "".join(
        f"<tr{' class=baseline' if row.get('baseline') else ''}>"
        + "".join(f"<td>{e(cell(row, key))}</td>" for key, _ in cols) + "</tr>"
        for row in table_rows(report))
    return f"<div class='wide'><table><tr>{head}</tr>{body}</table></div>"


def write_reports(out: Path, report: dict[str, Any]) -> list[Path]:
    """Write ``report.json``, ``report.md`` and ``report.html`` atomically."""
    paths = []
    for name, text in (("report.json", json.dumps(report, indent=2) + "\n"),
                       ("report.md", markdown(report)), ("report.html", html_page(report))):
        atomic_write_text(out / name, text)
        paths.append(out / name)
    return paths
