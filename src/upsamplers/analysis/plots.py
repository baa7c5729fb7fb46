"""PNG figures of audits and reproduced figures (matplotlib, imported lazily)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import signal as sps

from .._io import atomic_write
from .tones import expected_tone_frequencies

MAX_MARKED = 24


def pyplot() -> Any:
    """matplotlib.pyplot with the Agg backend, or a clear ImportError."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError("plotting needs matplotlib: pip install 'neural-upsamplers[plot]'"
                          ) from error
    return plt


def save_figure(fig: Any, path: Path) -> Path:
    """Write matplotlib figure ``fig`` to ``path`` (PNG) atomically and close it: a
    full disk leaves no partial image and is one clear error."""
    try:
        atomic_write(path, lambda handle: fig.savefig(handle, format="png", dpi=100))
    finally:
        pyplot().close(fig)
    return path


def marked_frequencies(sample_rate: float, factors: Sequence[int]) -> list[float]:
    """Expected tone frequencies to mark: every comb line, or only the coarser
    stages' when there are more than :data:`MAX_MARKED`."""
    lines = expected_tone_frequencies(sample_rate, tuple(factors))
    first = 1
    while sum(1 for _, s in lines if s >= first) > MAX_MARKED and first < len(factors):
        first += 1
    return [f for f, s in lines if s >= first]


def spectrogram_png(path: Path, signal: np.ndarray, sample_rate: float, *, title: str,
                    marks: Sequence[float] = ()) -> Path:
    """Spectrogram (dB) of a 1-D ``signal`` with dashed lines at ``marks`` (Hz)."""
    plt = pyplot()
    x = np.asarray(signal, dtype=float)
    nperseg = int(min(len(x), 2 ** int(np.clip(np.log2(len(x) / 16), 6, 12))))
    f, t, s = sps.spectrogram(x, fs=sample_rate, window="hann", nperseg=nperseg,
                              noverlap=nperseg // 2, detrend=False, scaling="spectrum")
    level = 10 * np.log10(np.maximum(s, 1e-20))
    top = float(level.max())
    bottom = min(top - 60.0, float(np.percentile(level, 5)))  # show the noise floor too
    fig, ax = plt.subplots(figsize=(7, 4))
    mesh = ax.pcolormesh(t, f, level, shading="auto", vmin=bottom, vmax=top, cmap="magma")
    for m in marks:
        ax.axhline(m, color="cyan", lw=0.5, ls=":", alpha=0.6)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (Hz)")
    ax.set_title(title, fontsize=9)
    fig.colorbar(mesh, ax=ax, label="dB")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_report(report: Any, directory: Path) -> list[Path]:
    """Spectrogram of every probe's output and the noise response of an audit."""
    plt = pyplot()
    marks = marked_frequencies(report.sample_rate, report.factors)
    paths = []
    for probe, sig in report.signals.items():
        paths.append(spectrogram_png(directory / f"{probe}_spectrogram.png", sig,
                                     report.sample_rate,
                                     title=f"{report.model}: {probe} probe "
                                           "(dashed: expected tones)", marks=marks))
    if report.filtering is not None:
        c = report.filtering.curve
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.plot(c.frequencies, c.power, lw=0.8)
        for m in marks:
            ax.axvline(m, color="gray", lw=0.5, ls="--", alpha=0.6)
        ax.axvline(report.input_rate / 2, color="red", lw=0.8, label="input Nyquist")
        ax.set_xlabel("frequency (Hz)")
        ax.set_ylabel("dB re level near DC")
        ax.set_ylim(max(float(np.min(c.power)), -120), float(np.max(c.power)) + 5)
        ax.legend()
        ax.set_title(f"{report.model}: noise response", fontsize=9)
        fig.tight_layout()
        paths.append(save_figure(fig, directory / "noise_response.png"))
    return paths
