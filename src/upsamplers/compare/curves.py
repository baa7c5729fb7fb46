"""The learning curves of a compare run as one PNG: the validation metric of every
run against its training step, one colour per variant, one line per seed, the
step each run stopped at marked."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..analysis.plots import pyplot, save_figure
from .aggregate import VariantSummary


def learning_curves_png(path: Path, summaries: Sequence[VariantSummary], metric: str, *,
                        title: str) -> Path | None:
    """Draw every run's curve (its ``[step, value]`` pairs; non-finite values left
    out) into ``path``; ``None`` (and no file) when no run has a curve."""
    if not any(run.curve for s in summaries for run in s.runs):
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, summary in enumerate(summaries):
        colour = colours[index % len(colours)]
        for number, run in enumerate(summary.runs):
            points = [(s, v) for s, v in run.curve if v is not None]
            if not points:
                continue
            steps, values = zip(*points, strict=True)
            label = f"{summary.variant} ({summary.status})" if number == 0 else None
            ax.plot(steps, values, color=colour, lw=1.0, alpha=0.85, label=label,
                    ls="-" if run.status != "failed" else ":")
            ax.plot(steps[-1], values[-1], "o", color=colour, ms=3)
    # the axis shows the second half of every run: the first evaluations (tens of dB
    # below) would squash the part where the variants differ
    later = [v for s in summaries for run in s.runs if run.curve for step, v in run.curve
             if v is not None and step >= run.curve[-1][0] / 2]
    if later:
        ax.set_ylim(min(later) - 1.0, max(later) + 1.0)
    ax.set_xlabel("training step")
    ax.set_ylabel(f"validation {metric} (early steps may lie below the axis)")
    ax.set_title(title + " (one line per seed; dots: where each run stopped)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)
