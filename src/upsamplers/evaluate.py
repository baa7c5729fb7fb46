"""Evaluation of a trained model: SI-SDR and SDR on the validation split, and
the artifact audit of its upsampling part on silence and noise.

* autoencoder / MelGAN-like: each validation signal (the mixtures of a stem
  folder) is reconstructed whole, in overlapping chunks, and scored against
  itself;
* Demucs-like: each validation track is separated and every source scored
  against its stem (per source, and averaged).

Scores are those of :mod:`upsamplers.metrics` (whole-signal, float64; a silent
reference is left out of the means). The audit is
:func:`upsamplers.analysis.audit` of ``model.upsampling_part()`` (the decoder)
at the model's sample rate.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ._checks import check_positive_int


def _mean(values: list[float]) -> float | None:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else None


def evaluate(
    checkpoint: str | Path,
    *,
    data: str | Path | None = None,
    max_tracks: int | None = None,
    audit_seconds: float = 2.0,
    progress: bool = False,
) -> dict[str, Any]:
    """Scores of ``checkpoint`` on the validation split of ``data`` (default: the
    embedded set) and its artifact audit. Returns a JSON-ready dictionary."""
    from .data import StemFolder, default_data_dir, is_stem_folder
    from .inference import overlap_add
    from .metrics import sdr, si_sdr
    from .models import Autoencoder, DemucsLike, MelGANLike, load_model

    model = load_model(checkpoint).eval()
    root = Path(data) if data is not None else default_data_dir()
    if max_tracks is not None:
        max_tracks = check_positive_int("max_tracks", max_tracks)
    rate = model.sample_rate
    if isinstance(model, DemucsLike):
        if not is_stem_folder(root):
            raise ValueError(f"a separator is evaluated on a stem folder; {root} is not one")
        dataset: Any = StemFolder(root, split="validation", sample_rate=rate,
                                  channels=model.audio_channels, crop=model.length,
                                  stems=list(model.source_names))
        signals = None
    else:
        channels = model.channels if isinstance(model, Autoencoder) else 1
        if is_stem_folder(root):
            dataset = StemFolder(root, split="validation", sample_rate=rate, channels=channels,
                                 crop=model.length)
            signals = None
        else:
            from .data import AudioFolder

            dataset = AudioFolder(root, split="validation", sample_rate=rate, channels=channels,
                                  crop=model.length)
            signals = dataset
    count = len(dataset.clips) if max_tracks is None else min(max_tracks, len(dataset.clips))
    tracks: list[dict[str, Any]] = []
    iterator: Any = range(count)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, unit="track", desc="evaluating")
    chunk = model.length
    for index in iterator:
        if signals is None:
            name, mixture, sources = dataset.track(index)
        else:
            clip = signals.clips[index]
            name = clip.name
            mixture = torch.from_numpy(signals._window(clip, 0, clip.frames)[0])
            sources = None
        if isinstance(model, DemucsLike):
            estimate = overlap_add(model, mixture, chunk=chunk, overlap=chunk // 4)
            scores = {
                source: {"si_sdr": float(si_sdr(estimate[i], sources[i]).mean()),
                         "sdr": float(sdr(estimate[i], sources[i]).mean())}
                for i, source in enumerate(model.source_names)}
            tracks.append({"track": name, "sources": scores})
        else:
            run = model.reconstruct if isinstance(model, MelGANLike) else model
            estimate = overlap_add(run, mixture, chunk=chunk, overlap=chunk // 4)
            tracks.append({"track": name, "si_sdr": float(si_sdr(estimate, mixture).mean()),
                           "sdr": float(sdr(estimate, mixture).mean())})
    result: dict[str, Any] = {
        "checkpoint": str(checkpoint), "model": type(model).__name__,
        "upsampler": model.config.get("upsampler"), "data": str(root),
        "sample_rate": rate, "tracks": tracks,
    }
    if isinstance(model, DemucsLike):
        per_source = {s: {m: _mean([t["sources"][s][m] for t in tracks])
                          for m in ("si_sdr", "sdr")} for s in model.source_names}
        result["per_source"] = per_source
        result["mean"] = {m: _mean([v[m] for v in per_source.values() if v[m] is not None])
                          for m in ("si_sdr", "sdr")}
    else:
        result["mean"] = {m: _mean([t[m] for t in tracks]) for m in ("si_sdr", "sdr")}
    result["audit"] = audit_model(model, seconds=audit_seconds)
    return result


def audit_model(model: Any, *, seconds: float = 2.0) -> dict[str, Any]:
    """The artifact audit of ``model.upsampling_part()`` on silence and noise."""
    from .analysis import audit

    report = audit(model.upsampling_part(), float(model.sample_rate),
                   inputs=("silence", "noise"), seconds=seconds)
    return report.to_dict()


def add_subcommand(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="score a trained model (SI-SDR, SDR) and audit its artifacts",
        description="SI-SDR and SDR of a checkpoint on the validation split (per source for "
        "separators), and the artifact audit of its decoder on silence and noise.")
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=None,
                        help="default: the embedded data set")
    parser.add_argument("--max-tracks", type=int, default=None)
    parser.add_argument("--audit-seconds", type=float, default=2.0)
    parser.add_argument("--out", type=Path, default=None, help="write the JSON report here")
    parser.add_argument("--force", action="store_true", help="overwrite --out")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(func=_run_cli)


def _run_cli(args: Any) -> int:
    from .data import one_line_warnings

    if args.out is not None and args.out.exists() and not args.force:
        raise ValueError(f"{args.out} already exists; pass --force to overwrite it")
    with one_line_warnings():
        result = evaluate(args.checkpoint, data=args.data, max_tracks=args.max_tracks,
                          audit_seconds=args.audit_seconds, progress=not args.no_progress)
    text = json.dumps(result, indent=2)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_name(f".{args.out.name}.tmp")
        tmp.write_text(text + "\n")
        tmp.replace(args.out)
    mean = result["mean"]
    lines = [f"{result['model']} ({result['upsampler']}): SI-SDR "
             f"{_fmt(mean['si_sdr'])} dB, SDR {_fmt(mean['sdr'])} dB over "
             f"{len(result['tracks'])} validation track(s)"]
    for source, scores in result.get("per_source", {}).items():
        lines.append(f"  {source}: SI-SDR {_fmt(scores['si_sdr'])} dB, "
                     f"SDR {_fmt(scores['sdr'])} dB")
    for name, verdict in result["audit"]["verdicts"].items():
        lines.append(f"  audit {name}: {verdict['status']} ({verdict['message']})")
    print("\n".join(lines))
    return 0


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"
