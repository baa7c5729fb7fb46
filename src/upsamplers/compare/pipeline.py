"""The compare job: time every variant, train and measure every variant x seed in
a run folder of its own (in parallel worker processes), and write the reports;
and :func:`collect`, the same report from runs trained elsewhere.

A run is finished when its ``result.json`` exists; a rerun of the same command
reuses it, and resumes an unfinished one from its training checkpoint.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from .._checks import InvalidType, UserFileError, check_bool
from .._io import LOCK, RunLock, check_space, lock_holder
from ..analysis.plots import spectrogram_png
from ..data import write_audio
from ..models import model_class, read_checkpoint
from ..train import CONFIG, FINAL, Task, TrainConfig, estimated_bytes, log_records
from .aggregate import rank, summarize
from .baseline import baseline_scores
from .budget import plan_steps
from .config import CompareConfig, check_path
from .curves import learning_curves_png
from .folder import BUDGET, RESULT, SETTINGS, TIMING, check_out, read_json, write_json
from .generalisation import check_test_data, expected_sources, test_signals
from .parallel import run_all
from .report import write_reports
from .results import StepTiming, VariantResult
from .runs import RunSpec, check_checkpoints, finished, measure_run, run_folder
from .signals import check_data, held_out_clip, signals, validation_set
from .step_timing import time_training_steps
from .summary import build_report
from .tasks import TASKS
from .variants import VARIANTS

Echo = Callable[[str], None]


def compare(config: CompareConfig, out: str | os.PathLike[str], *, force: bool = False,
            progress: bool = True, echo: Echo | None = None) -> dict[str, Any]:
    """:func:`_compare` holding ``out`` (:class:`~upsamplers._io.RunLock`): a
    second compare on the same folder is refused while this one runs."""
    config.validate()
    out = check_path("out", out)
    with RunLock(out):
        return _compare(config, out, force=force, progress=progress, echo=echo)


def _compare(config: CompareConfig, out: str | os.PathLike[str], *, force: bool = False,
             progress: bool = True, echo: Echo | None = None) -> dict[str, Any]:
    """Run the compare job into ``out`` and write its reports; returns the report
    as a JSON-ready dictionary. Finished runs of an earlier invocation with the
    same settings are reused. ``KeyboardInterrupt`` when training is interrupted
    (the unfinished runs resume from their checkpoints on the next invocation)."""
    config.validate()
    check_bool("force", force)
    out = check_path("out", out)
    say = _say(echo)
    root, device = _open_out(config, out, force, trains=True)
    for name in config.variants:  # before any compute: a checkpoint that cannot be resumed
        for seed in config.seed_list:
            check_checkpoints(run_folder(out, name, seed))
    threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        started = time.perf_counter()
        timing = _timing(config, out, root, device, progress, say)
        steps = _planned_steps(config, out, root, timing, time.perf_counter() - started,
                               config.worker_count(device), say)
        specs = [RunSpec(config, name, seed, steps, str(root),
                         str(run_folder(out, name, seed)), str(out), str(device))
                 for name in config.variants for seed in config.seed_list]
        results, reused = _run(specs, config.worker_count(device), progress, say)
        return _finish(config, out, root, device, timing, results, reused,
                       seconds=time.perf_counter() - started)
    finally:
        torch.set_num_threads(threads)


def _say(echo: Echo | None) -> Echo:
    return echo or (lambda message: print(message, file=sys.stderr, flush=True))


def _open_out(config: CompareConfig, out: Path, force: bool, *, trains: bool,
              runs: int = 0) -> tuple[Path, torch.device]:
    """Check ``out``, the data and the free space (for training every run when
    ``trains``, else for measuring ``runs`` runs) before any work, create
    ``out`` and record the settings there; returns the data folder and the device."""
    check_out(out, config, force)
    root = check_data(config)
    check_test_data(config, root)  # before any training: wrong sources, missing, empty
    device = _device(config)
    needed = (_estimated_bytes(config, root) if trains
              else REPORT_BYTES + runs * RUN_MEASURES_BYTES)
    check_space(out, needed, "the runs of this compare job")
    out.mkdir(parents=True, exist_ok=True)
    if not (out / SETTINGS).is_file():
        write_json(out / SETTINGS, config.settings())
    return root, device


RUN_MEASURES_BYTES = 8 * 2**20  # a run's audits, example audio and PNGs, generously
REPORT_BYTES = 4 * 2**20  # the reports and the learning curves


def _estimated_bytes(config: CompareConfig, root: Path) -> int:
    """About the most disk space the job takes: every run's training files
    (:func:`~upsamplers.train.estimated_bytes` of its variant's model at the
    largest step budget) and measurements, and the reports."""
    total = REPORT_BYTES
    for name in config.variants:
        training = config.variant_training(VARIANTS[name], config.max_steps, root)
        parameters = Task(training).build_model().num_parameters()
        per_run = estimated_bytes(parameters, training) + RUN_MEASURES_BYTES
        total += per_run * len(config.seed_list)
    return total


def _device(config: CompareConfig) -> torch.device:
    return torch.device(config.device or ("cuda" if torch.cuda.is_available() else "cpu"))


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


def _planned_steps(config: CompareConfig, out: Path, root: Path, timing: StepTiming,
                   spent_s: float, jobs: int, say: Echo) -> int:
    """The steps of every run: ``steps``, or under a time budget the plan
    (``budget.json``, reused by a rerun so that resumed runs keep their budget)."""
    if config.minutes is None:
        return config.max_steps
    if (out / BUDGET).is_file():
        return int(read_json(out / BUDGET)["steps"])
    dataset = validation_set(config, root)
    seconds = sum(c.frames for c in dataset.clips) / float(config.sample_rate)
    plan = plan_steps(list(config.variants), config.seeds, timing, minutes=config.minutes,
                      spent_s=spent_s, jobs=jobs, validation_s=seconds,
                      eval_seconds=min(seconds, float(config.eval_seconds)))
    write_json(out / BUDGET, plan.to_dict())
    say(f"budget: {config.minutes:g} min in all -> {plan.steps} steps a run "
        f"({plan.runs} runs on {jobs} worker(s); about {plan.train_s / 60:.1f} min of "
        f"training and {plan.measure_s / 60:.1f} min of measuring)")
    return plan.steps


def _run(specs: list[RunSpec], jobs: int, progress: bool, say: Echo
         ) -> tuple[list[VariantResult], list[str]]:
    """Every run's result: read when an earlier invocation finished it (named in
    the second list), else trained and measured by ``jobs`` workers."""
    reused, todo = [], []
    for spec in specs:
        if finished(Path(spec.folder)) is not None:
            reused.append(f"{spec.variant}/seed-{spec.seed}")
        else:
            todo.append(spec)
    if reused:
        say(f"{len(reused)} run(s) finished in an earlier invocation; reused")
    if todo:
        say(f"training {len(todo)} run(s) ({len({s.variant for s in todo})} variant(s) x "
            f"seeds) on {min(jobs, len(todo))} worker(s)")
    bar = None
    if progress and todo:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), unit="run", desc="compare", dynamic_ncols=True)

    def done(spec: RunSpec, result: dict[str, Any]) -> None:
        metric = result["metric"]
        value = result["metrics"].get(metric)
        line = (f"{spec.variant} seed {spec.seed}: {result['status']}, {metric} "
                + ("n/a" if value is None else f"{value:.2f}")
                + f" after {result['stopped_at']} steps")
        if bar is not None:
            bar.update(1)
            bar.write(line)
        else:
            say(line)
    try:
        run_all(todo, jobs, done=done)
    finally:
        if bar is not None:
            bar.close()
    results = [VariantResult.from_dict(finished(Path(s.folder)) or {}) for s in specs]
    return results, reused


def _write_input_clip(out: Path, clip_name: str, clip: torch.Tensor, rate: int) -> None:
    """The held-out clip ``(C, T)`` as audio and spectrogram, beside the outputs."""
    write_audio(out / "input_clip.wav", clip.numpy(), rate, force=True, subtype="FLOAT")
    spectrogram_png(out / "input_clip.png", clip[0].numpy(), rate,
                    title=f"held-out clip ({clip_name}): the reference")


def _finish(config: CompareConfig, out: Path, root: Path, device: torch.device,
            timing: StepTiming | None, results: list[VariantResult], reused: Sequence[str],
            *, seconds: float) -> dict[str, Any]:
    """Aggregate the runs, draw the learning curves and write the reports."""
    validation = signals(validation_set(config, root))
    clip_name, clip = held_out_clip(validation, int(config.sample_rate),
                                    config.clip_seconds)
    _write_input_clip(out, clip_name, clip, int(config.sample_rate))
    baseline = baseline_scores(config, root, results[0].variant, validation, out)
    test = test_signals(config, expected_sources(config, root))
    if test is not None:  # the baseline on the test data too: the improvement there
        baseline["test"] = baseline_scores(config, root, results[0].variant, test)["metrics"]
    summaries = summarize(results, list(dict.fromkeys(r.variant for r in results)),
                          baseline["metrics"])
    metric = results[0].metric
    rank(summaries, metric)
    learning_curves_png(out / "curves.png", summaries, metric,
                        title=f"{config.task}: validation {metric} while training")
    report = build_report(config, root, timing, summaries, clip_name, device,
                          seconds=seconds, reused=reused, baseline=baseline)
    write_reports(out, report)
    return report


# --------------------------------------------------------------------------- collect


def _run_config(folder: Path) -> dict[str, Any]:
    """The training settings of a run folder (its ``config.json``)."""
    if not (folder / CONFIG).is_file() or not (folder / FINAL).is_file():
        raise UserFileError(f"{folder} is not a finished training run (it needs {CONFIG} and "
                            f"{FINAL}, as `upsamplers train --out` writes them)")
    try:
        saved = read_json(folder / CONFIG)
    except (ValueError, UnicodeDecodeError) as error:  # JSONDecodeError is a ValueError
        raise UserFileError(f"{folder / CONFIG} is not valid JSON ({error}); it is not a "
                            "training run's settings") from None
    if not isinstance(saved, dict) or "upsampler" not in saved:
        raise UserFileError(f"{folder / CONFIG} does not hold training settings")
    return saved


def _check_run_model(folder: Path, saved: dict[str, Any]) -> None:
    """The run's model checkpoint reads, and holds the model its settings trained:
    refused before any timing or measuring (a damaged one failed after both)."""
    payload = read_checkpoint(folder / FINAL)
    expected = model_class(str(saved.get("model", TrainConfig.model))).__name__
    if payload["class"] != expected:
        raise UserFileError(f"{folder / FINAL} holds a {payload['class']}, but the run's "
                            f"{CONFIG} trained model={saved.get('model')!r} ({expected})")


def _check_run_log(folder: Path) -> None:
    """The run is not being written (its lock held by a live process) and its log
    reads (a last line cut by a kill is left out, as everywhere): refused before
    any timing or measuring."""
    holder = lock_holder(folder)
    if holder is not None:
        raise UserFileError(f"{folder} is in use by process {holder} (its lock file "
                            f"{folder / LOCK} is held): collect reads finished runs only; wait "
                            "for that run to end")
    log_records(folder)  # UserFileError when log.jsonl is missing


def _variant_of(folder: Path, saved: dict[str, Any]) -> str:
    """The variant whose kind and options the run was trained with: of those whose
    model options the run's hold too, the one that sets the most of them."""
    options = saved.get("upsampler_options") or {}
    model_options = saved.get("model_options") or {}
    matches = [(len(v.model_overrides), name) for name, v in VARIANTS.items()
               if v.kind == saved["upsampler"] and v.upsampler_options == options
               and all(k in model_options and model_options[k] == value
                       for k, value in v.model_overrides.items())]
    if matches:
        return max(matches, key=lambda m: m[0])[1]
    raise UserFileError(f"{folder}: upsampler {saved['upsampler']!r} with options {options!r} "
                        f"is none of the compare variants ({', '.join(VARIANTS)})")


SHARED = ("model", "model_options", "batch_size", "crop", "lr", "stft_weight", "sample_rate",
          "loss", "schedule", "warmup", "ema")


def _collected_config(saved: list[dict[str, Any]], variants: list[str], base: CompareConfig
                      ) -> CompareConfig:
    """A compare config that describes the collected runs (which must share every
    setting but the upsampler, the seed and the budget)."""
    # what a variant sets of the model options differs from run to run by design
    own = {k for name in variants for k in VARIANTS[name].model_overrides}
    saved = [{**s, "model_options": {k: v for k, v in (s.get("model_options") or {}).items()
                                     if k not in own}} for s in saved]
    first = saved[0]
    for name in SHARED:
        values = {repr(s.get(name)) for s in saved}
        if len(values) > 1:
            raise UserFileError(f"the runs to collect differ in {name} "
                                f"({', '.join(sorted(values))}); a report compares runs "
                                "that differ only in the upsampler and the seed")
    task = next((t.name for t in TASKS.values() if t.model == first["model"]), base.task)
    seeds = sorted({int(s["seed"]) for s in saved})
    known = {f: first.get(f) for f in ("eval_every", "eval_seconds", "plateau_db",
                                       "plateau_fraction", "min_steps") if f in first}
    return CompareConfig(
        task=task, model=first["model"], data=base.data,
        variants=tuple(dict.fromkeys(variants)), steps=max(int(s["steps"]) for s in saved),
        seeds=len(seeds), seed=seeds[0], batch_size=first["batch_size"], crop=first["crop"],
        lr=first["lr"], stft_weight=first["stft_weight"], sample_rate=first["sample_rate"],
        # the recipe of the runs (a run folder written before these settings had the
        # training defaults: L1, a constant rate, no weight average)
        loss=first.get("loss", "l1"), schedule=first.get("schedule", "constant"),
        warmup=first.get("warmup", 0.0), ema=first.get("ema", 0.0),
        model_options=dict(first.get("model_options") or {}), naive_timing=base.naive_timing,
        timing_steps=base.timing_steps, timing_warmup=base.timing_warmup,
        audit_seconds=base.audit_seconds, clip_seconds=base.clip_seconds, device=base.device,
        threads=base.threads, preset=base.preset, test_data=base.test_data, **known)


def collect(run_dirs: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str], *,
            base: CompareConfig | None = None, force: bool = False, progress: bool = True,
            echo: Echo | None = None) -> dict[str, Any]:
    """The compare report of training runs made elsewhere (``upsamplers train``
    run folders, e.g. from a cluster): each run is measured here (scores on the
    validation split of ``base.data``, or of the data the runs name, audits,
    outputs) into ``out/runs/<variant>/seed-<seed>/``, the run folders themselves
    are only read, and the report is the one :func:`compare` writes. Every run
    must share the model and training settings, differing only in the upsampler
    and the seed. ``base``: the measuring settings (audit seconds, clip seconds,
    timing, device, data)."""
    if isinstance(run_dirs, (str, os.PathLike)) or not isinstance(run_dirs, Sequence):
        raise InvalidType(f"run_dirs must be a list of run folders; received run_dirs={run_dirs!r}")
    if not run_dirs:
        raise UserFileError("collect needs at least one run folder")
    base = base or CompareConfig()
    check_bool("force", force)
    out = check_path("out", out)
    folders = [check_path("run_dirs", d) for d in run_dirs]
    _check_collect_out(out, folders)
    with RunLock(out):
        return _collect(folders, out, base, force, progress, _say(echo))


def _check_collect_out(out: Path, folders: Sequence[Path]) -> None:
    """Refuse an ``out`` that is, or lies inside, a run folder being collected:
    collect only reads the run folders."""
    target = Path(os.path.realpath(out))
    for folder in folders:
        real = Path(os.path.realpath(folder))
        if target == real or real in target.parents:
            raise UserFileError(f"out {out} is inside the run folder {folder}, which collect only "
                                "reads; choose another --out")


def _destinations(out: Path, folders: Sequence[Path], variants: Sequence[str],
                  saved: Sequence[dict[str, Any]]) -> list[Path]:
    """Where each collected run's measurements go (``out/runs/<variant>/seed-<s>``);
    refused when two runs share a variant and a seed (one would replace the
    other's) or a destination is a run folder itself (it is only read)."""
    dests: dict[Path, Path] = {}
    for folder, name, settings in zip(folders, variants, saved, strict=True):
        dest = run_folder(out, name, int(settings["seed"]))
        if dest in dests:
            raise UserFileError(f"{dests[dest]} and {folder} are both {name} runs with seed "
                                f"{settings['seed']}; collect one run per variant and seed")
        if os.path.realpath(dest) == os.path.realpath(folder):
            raise UserFileError(f"out {out} would measure {folder} into itself; collect only "
                                "reads the run folders: choose another --out")
        dests[dest] = folder
    return list(dests)


def _collect(folders: Sequence[Path], out: Path, base: CompareConfig, force: bool,
             progress: bool, say: Echo) -> dict[str, Any]:
    """:func:`collect` once ``out`` is held."""
    saved = [_run_config(f) for f in folders]
    for folder, settings in zip(folders, saved, strict=True):
        _check_run_model(folder, settings)
        _check_run_log(folder)
    variants = [_variant_of(f, s) for f, s in zip(folders, saved, strict=True)]
    dests = _destinations(out, folders, variants, saved)
    config = _collected_config(saved, variants, base)
    if config.data is None:
        named = {s.get("data") for s in saved}
        config.data = named.pop() if len(named) == 1 else None
    config.validate()
    root, device = _open_out(config, out, force, trains=False, runs=len(folders))
    started = time.perf_counter()
    timing = _timing(config, out, root, device, progress, say)
    validation = signals(validation_set(config, root))
    test = test_signals(config, expected_sources(config, root))
    results = []
    for folder, name, settings, dest in zip(folders, variants, saved, dests, strict=True):
        seed = int(settings["seed"])
        say(f"measuring {name} seed {seed} ({folder})")
        result = measure_run(folder, root, config, device, out=out, variant=VARIANTS[name],
                             seed=seed, validation=validation, dest=dest, test=test)
        write_json(dest / RESULT, result.to_dict())
        results.append(result)
    return _finish(config, out, root, device, timing, results, [],
                   seconds=time.perf_counter() - started)
