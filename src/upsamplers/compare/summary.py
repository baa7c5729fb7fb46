"""The figures of a compare run gathered into its report: the rows of the table,
the article's speed claims checked on the measured step times, a verdict per
variant and the reading (sentences computed from the figures).

The report is one JSON-ready dictionary (``report.json``); :mod:`.report`
renders it as markdown and HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from .._io import plain
from ..health import FAILED_BELOW_DB
from ..timing import machine_description
from .config import CompareConfig
from .results import StepTiming, VariantResult
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


def _failed_verdict(row: dict[str, Any]) -> str:
    """One line on a failed row: why, the cause found, its (unranked) SI-SDR and
    its step time; no artifact verdict."""
    cause = row["cause"] or {}
    parts = [f"failed: {cause.get('failure', 'training failed')}"]
    if cause.get("summary"):
        parts.append(f"cause: {cause['summary']}")
    if row["si_sdr"] is not None:
        parts.append(f"SI-SDR {row['si_sdr']:.1f} dB (not ranked)")
    if row["step_ratio"] is not None:
        parts.append(f"{row['step_ratio']:.2f}x subpixel's step time")
    return "; ".join(parts + ["no artifact verdict"])


def _verdict(row: dict[str, Any], rank: int | None, count: int) -> str:
    """One line on a trained row: its SI-SDR rank, step time, tones and filtering
    (for a failed row, :func:`_failed_verdict`)."""
    if row["status"] == "failed":
        return _failed_verdict(row)
    parts = []
    if row["si_sdr"] is not None:
        parts.append(f"SI-SDR {row['si_sdr']:.1f} dB (#{rank} of {count})")
    if row["step_ratio"] is not None:
        parts.append(f"{row['step_ratio']:.2f}x subpixel's step time")
    tonal = row["verdicts"].get("tonal")
    lines = tone_phrase(row["tones"])
    if tonal is not None or lines:
        parts.append(f"tones: {tonal or 'no verdict'}" + (f" ({lines})" if lines else ""))
    if row["attenuation_09_db"] is not None:
        parts.append(f"filtering: {row['verdicts'].get('filtering')} "
                     f"({row['attenuation_09_db']:.1f} dB at 0.9 Nyquist)")
    return "; ".join(parts)



def _level(line: dict[str, Any], unit: str) -> str | None:
    """``"-40.1 dBFS at 2000 Hz"`` for a measured line, ``None`` for one without a figure."""
    if line["db"] is None:
        return None
    return f"{line['db']:+.1f} {unit} at {line['frequency_hz']:.0f} Hz"


def tone_phrase(tones: dict[str, Any] | None) -> str:
    """The measured line figures of :class:`upsamplers.analysis.ToneMeasures` (as a
    dictionary) in a few words: the silence line in dBFS and what the model adds
    to the clip (else to noise); ``""`` when none has a figure."""
    if tones is None:
        return ""
    parts = []
    silence = _level(tones["silence_dbfs"], "dBFS")
    if silence:
        parts.append(f"silence line {silence}")
    for key, what in (("audio_excess_db", "clip"), ("noise_excess_db", "noise")):
        added = _level(tones[key], "dB")
        if added:
            parts.append(f"{what}: lines {added} over the input")
            break
    return "; ".join(parts)


def _tone_cells(tones: dict[str, Any] | None) -> dict[str, Any]:
    """The report's tone columns of one row, from a ToneMeasures dictionary."""
    if tones is None:
        return {key: None for key in ("silence", "constant", "noise", "clip")}
    return {"silence": tones["silence_dbfs"], "constant": tones["constant_db_re_rms"],
            "noise": {"above_floor": tones["noise_db_above_floor"],
                      "excess": tones["noise_excess_db"]},
            "clip": {"above_floor": tones["audio_db_above_floor"],
                     "excess": tones["audio_excess_db"]}}


def _row(name: str, result: VariantResult | None, timing: StepTiming) -> dict[str, Any]:
    """The table row of one timed variant (figures of training: ``None``, or
    empty, for a timing-only row)."""
    variant = VARIANTS[name]
    step = timing.median_s.get(name)
    ref = timing.median_s.get(REFERENCE)
    trained = result.to_dict() if result is not None else None
    return {
        "variant": name, "kind": variant.kind, "options": variant.upsampler_options,
        "trained": trained is not None,
        "status": trained["status"] if trained else None,
        "cause": trained["cause"] if trained else None,
        "parameters": trained["parameters"] if trained else timing.parameters[name],
        "step_ms": step * 1e3 if step is not None else None,
        "step_ratio": step / ref if step is not None and ref else None,
        "real_time_factor": trained["real_time_factor"] if trained else None,
        "si_sdr": trained["si_sdr"] if trained else None,
        "sdr": trained["sdr"] if trained else None,
        "tones_init": trained["init"].get("tones") if trained else None,
        "tones": trained["trained"].get("tones") if trained else None,
        "silence_init": (_tone_cells(trained["init"].get("tones"))["silence"] if trained
                         else None),
        **_tone_cells(trained["trained"].get("tones") if trained else None),
        "attenuation_09_db": trained["trained"]["attenuation_09_db"] if trained else None,
        "attenuation_09_db_init": trained["init"]["attenuation_09_db"] if trained else None,
        "verdicts": trained["trained"]["verdicts"] if trained else {},
        "verdicts_init": trained["init"]["verdicts"] if trained else {},
        "steps": trained["steps"] if trained else None,
        "files": trained["files"] if trained else {},
    }


def _machine(device: torch.device) -> dict[str, Any]:
    """The machine fields of the report."""
    machine = machine_description()
    return {"platform": machine["platform"], "processor": machine["processor"],
            "cpus": machine["cpus"], "torch": machine["torch"], "device": str(device),
            "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
            "threads": machine["threads"]}


def build_report(config: CompareConfig, root: Path, timing: StepTiming,
                 results: dict[str, VariantResult], clip_name: str, device: torch.device,
                 *, seconds: float, reused: Sequence[str] = ()) -> dict[str, Any]:
    """All figures of a compare run, the rows of its table and its reading."""
    rows = [_row(name, results.get(name), timing) for name in config.timed_variants()]
    ranked = sorted((r for r in rows if r["trained"] and r["status"] != "failed"
                     and r["si_sdr"] is not None), key=lambda r: -r["si_sdr"])
    for row in rows:
        rank = ranked.index(row) + 1 if row in ranked else None
        row["si_sdr_rank"] = rank
        row["verdict"] = (_verdict(row, rank, len(ranked)) if row["trained"]
                          else "timing only (not trained)")
    budget = (f"{config.minutes:g} min of training per variant" if config.minutes is not None
              else f"{config.budget_steps} steps per variant")
    report = {
        "settings": {**config.settings(), "data": str(root), "budget": budget},
        "machine": _machine(device),
        "timing": timing.to_dict(), "speed_claims": speed_claims(timing.median_s),
        "held_out_clip": clip_name, "rows": rows,
        "variants": {name: result.to_dict() for name, result in results.items()},
        "seconds": seconds, "reused": list(reused),
        "work_seconds": _work_seconds(timing, results),
    }
    report["reading"] = reading(report)
    return plain(report)


def _work_seconds(timing: StepTiming, results: dict[str, VariantResult]) -> float | None:
    """Timing phase plus every variant's wall time, whichever invocation ran them
    (``None`` if one of them was not recorded)."""
    parts = [timing.seconds] + [r.wall_seconds for r in results.values()]
    return None if any(p is None for p in parts) else float(sum(parts))


def _failed_reading(failed: list[dict[str, Any]]) -> str:
    """The sentence naming the failed variants and why."""
    def why(row: dict[str, Any]) -> str:
        cause = row["cause"] or {}
        return (f"{row['variant']} ({cause.get('failure', 'training failed')}; "
                f"{cause.get('summary', 'no cause found')})")
    return ("Training failed (validation output more than "
            f"{FAILED_BELOW_DB:g} dB below the target's RMS, exactly zero, or non-finite): "
            + "; ".join(why(r) for r in failed)
            + ". A failed variant is not ranked and gets no artifact verdict.")


def reading(report: dict[str, Any]) -> list[str]:
    """Sentences computed from the figures: quality, speed (the article's claims,
    stated as measured), tones and filtering."""
    rows = report["rows"]
    failed = [r for r in rows if r["trained"] and r["status"] == "failed"]
    trained = [r for r in rows if r["trained"] and r["status"] != "failed"]
    lines = []
    scored = sorted((r for r in trained if r["si_sdr"] is not None), key=lambda r: -r["si_sdr"])
    if scored:
        best, worst = scored[0], scored[-1]
        text = f"Best validation SI-SDR: {best['variant']} ({best['si_sdr']:.2f} dB)"
        if len(scored) > 1:
            text += (f"; worst: {worst['variant']} ({worst['si_sdr']:.2f} dB), a spread of "
                     f"{best['si_sdr'] - worst['si_sdr']:.2f} dB")
        lines.append(text + f", after {report['settings']['budget']}.")
    if failed:
        lines.append(_failed_reading(failed))
    timed = {r["variant"]: r["step_ratio"] for r in rows if r["step_ratio"] is not None}
    if timed:
        fastest = min(timed, key=timed.__getitem__)
        slowest = max(timed, key=timed.__getitem__)
        lines.append(f"Training step time: fastest {fastest} ({timed[fastest]:.2f}x subpixel), "
                     f"slowest {slowest} ({timed[slowest]:.2f}x subpixel).")
    claims = report["speed_claims"]
    naive = {n: timed[n] for n in timed if n.endswith("-naive")}
    if claims["naive_slower"] is not None:
        listed = ", ".join(f"{n} {v:.2f}x" for n, v in naive.items())
        transposed = timed.get("transposed")
        if claims["naive_slower"]:
            lines.append(f"The article's speed ranking holds here: subpixel (1.00x) and "
                         f"transposed ({transposed:.2f}x) train faster than naive "
                         f"interpolation ({listed}).")
        else:
            lines.append(f"The article's speed ranking does NOT hold here: subpixel (1.00x) and "
                         f"transposed ({transposed:.2f}x) are not both faster than naive "
                         f"interpolation ({listed}).")
    for name, p in claims["parity"].items():
        if p["at_parity"]:
            state = f"at parity with subpixel (within {PARITY:g}x)"
        elif p["faster"]:
            state = "faster than subpixel"
        else:
            state = f"NOT at parity with subpixel (slower by more than {PARITY:g}x)"
        lines.append(f"Polyphase {name} interpolation: {p['ratio']:.2f}x subpixel's step time, "
                     f"{state}.")
    toned = [r for r in trained if r["verdicts"].get("tonal") == "fail"]
    if trained:
        if toned:
            lines.append("Tonal artifacts after training (audit fail): " + ", ".join(
                f"{r['variant']} ({tone_phrase(r['tones'])})" if tone_phrase(r["tones"])
                else r["variant"] for r in toned) + ".")
        else:
            lines.append(("No variant that trained has" if failed else "No variant has")
                         + " tonal artifacts after training (audit tonal verdict pass or warn "
                         "for all" + (", failed variants have none" if failed else "") + ").")
        filt = [r for r in trained if r["attenuation_09_db"] is not None]
        if filt:
            most = min(filt, key=lambda r: r["attenuation_09_db"])
            least = max(filt, key=lambda r: r["attenuation_09_db"])
            lines.append(f"Filtering at 0.9 of Nyquist: from {least['attenuation_09_db']:.1f} dB "
                         f"({least['variant']}) to {most['attenuation_09_db']:.1f} dB "
                         f"({most['variant']}).")
    return lines
