"""The compare job: time every variant, train, score and audit each one in its own
folder, and write the reports. A variant is finished when its ``result.json``
exists; a rerun of the same command reuses it, and resumes an unfinished one from
its training checkpoint."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._checks import check_bool
from ..analysis.plots import marked_frequencies, spectrogram_png
from ..data import write_audio
from ..models import ReferenceModel, load_model
from ..scoring import Signal
from ..train import CHECKPOINT, FINAL, LOG, Task, TrainConfig, train
from .config import CompareConfig, check_path
from .folder import INIT_AUDIT, RESULT, SETTINGS, TIMING, check_out, read_json, write_json
from .measures import outputs, score, summarize_audit, why_failed, withhold_verdicts
from .report import write_reports
from .results import AuditSummary, StepTiming, VariantResult
from .signals import check_data, held_out_clip, signals, validation_set
from .step_timing import time_training_steps
from .summary import build_report
from .variants import VARIANTS, Variant

Echo = Callable[[str], None]


def _init_audit(config: CompareConfig, train_config: TrainConfig, folder: Path
                ) -> AuditSummary:
    """The audit of the variant's seeded initial model (``init_audit.json``,
    reused when there)."""
    path = folder / INIT_AUDIT
    if path.is_file():
        return AuditSummary.from_dict(read_json(path))
    torch.manual_seed(config.seed)
    model = Task(train_config).build_model()
    init = summarize_audit(model, config.audit_seconds)
    init.parameters = model.num_parameters()
    write_json(path, init.to_dict())
    return init


def _losses(folder: Path) -> tuple[float | None, float | None, float | None]:
    """Training seconds (of the last ``end`` event), first and last logged loss."""
    log = [json.loads(line) for line in (folder / LOG).read_text().splitlines()
           if line.strip()]
    ends = [r for r in log if r.get("event") == "end"]
    losses = [r for r in log if "loss" in r and "event" not in r]
    return (ends[-1]["seconds"] if ends else None, losses[0]["loss"] if losses else None,
            losses[-1]["loss"] if losses else None)


def _write_outputs(model: ReferenceModel, variant: Variant, folder: Path, clip: torch.Tensor,
                   trained: AuditSummary, device: torch.device) -> dict[str, Any]:
    """Audio and spectrograms of the outputs on the clip and on silence; returns
    their paths (relative to the run folder) and RMS."""
    files: dict[str, Any] = {}
    marks = marked_frequencies(model.sample_rate, [int(f) for f in trained.audit["factors"]])
    for name, audio in outputs(model, clip, device).items():
        write_audio(folder / f"{name}.wav", audio, model.sample_rate, force=True,
                    subtype="FLOAT")
        what = "the held-out clip" if name == "clip" else "silence"
        spectrogram_png(folder / f"{name}.png", audio[0], model.sample_rate,
                        title=f"{variant.name}: output on {what}",
                        marks=marks if name == "silence" else ())
        files[f"{name}_wav"] = f"variants/{variant.name}/{name}.wav"
        files[f"{name}_png"] = f"variants/{variant.name}/{name}.png"
        files[f"{name}_rms"] = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
    if model.separates:  # a separator's outputs are its first source
        files["source"] = str(model.source_names[0])
    return files


def run_variant(config: CompareConfig, variant: Variant, folder: Path, steps: int, root: Path,
                signals: list[Signal], device: torch.device, *, progress: bool = False,
                echo: Echo | None = None) -> VariantResult | None:
    """Train, evaluate and audit one variant in ``folder``; write ``result.json``
    last. Returns the result, or ``None`` if training was interrupted."""
    begun = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    train_config = config.variant_training(variant, steps, root)
    init = _init_audit(config, train_config, folder)
    if not (folder / FINAL).is_file():
        outcome = train(train_config, folder, resume=(folder / CHECKPOINT).is_file(),
                        progress=progress, echo=echo or (lambda message: None))
        if outcome.interrupted:
            return None
    model = load_model(folder / FINAL).eval().to(device)
    scores = score(model, signals, device)
    clip = held_out_clip(signals, model.sample_rate, config.clip_seconds)[1]
    trained = summarize_audit(model, config.audit_seconds, clip)
    failure = scores["output_level"].failure()
    cause = None if failure is None else why_failed(model, signals, failure, device)
    if failure is not None:
        trained = withhold_verdicts(trained, failure)
    files = _write_outputs(model, variant, folder, clip, trained, device)
    train_seconds, first_loss, last_loss = _losses(folder)
    result = VariantResult(
        variant=variant.name, kind=variant.kind, options=variant.upsampler_options,
        description=variant.description, parameters=model.num_parameters(), steps=steps,
        train_seconds=train_seconds, first_loss=first_loss, last_loss=last_loss,
        si_sdr=scores["si_sdr"], sdr=scores["sdr"], real_time_factor=scores["real_time_factor"],
        tracks=scores["tracks"], init=init, trained=trained, files=files,
        wall_seconds=time.perf_counter() - begun, status="ok" if failure is None else "failed",
        cause=cause, output_level=scores["output_level"].to_dict())
    write_json(folder / RESULT, result.to_dict())
    return result


def compare(config: CompareConfig, out: str | os.PathLike[str], *, force: bool = False,
            progress: bool = True, echo: Echo | None = None) -> dict[str, Any]:
    """Run the compare job into ``out`` and write its reports; returns the report
    as a JSON-ready dictionary. Finished variants of an earlier run with the same
    settings are reused. ``KeyboardInterrupt`` when training is interrupted (the
    unfinished variant resumes from its checkpoint on the next run)."""
    config.validate()
    check_bool("force", force)
    out = check_path("out", out)
    say = echo or (lambda message: print(message, file=sys.stderr, flush=True))
    check_out(out, config, force)
    root = check_data(config)
    device = torch.device(config.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    out.mkdir(parents=True, exist_ok=True)
    if not (out / SETTINGS).is_file():
        write_json(out / SETTINGS, config.settings())
    threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        return _compare(config, out, root, device, progress, say)
    finally:
        torch.set_num_threads(threads)


def _timing(config: CompareConfig, out: Path, root: Path, device: torch.device, progress: bool,
            say: Echo) -> StepTiming:
    """The step timing of the run (``timing.json``, reused when there)."""
    if (out / TIMING).is_file():
        return StepTiming.from_dict(read_json(out / TIMING))
    say(f"timing one training step of {', '.join(config.timed_variants())} (round-robin)")
    begun = time.perf_counter()
    timing = time_training_steps(config, root, config.timed_variants(), device,
                                 progress=progress)
    timing.seconds = time.perf_counter() - begun
    write_json(out / TIMING, timing.to_dict())
    return timing


def _write_input_clip(out: Path, clip_name: str, clip: torch.Tensor, rate: int) -> None:
    """The held-out clip ``(C, T)`` as audio and spectrogram, beside the outputs."""
    write_audio(out / "input_clip.wav", clip.numpy(), rate, force=True, subtype="FLOAT")
    spectrogram_png(out / "input_clip.png", clip[0].numpy(), rate,
                    title=f"input: held-out clip ({clip_name})")


def _compare(config: CompareConfig, out: Path, root: Path, device: torch.device,
             progress: bool, say: Echo) -> dict[str, Any]:
    started = time.perf_counter()
    timing = _timing(config, out, root, device, progress, say)
    validation = signals(validation_set(config, root))
    clip_name, clip = held_out_clip(validation, config.sample_rate, config.clip_seconds)
    _write_input_clip(out, clip_name, clip, config.sample_rate)
    results, reused = _run_variants(config, out, root, config.variant_steps(timing.median_s),
                                    validation, device, progress, say)
    report = build_report(config, root, timing, results, clip_name, device,
                          seconds=time.perf_counter() - started, reused=reused)
    write_reports(out, report)
    return report


def _run_variants(config: CompareConfig, out: Path, root: Path, steps_of: dict[str, int],
                  validation: list[Signal], device: torch.device, progress: bool,
                  say: Echo) -> tuple[dict[str, VariantResult], list[str]]:
    """Every variant's result, in ``config.variants`` order: read from its folder when
    an earlier run finished it (its name is then in the second list), else run."""
    results: dict[str, VariantResult] = {}
    reused: list[str] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(config.variants), unit="variant", desc="compare", position=0,
                   dynamic_ncols=True)
    try:
        for index, name in enumerate(config.variants):
            folder = out / "variants" / name
            if bar is not None:
                bar.set_description(f"compare [{index + 1}/{len(config.variants)}] {name}")
            saved = read_json(folder / RESULT) if (folder / RESULT).is_file() else None
            if saved is not None and "status" in saved:
                results[name] = VariantResult.from_dict(saved)
                reused.append(name)
                say(f"{name}: finished in an earlier run; reused")
            else:  # a result written before statuses existed is measured again
                result = run_variant(config, VARIANTS[name], folder, steps_of[name], root,
                                     validation, device, progress=progress, echo=say)
                if result is None:
                    raise KeyboardInterrupt(f"interrupted while training {name}; run the same "
                                            "command again to resume")
                results[name] = result
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return results, reused
