"""The figure of :func:`~upsamplers.analysis.combs.find_combs`: a recording's
spectrum with the combs found marked (matplotlib, imported lazily)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .combs import CombReport
from .plots import pyplot, save_figure

#: Colours of the first combs marked (more are rare; they cycle).
COLOURS = ("tab:red", "tab:green", "tab:purple", "tab:orange")


def plot_combs(report: CombReport, path: str | Path, *, title: str = "") -> Path:
    """Write a PNG of ``report``'s spectrum to ``path``: the spectrum and its local
    floor (dB) above, the level above the floor below (with the threshold), each
    comb's present lines marked. A report without a spectrum (a file too short or
    silent) gives a figure that says so.

    Shape:
        ``report.frequencies``, ``report.level_db``, ``report.floor_db``: ``(F,)``.
    """
    plt = pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    heading = f"{title}: {report.summary()}" if title else report.summary()
    fig.suptitle(_wrap(heading), fontsize=8)
    f = report.frequencies
    if f.size == 0:
        top.text(0.5, 0.5, report.note or "nothing to show", ha="center", va="center",
                 transform=top.transAxes)
        return save_figure(fig, Path(path))
    top.plot(f, report.level_db, lw=0.4, color="0.3", label="spectrum")
    top.plot(f, report.floor_db, lw=0.8, color="tab:blue", ls="--", label="local floor")
    excess = report.level_db - report.floor_db
    bottom.plot(f, excess, lw=0.4, color="0.3")
    bottom.axhline(report.threshold_db, color="tab:blue", lw=0.8, ls="--",
                   label=f"threshold {report.threshold_db:g} dB")
    for i, comb in enumerate(report.combs):
        marks = np.asarray(comb.frequencies)
        bins = np.clip(np.rint(marks / (report.sample_rate / report.nperseg)).astype(int),
                       0, f.size - 1)
        colour = COLOURS[i % len(COLOURS)]
        label = f"{comb.spacing:.2f} Hz = {report.sample_rate:g} / {comb.hop}"
        top.plot(marks, report.level_db[bins], "v", ms=3, color=colour, label=label)
        bottom.plot(marks, excess[bins], "v", ms=3, color=colour)
    top.set_ylabel("dB (full-scale sine = 0)")
    bottom.set_ylabel("dB above the local floor")
    bottom.set_xlabel("frequency (Hz)")
    low = float(np.percentile(report.level_db, 1))
    top.set_ylim(low - 5, float(report.level_db.max()) + 5)
    bottom.set_ylim(-15, max(float(excess.max()), report.threshold_db) + 5)
    top.legend(fontsize=7, loc="upper right")
    bottom.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return save_figure(fig, Path(path))


def _wrap(text: str, width: int = 130) -> str:
    """``text`` broken into lines of at most about ``width`` characters."""
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "\n".join([*lines, line])
