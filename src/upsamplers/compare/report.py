"""The reports of :func:`upsamplers.compare.compare`: ``report.md``, ``report.json``
and ``report.html``, all rendered from one JSON-ready report dictionary (built by
:func:`upsamplers.compare.build_report`), so the three agree.

Cells: ``-`` for a figure that was not measured (a timing-only row is not trained),
``n/a`` for one measured but undefined; a tone cell without a figure says
``none`` and why (e.g. an output that is exactly zero has no line and no floor).
A failed variant's verdict cell says ``failed``, why and the cause found, and
holds no artifact verdict.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from .._io import atomic_write_text
from ..analysis import ToneMeasures
from ..health import FAILED_BELOW_DB

COLUMNS = (
    ("variant", "variant"),
    ("status", "status"),
    ("parameters", "parameters"),
    ("step_ms", "train step (ms, median)"),
    ("step_ratio", "step vs subpixel"),
    ("real_time_factor", "inference RTF"),
    ("si_sdr", "SI-SDR (dB)"),
    ("sdr", "SDR (dB)"),
    ("silence_init", "line on silence at init (dBFS @ Hz)"),
    ("silence", "line on silence (dBFS @ Hz)"),
    ("constant", "line on a constant (dB re output RMS @ Hz)"),
    ("noise", "lines on noise (dB above floor @ Hz; added over the input)"),
    ("clip", "lines on the clip (dB above floor @ Hz; added over the input)"),
    ("attenuation_09_db", "noise response at 0.9 Nyquist (dB re low band)"),
    ("verdict", "verdict"),
)


def cell(row: dict[str, Any], key: str) -> str:
    """The text of one table cell (shared by the markdown and HTML tables)."""
    value = row[key]
    if key in ("variant", "verdict"):
        return str(value)
    if key == "status":
        return "-" if value is None else str(value)
    if key == "parameters":
        return f"{value:,}"
    if not row["trained"] and key not in ("step_ms", "step_ratio"):
        return "-"
    if value is None:
        return "n/a"
    if key == "step_ms":
        return f"{value:.1f}"
    if key == "step_ratio":
        return f"{value:.2f}x"
    if key == "real_time_factor":
        return f"{value:.4f}"
    if key in ("silence_init", "silence", "constant"):
        return line_cell(value)
    if key in ("noise", "clip"):
        return f"{line_cell(value['above_floor'])}; added {line_cell(value['excess'])}"
    return f"{value:.2f}"


def line_cell(line: dict[str, Any]) -> str:
    """``"-40.1 @ 2000 Hz"`` for a measured line (a LineLevel dictionary), else
    ``"none (why)"``: no figure is shown that is not a measurement."""
    if line["db"] is None:
        return f"none ({line['note']})"
    return f"{line['db']:+.1f} @ {line['frequency_hz']:.0f} Hz"


def tone_legend() -> list[str]:
    """One sentence per tone column (:attr:`upsamplers.analysis.ToneMeasures.COLUMNS`)
    and how the figures were made."""
    explained = ToneMeasures.COLUMNS
    return [
        "Tone columns (lines at k * fs / hop, fs the output rate, hop the model's total "
        "upsampling factor; silence, constant and noise fed to the upsampling part, the clip "
        "through the whole model):",
        f"- line on silence: {explained['silence_dbfs']}",
        f"- line on a constant: {explained['constant_db_re_rms']}",
        f"- lines on noise: {explained['noise_db_above_floor']} Added: "
        f"{explained['noise_excess_db']}",
        f"- lines on the clip: {explained['audio_db_above_floor']} Added: "
        f"{explained['audio_excess_db']}",
        "- `none (why)`: no figure exists (an output exactly zero, a line below float "
        "rounding, an exactly periodic output whose floor would be rounding noise); about "
        "0 dB above floor or added means no line.",
    ]


def _durations(report: dict[str, Any]) -> str:
    text = f"This invocation: {report['seconds']:.0f} s"
    if report["reused"]:
        text += f" ({len(report['reused'])} variant(s) reused from an earlier run)"
    if report["work_seconds"] is not None:
        text += (f"; timing phase and every variant (training, scoring, audits, files): "
                 f"{report['work_seconds']:.0f} s")
    return text + "."


def markdown(report: dict[str, Any]) -> str:
    """``report.md``: settings, machine, the table, the reading and where the
    outputs are."""
    m = report["machine"]
    s = report["settings"]
    lines = [
        "# Upsampler comparison", "",
        f"Model `{s['model']}` trained on `{s['data']}` with {s['budget']} (batch "
        f"{s['batch_size']} x {s['crop']} samples, lr {s['lr']:g}, STFT weight "
        f"{s['stft_weight']:g}, seed {s['seed']}); validation split scored whole.", "",
        f"Machine: {m['processor']} ({m['cpus']} CPUs, {m['threads']} torch threads), "
        f"device {m['device']}" + (f" ({m['gpu']})" if m["gpu"] else "")
        + f", torch {m['torch']}. " + _durations(report), "",
        "| " + " | ".join(title for _, title in COLUMNS) + " |",
        "|" + "|".join("---" for _ in COLUMNS) + "|",
    ]
    for row in report["rows"]:
        lines.append("| " + " | ".join(cell(row, key).replace("|", "/") for key, _ in COLUMNS)
                     + " |")
    lines += [
        "",
        f"Step time: {report['timing']['method']}. Inference RTF: processing seconds per "
        "second of audio (below 1 is faster than real time). Filtering: audit of the "
        "upsampling part on noise (noise response at 0.9 of the input Nyquist re its level "
        "near DC). `-`: not measured (timing-only row); `n/a`: no finite value (e.g. an "
        "output that is exactly zero) or, for filtering, too few audit seconds to resolve "
        "it, or a result file written before the tone measures existed. "
        f"Status: `failed` when the validation output is more than {FAILED_BELOW_DB:g} dB "
        "below the target's RMS, exactly zero, or non-finite (its cause in the verdict: dead "
        "ReLU units, i.e. channels whose output is zero on every validation input, and "
        "non-finite weights); a failed variant is not ranked and gets no artifact verdict; "
        "`ok` otherwise.", "", *tone_legend(), "",
        "## Reading", "",
    ]
    lines += [f"- {line}" for line in report["reading"]]
    lines += ["", "## Outputs", "",
              "Spectrograms and audio of each variant's output on the held-out clip "
              f"({report['held_out_clip']}) and on silence: see `report.html`, or "
              "`variants/<variant>/clip.png`, `silence.png`, `clip.wav`, `silence.wav`."
              + (f" A separator's output shown is its first source, "
                 f"{report['rows'][0]['files']['source']}." if report["rows"][0]["files"].get(
                     "source") else ""), ""]
    return "\n".join(lines)


def html_page(report: dict[str, Any]) -> str:
    """``report.html``: the markdown's introduction, the table, the reading, and
    every trained variant's spectrograms and audio players (relative paths)."""
    e = html.escape
    md_head = markdown(report).split("\n| ")[0]
    intro = "".join(f"<p>{e(p)}</p>" for p in md_head.split("\n\n")[1:] if p.strip())
    head = "".join(f"<th>{e(title)}</th>" for _, title in COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{e(cell(row, key))}</td>" for key, _ in COLUMNS)
                   + "</tr>" for row in report["rows"])
    reading = "".join(f"<li>{e(line)}</li>" for line in report["reading"])
    legend = tone_legend()
    cards = [
        "<div class='card'><h3>input (held-out clip)</h3>"
        "<img src='input_clip.png' alt='input spectrogram'>"
        "<audio controls preload='none' src='input_clip.wav'></audio></div>"]
    for row in report["rows"]:
        files = row["files"]
        if not files:
            continue
        cards.append(
            f"<div class='card'><h3>{e(row['variant'])}</h3>"
            f"<p>held-out clip</p><img src='{e(files['clip_png'])}' alt='clip spectrogram'>"
            f"<audio controls preload='none' src='{e(files['clip_wav'])}'></audio>"
            f"<p>silence</p><img src='{e(files['silence_png'])}' alt='silence spectrogram'>"
            f"<audio controls preload='none' src='{e(files['silence_wav'])}'></audio></div>")
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Upsampler comparison</title>"
        "<style>body{font-family:sans-serif;margin:1em}table{border-collapse:collapse;"
        "font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px}"
        ".grid{display:flex;flex-wrap:wrap;gap:12px}.card{width:360px}"
        ".card img{width:100%}.card audio{width:100%}</style></head><body>"
        f"<h1>Upsampler comparison</h1>{intro}<table><tr>{head}</tr>{body}</table>"
        f"<p>{e(legend[0])}</p><ul>{''.join(f'<li>{e(x[2:])}</li>' for x in legend[1:])}</ul>"
        f"<h2>Reading</h2><ul>{reading}</ul><h2>Outputs</h2><div class='grid'>"
        + "".join(cards) + "</div></body></html>\n")


def write_reports(out: Path, report: dict[str, Any]) -> list[Path]:
    """Write ``report.json``, ``report.md`` and ``report.html`` atomically."""
    paths = []
    for name, text in (("report.json", json.dumps(report, indent=2) + "\n"),
                       ("report.md", markdown(report)), ("report.html", html_page(report))):
        atomic_write_text(out / name, text)
        paths.append(out / name)
    return paths
