"""What ``audit`` returns: :class:`ArtifactReport` and its parts, as JSON,
markdown and plots.

The report holds, per probe, the lines found and their levels in calibrated
units (:mod:`.calibration`), the noise response, the replica energy, the offsets
after every stage, the aliasing probe's report, and a verdict per artifact
(:class:`Verdict`). ``factors`` are the stages whose input rates the lines were
searched at; ``ratio`` is the model's output length over its input length (they
differ for a model that also lowers the rate); ``unsearched`` says which lines
were not searched, and why (a tonal verdict cannot pass then).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_write_text, plain
from .aliasing import AliasingReport
from .calibration import UNITS
from .plots import plot_report
from .replicas import ReplicaEnergy
from .spectrum import Spectrum, db
from .tones import ToneAnalysis

#: The files :meth:`ArtifactReport.save` writes (besides the PNGs of ``plot``).
OUTPUT_NAMES = ("audit.md", "audit.json")


@dataclass
class Verdict:
    status: str  # "pass", "warn" or "fail"
    message: str


@dataclass
class ProbeResult:
    """What one probe produced: its tones, the output level and its DC.

    ``levels`` holds every tone of ``tones.tones`` (same order) in ``unit``
    (:data:`~upsamplers.analysis.calibration.UNITS`: dBFS on silence, dB re the
    output RMS on ones, dB above a real floor on noise), ``None`` where there is
    no figure (float rounding); ``above_floor`` the same tones in dB above a real
    local floor, ``None`` where that floor is float rounding. Whether a tone is
    found (``tones.found``: over a floor clamped at 150 dB below the output's
    power) decides the verdict."""

    probe: str
    tones: ToneAnalysis
    output_rms: float
    dc: float
    unit: str = ""
    levels: list[float | None] = field(default_factory=list)
    above_floor: list[float | None] = field(default_factory=list)
    _position: dict[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._position = {id(t): i for i, t in enumerate(self.tones.tones)}

    def level_of(self, tone: Any) -> float | None:
        """The calibrated level of ``tone`` (one of ``tones.tones``), in ``unit``."""
        return self._by_tone(self.levels, tone)

    def _by_tone(self, values: list[float | None], tone: Any) -> float | None:
        """The entry of ``values`` (one per ``tones.tones``) for ``tone``."""
        i = self._position.get(id(tone))
        return values[i] if i is not None and i < len(values) else None

    def to_dict(self) -> dict[str, Any]:
        t = self.tones
        return {
            "probe": self.probe, "output_rms": self.output_rms, "dc": self.dc,
            "dc_db_re_total": t.dc_db, "threshold_db": t.threshold_db,
            "bin_width_hz": t.bin_width, "resolved_stages": t.resolved_stages,
            "unresolved_stages": t.unresolved_stages, "level_unit": self.unit,
            "tones_found": [self._tone_dict(x) for x in t.found],
            "tones_measured": len(t.tones),
        }

    def _tone_dict(self, t: Any) -> dict[str, Any]:
        return {"frequency_hz": t.frequency, "stage": t.stage,
                "measured_frequency_hz": t.measured_frequency, "power_db": float(db(t.power)),
                "level_db": self.level_of(t), "level_unit": self.unit,
                "level_db_above_floor": self._by_tone(self.above_floor, t),
                "relative_db": t.relative_db}


def level_text(probe: ProbeResult, tone: Any) -> str:
    """``tone``'s calibrated level in words: ``-20.3 dBFS``, ``-1.4 dB re output
    RMS``, ``13.2 dB above the floor``, or why there is no figure."""
    level = probe.level_of(tone)
    if level is None:
        return ("no figure (its floor is float rounding)" if probe.unit == UNITS["noise"]
                else "no figure (below float rounding)")
    unit = "dB above the floor" if probe.unit == UNITS["noise"] else probe.unit
    return f"{level:.1f} {unit}"


@dataclass
class FilteringResult:
    """Noise response (dB re its level near DC) at fractions of the input Nyquist
    and at the stage input rates."""

    fractions: tuple[float, ...]
    frequencies: list[float]
    attenuation_db: list[float]
    notch_frequencies: list[float]
    notch_db: list[float]
    curve: Spectrum = field(repr=False)


@dataclass
class StageOffset:
    """DC and strongest tone after one upsampling stage, for one probe."""

    probe: str
    stage: int
    layer: str
    output_rate: float
    dc_rms: float
    dc_db: float
    strongest_tone_hz: float | None
    strongest_tone_relative_db: float | None
    significant: bool = False


@dataclass
class ToneComparison:
    """A tone predicted from the phase kernels and measured, powers in dB."""

    frequency: float
    predicted_db: float
    measured_db: float

    @property
    def difference_db(self) -> float:
        return self.measured_db - self.predicted_db


@dataclass
class ArtifactReport:
    """Result of :func:`audit`. ``to_markdown()``, ``to_json()``, ``plot(directory)``."""

    model: str
    sample_rate: float
    factors: tuple[int, ...]
    input_rate: float
    in_channels: int | None
    output_seconds: float
    probes: dict[str, ProbeResult]
    filtering: FilteringResult | None
    replicas: ReplicaEnergy | None
    offsets: list[StageOffset]
    predicted: list[ToneComparison] | None
    verdicts: dict[str, Verdict]
    notes: list[str]
    elapsed_s: float
    signals: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    aliasing: AliasingReport | None = None
    #: the probes whose output was all zero (no DC share, no tones, no response)
    zero_outputs: list[str] = field(default_factory=list)
    #: the model's output length over its input length (``prod(factors)`` unless the
    #: model also lowers the rate, like a U-Net that returns its input rate: 1)
    ratio: int | None = None
    #: why a tonal "pass" cannot be given: lines of a found layer not searched
    unsearched: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.ratio is None:
            self.ratio = self.total

    @property
    def total(self) -> int:
        """The product of ``factors`` (the finest comb's period, output samples)."""
        return math.prod(self.factors)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "model": self.model, "sample_rate": self.sample_rate, "factors": list(self.factors),
            "ratio": self.ratio, "unsearched": list(self.unsearched),
            "input_rate": self.input_rate, "in_channels": self.in_channels,
            "output_seconds": self.output_seconds, "elapsed_s": self.elapsed_s,
            "verdicts": {k: {"status": v.status, "message": v.message}
                         for k, v in self.verdicts.items()},
            "probes": {k: v.to_dict() for k, v in self.probes.items()},
            "notes": list(self.notes), "zero_output_probes": list(self.zero_outputs),
        }
        if self.filtering is not None:
            f = self.filtering
            d["filtering"] = {"fractions_of_input_nyquist": list(f.fractions),
                              "frequencies_hz": f.frequencies, "attenuation_db": f.attenuation_db,
                              "notch_frequencies_hz": f.notch_frequencies, "notch_db": f.notch_db}
        if self.replicas is not None:
            r = self.replicas
            d["replicas"] = {"bands_hz": [list(b) for b in r.bands], "energy_db": r.energy_db,
                             "total_db": r.total_db}
        d["offsets"] = [vars(o) for o in self.offsets]
        if self.predicted is not None:
            d["predicted_vs_measured"] = [
                {"frequency_hz": c.frequency, "predicted_db": c.predicted_db,
                 "measured_db": c.measured_db, "difference_db": c.difference_db}
                for c in self.predicted]
        if self.aliasing is not None:
            d["aliasing"] = self.aliasing.to_dict()
        return plain(d, infinities=True)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_markdown(self) -> str:
        return _markdown(self)

    def save(self, directory: str | Path, *, plot: bool = True) -> list[Path]:
        """Write ``audit.md`` and ``audit.json`` into ``directory`` (created if
        needed), and with ``plot`` the PNGs of :meth:`plot`; returns the paths."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        markdown, data = (directory / name for name in OUTPUT_NAMES)
        written = [atomic_write_text(markdown, self.to_markdown()),
                   atomic_write_text(data, self.to_json())]
        if plot:
            written += self.plot(directory)
        return written

    def plot(self, directory: str | Path) -> list[Path]:
        """Write a spectrogram PNG per probe (expected tone frequencies marked) and
        the noise response, and the AHR of the aliasing probe; returns the paths.
        Needs matplotlib (``[plot]`` extra)."""
        paths = plot_report(self, Path(directory))
        if self.aliasing is not None:
            paths.append(self.aliasing.plot(Path(directory) / "aliasing.png"))
        return paths


def _markdown(r: ArtifactReport) -> str:
    lines = [f"# Audit: {r.model}", "",
             f"Output {r.sample_rate:g} Hz, factors {'x'.join(map(str, r.factors))} "
             f"(input rate {r.input_rate:.6g} Hz"
             f"{'' if r.ratio == r.total else f', output {r.ratio} x input'}), "
             f"{r.output_seconds:.2f} s per probe, "
             f"{r.elapsed_s:.1f} s.", "", "| artifact | verdict | detail |", "|---|---|---|"]
    for k, v in r.verdicts.items():
        lines.append(f"| {k} | **{v.status}** | {v.message} |")
    for name, p in r.probes.items():
        t = p.tones
        lines += ["", f"## Probe `{name}`", ""]
        if name in r.zero_outputs:
            lines.append("The output is all zero: no DC, no tone.")
            continue
        lines += [f"Output RMS {p.output_rms:.4g}, DC {p.dc:.4g} ({t.dc_db:.1f} dB re total); "
                  f"{t.bin_width:.3g} Hz per bin; stages resolved {t.resolved_stages}.", ""]
        found = t.found
        if not found:
            lines.append(f"No tone {t.threshold_db:g} dB above its floor.")
            continue
        lines += [f"| frequency (Hz) | stage | level ({p.unit}) | dB re total |",
                  "|---:|---:|---:|---:|"]
        for tone in sorted(found, key=lambda x: -x.power)[:24]:
            level = p.level_of(tone)
            lines.append(f"| {tone.frequency:.6g} | {tone.stage} | "
                         f"{'float rounding' if level is None else f'{level:.1f}'} | "
                         f"{tone.relative_db:.1f} |")
        if len(found) > 24:
            lines.append(f"| ... {len(found) - 24} more | | | |")
    if r.predicted:
        lines += ["", "## Predicted (phase kernels) vs measured, ones input", "",
                  "| frequency (Hz) | predicted (dB) | measured (dB) | difference (dB) |",
                  "|---:|---:|---:|---:|"]
        for c in r.predicted:
            lines.append(f"| {c.frequency:.6g} | {c.predicted_db:.2f} | {c.measured_db:.2f} | "
                         f"{c.difference_db:+.2f} |")
    if r.filtering is not None:
        f = r.filtering
        lines += ["", "## Filtering (noise response re its level near DC)", "",
                  "| where | frequency (Hz) | dB |", "|---|---:|---:|"]
        for q, fr, a in zip(f.fractions, f.frequencies, f.attenuation_db, strict=True):
            lines.append(f"| {q:g} x input Nyquist | {fr:.6g} | {a:.2f} |")
        for fr, a in zip(f.notch_frequencies, f.notch_db, strict=True):
            lines.append(f"| stage input rate | {fr:.6g} | {a:.2f} |")
    if r.replicas is not None:
        rep = r.replicas
        lines += ["", "## Replicas (tones probe, dB re in-band energy)", "",
                  f"Total above the input Nyquist: {rep.total_db:.1f} dB.", "",
                  "| band (Hz) | dB |", "|---|---:|"]
        for (lo, hi), e in list(zip(rep.bands, rep.energy_db, strict=True))[:16]:
            lines.append(f"| {lo:.6g} - {hi:.6g} | {e:.1f} |")
        if len(rep.bands) > 16:
            lines.append(f"| ... {len(rep.bands) - 16} more bands | |")
    if r.offsets:
        lines += ["", "## Offsets after each upsampling stage", "",
                  "| probe | stage | layer | rate (Hz) | DC rms | DC dB re power | "
                  "strongest tone (dB re its power) |", "|---|---:|---|---:|---:|---:|---|"]
        for o in r.offsets:
            tone = ("" if o.strongest_tone_hz is None else
                    f"{o.strongest_tone_hz:.6g} Hz, {o.strongest_tone_relative_db:.1f} dB")
            lines.append(f"| {o.probe} | {o.stage} | `{o.layer or '(model)'}` | "
                         f"{o.output_rate:.6g} | "
                         f"{o.dc_rms:.3g} | {o.dc_db:.1f} | {tone} |")
    if r.aliasing is not None:
        lines += ["", r.aliasing.to_markdown(level=2).rstrip("\n")]
    if r.notes:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in r.notes]
    return "\n".join(lines) + "\n"
