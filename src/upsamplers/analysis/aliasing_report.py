"""Markdown and PNG of an :class:`~upsamplers.analysis.aliasing.AliasingReport`
(matplotlib imported when a plot is drawn)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from .plots import pyplot, save_figure

#: Components listed in the markdown, strongest first, over every measure.
MARKDOWN_COMPONENTS = 8


def ahr_text(value: float, at_floor: bool, floor_db: float | None = None) -> str:
    """An AHR for people: ``"-25.3"``, ``"at floor"`` (with the floor when known),
    ``"-inf"`` for an exact zero, ``"n/a"`` for NaN."""
    if at_floor:
        return "at floor" if floor_db is None else f"at floor ({floor_db:.0f})"
    if math.isnan(value):
        return "n/a"
    return f"{value:.1f}"


def markdown(report: Any, *, level: int = 1) -> str:
    """The report as markdown; ``level`` is the heading level of its title."""
    h = "#" * level
    p, q = report.ratio
    rate = "" if report.sample_rate is None else (
        f", input rate {report.sample_rate:g} Hz (output {report.sample_rate * p / q:g} Hz)")
    lines = [f"{h} Aliasing: {report.module}", "",
             f"Rate ratio {p}/{q}{rate}; period N = {report.length} input samples (prime), "
             f"{report.warmup} warm-up periods at most{_context(report)}, "
             f"{report.channels or 1} input channel(s), "
             f"{report.dtype}; {report.elapsed_s:.1f} s.", "",
             "AHR = 10 log10(P_inharmonic / P_harmonic), dB, lower is better (DC excluded; "
             "'at floor': within 20 dB of the rounding floor of the input).", "",
             "Mean AHR: 10 log10 of the mean power ratio over f0 (dominated by the worst "
             "f0s); mean of dB: the mean of the per-f0 AHRs.", "",
             "| wave | amplitude | mean AHR (dB) | mean of dB | worst AHR (dB) | at f0 "
             "| image level (dB) |", "|---|---:|---:|---:|---:|---:|---:|"]
    for s in report.summaries:
        image = "" if s.mean_image_db is None else f"{s.mean_image_db:.1f}"
        lines.append(f"| {s.wave} | {s.amplitude:g} | {ahr_text(s.mean_ahr_db, s.at_floor)} | "
                     f"{ahr_text(s.mean_of_db, s.at_floor)} | "
                     f"{ahr_text(s.worst_ahr_db, s.at_floor)} | {s.worst_f0:g} | {image} |")
    lines += _measure_table(report, h)
    lines += _component_table(report, h)
    if report.notes:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in report.notes]
    return "\n".join(lines) + "\n"


def _context(report: Any) -> str:
    """`` (context: 16 to 32 input samples)``: what was fed before each window."""
    found = sorted({m.context for m in report.measures if m.context is not None})
    if not found:
        return ""
    span = f"{found[0]}" if len(found) == 1 else f"{found[0]} to {found[-1]}"
    return f" (fed: {span} input samples before the window)"


def _measure_table(report: Any, h: str) -> list[str]:
    lines = ["", f"{h}# Per f0", "",
             "| wave | amplitude | f0 (input rate) | AHR (dB) | image (dB) | steady |",
             "|---|---:|---:|---:|---:|---|"]
    for m in report.measures:
        image = "" if m.image_db is None else f"{m.image_db:.1f}"
        steady = "yes" if m.steady else f"**no** ({m.steady_db:.0f} dB)"
        lines.append(f"| {m.wave} | {m.amplitude:g} | {m.f0_actual:.4f} | "
                     f"{ahr_text(m.ahr_db, m.at_floor, m.floor_db)} | {image} | {steady} |")
    return lines


def _component_table(report: Any, h: str) -> list[str]:
    found = [(c, m) for m in report.measures if not m.at_floor for c in m.components[:1]]
    if not found:
        return []
    found.sort(key=lambda cm: -cm[0].level_db)
    hz = report.sample_rate is not None
    lines = ["", f"{h}# Strongest aliased component per measure (the strongest first)", "",
             "| wave | amplitude | f0 | component (output rate) |" + (" Hz |" if hz else "")
             + " dB re harmonics | source |",
             "|---|---:|---:|---:|" + ("---:|" if hz else "") + "---:|---|"]
    for c, m in found[:MARKDOWN_COMPONENTS]:
        where = f" {c.frequency_hz:.6g} |" if hz else ""
        lines.append(f"| {m.wave} | {m.amplitude:g} | {m.f0_actual:.4f} | {c.frequency:.4f} |"
                     f"{where} {c.level_db:.1f} | {c.source} |")
    return lines


def plot(report: Any, path: Path) -> Path:
    """AHR (dB) vs f0 per wave and amplitude, the rounding floor dotted; beside it,
    the output spectrum of the worst sine at its largest amplitude, harmonics marked."""
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    styles = {"sine": "-o", "sawtooth": "--s", "triangle": ":^"}
    for s in report.summaries:
        ms = [m for m in report.measures if m.wave == s.wave and m.amplitude == s.amplitude]
        left.plot([m.f0_actual for m in ms], [_finite(m.ahr_db) for m in ms],
                  styles.get(s.wave, "-"), ms=3, lw=1, label=f"{s.wave} {s.amplitude:g}")
    floors = [_finite(m.floor_db) for m in report.measures]
    left.axhline(float(np.max(floors)) + 20, color="gray", ls=":", lw=0.8,
                 label="rounding floor + 20 dB")
    left.set_xlabel("f0 (fraction of the input rate)")
    left.set_ylabel("AHR (dB re harmonic power)")
    left.set_title(f"{report.module}: aliased-to-harmonic ratio", fontsize=9)
    left.legend(fontsize=7)
    if report.spectrum is not None:
        freq, level, label = report.spectrum
        right.plot(freq, np.maximum(level, -200), lw=0.6)
        right.set_ylim(max(float(np.min(level)), -200) - 5, 5)
        right.set_title(label, fontsize=9)
    right.set_xlabel("frequency (fraction of the output rate)")
    right.set_ylabel("dB re harmonic power")
    fig.tight_layout()
    return save_figure(fig, path)


def _finite(value: float) -> float:
    return -400.0 if value == -math.inf else value
