"""The ``compare`` job: rank upsamplers on real audio by quality, speed and artifacts.

For every upsampler *variant* (a kind of :func:`upsamplers.make_upsampler` with
its options, e.g. ``subpixel-icnr``) the chosen reference model is trained with
:func:`upsamplers.train.train` under the same budget, seed and data, then:

* **speed**: the median time of one training step (forward, loss, backward,
  Adam), measured for all variants *round-robin* on the same batch before any
  training (so that a change of load on a shared machine hits every variant
  alike), and its ratio to subpixel; the naive (high-rate) forms of the
  interpolation kinds are timed too (timing-only rows), which is the form the
  article timed;
* **inference**: real-time factor of reconstructing the validation split
  (processing seconds / audio seconds; below 1 is faster than real time);
* **quality**: validation SI-SDR and SDR (:mod:`upsamplers.metrics`);
* **artifacts**: :func:`upsamplers.analysis.audit` of ``model.upsampling_part()``
  on silence, ones and noise, at initialisation and after training: the worst
  tone (dB above its local floor, with its frequency and probe) and the noise
  response at 0.9 of the input Nyquist (filtering);
* the outputs on a held-out clip and on silence, as wav files and spectrograms.

Budget: ``steps`` per variant, or ``minutes`` of training per variant (turned
into a step count per variant from its measured step time, so every variant
gets the same training time).

Loss and learning rate. The compare job trains with the L1 loss only
(``stft_weight=0``) and ``lr=1e-3`` by default: on the embedded chorales, L1 +
multi-resolution STFT made every step about five times slower on CPU and, in a
few hundred steps, drove the STFT term down while the waveform (L1) error stayed
put, leaving SI-SDR far below 0 dB; the log-magnitude term weighs the near-silent
bins of the chorales as much as the notes, and says nothing of phase. L1 alone
at ``lr=1e-3`` gave positive SI-SDR within the default budget (``lr=3e-4`` was
slower, ``3e-3`` no better). Both are options.

Files in ``out``: ``compare.json`` (the settings), ``timing.json``,
``variants/<name>/`` (the training run, ``init_audit.json``, ``clip.wav``,
``silence.wav``, ``clip.png``, ``silence.png`` and, last, ``result.json``: a
variant is finished when its ``result.json`` exists, and a rerun of the same
command skips it), ``input_clip.wav`` / ``input_clip.png``, and the reports
``report.md``, ``report.json``, ``report.html``.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ._checks import check_bool, check_choice, check_positive_int
from .timing import cpu_name

# --------------------------------------------------------------------------- variants


@dataclass(frozen=True)
class Variant:
    """An upsampler to compare: a kind and its options, under a short name."""

    name: str
    kind: str
    options: tuple[tuple[str, Any], ...] = ()
    description: str = ""

    @property
    def upsampler_options(self) -> dict[str, Any]:
        return dict(self.options)


VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("transposed", "transposed", (), "transposed convolution, default init"),
    Variant("transposed-nearest", "transposed", (("init", "nearest"),),
            "transposed convolution, nearest-neighbour init"),
    Variant("subpixel", "subpixel", (), "subpixel convolution, default init"),
    Variant("subpixel-icnr", "subpixel", (("init", "icnr"),), "subpixel convolution, ICNR init"),
    Variant("nearest", "nearest", (), "nearest interpolation + conv (polyphase)"),
    Variant("linear", "linear", (), "linear interpolation + conv (polyphase)"),
    Variant("sinc", "sinc", (), "windowed-sinc interpolation + conv (polyphase)"),
    Variant("nearest-naive", "nearest", (("impl", "naive"),),
            "nearest interpolation + conv, naive (high-rate) form"),
    Variant("linear-naive", "linear", (("impl", "naive"),),
            "linear interpolation + conv, naive (high-rate) form"),
    Variant("sinc-naive", "sinc", (("impl", "naive"),),
            "windowed-sinc interpolation + conv, naive (high-rate) form"),
)}
DEFAULT_KINDS = ("transposed", "transposed-nearest", "subpixel", "subpixel-icnr", "nearest",
                 "linear", "sinc")
# the naive form timed beside each polyphase interpolation kind
NAIVE_OF = {"nearest": "nearest-naive", "linear": "linear-naive", "sinc": "sinc-naive"}
REFERENCE = "subpixel"
DEFAULT_STEPS = 300
PARITY = 1.25  # "at parity": step time within a factor 1.25 of subpixel's
COMPARE_MODELS = ("autoencoder", "demucs")
REPORT_FILES = ("report.md", "report.json", "report.html")
RESULT = "result.json"
SETTINGS = "compare.json"
TIMING = "timing.json"


@dataclass
class CompareConfig:
    """Settings of a compare run (the command's flags).

    ``steps`` and ``minutes`` are per variant; give at most one (default
    ``steps=300``). ``data=None`` is the embedded data set. ``threads``: CPU
    threads of torch during the run (default 1: these small models gain little from
    more, and on a machine whose cores are busy, multi-threaded steps stalled here
    to 0.6 s against 0.07 s on one thread).
    """

    model: str = "autoencoder"
    data: str | None = None
    kinds: tuple[str, ...] = DEFAULT_KINDS
    steps: int | None = None
    minutes: float | None = None
    seed: int = 0
    batch_size: int = 8
    crop: int = 16384
    lr: float = 1e-3
    stft_weight: float = 0.0
    sample_rate: int = 16000
    model_options: dict[str, Any] = field(default_factory=dict)
    naive_timing: bool = True
    timing_steps: int = 10
    timing_warmup: int = 2
    audit_seconds: float = 16.0
    clip_seconds: float = 4.0
    device: str | None = None
    threads: int = 1

    def validate(self) -> CompareConfig:
        check_choice("model", self.model, COMPARE_MODELS)
        if isinstance(self.kinds, str) or not isinstance(self.kinds, (tuple, list)):
            raise TypeError(f"kinds must be a sequence of variant names; "
                            f"received kinds={self.kinds!r}")
        if not self.kinds:
            raise ValueError("kinds must name at least one variant; received kinds=()")
        for kind in self.kinds:
            if kind not in VARIANTS:
                raise ValueError(f"unknown kind {kind!r}; kinds must be among "
                                 f"{', '.join(VARIANTS)}; received kinds={list(self.kinds)!r}")
        if len(set(self.kinds)) != len(self.kinds):
            raise ValueError(f"kinds must be distinct; received kinds={list(self.kinds)!r}")
        self.kinds = tuple(self.kinds)
        if self.steps is not None and self.minutes is not None:
            raise ValueError(f"give steps or minutes, not both; received steps={self.steps!r}, "
                             f"minutes={self.minutes!r}")
        if self.steps is not None:
            check_positive_int("steps", self.steps)
        if self.minutes is not None:
            _check_positive_float("minutes", self.minutes)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0; received seed={self.seed!r}")
        for name in ("batch_size", "crop", "sample_rate", "timing_steps"):
            check_positive_int(name, getattr(self, name))
        check_positive_int("timing_warmup", self.timing_warmup, minimum=0)
        for name in ("lr", "audit_seconds", "clip_seconds"):
            _check_positive_float(name, getattr(self, name))
        if isinstance(self.stft_weight, bool) or not isinstance(self.stft_weight, (int, float)) \
                or not math.isfinite(self.stft_weight) or self.stft_weight < 0:
            raise ValueError(f"stft_weight must be a finite number >= 0; "
                             f"received stft_weight={self.stft_weight!r}")
        if not isinstance(self.model_options, dict):
            raise TypeError(f"model_options must be a dict; "
                            f"received model_options={self.model_options!r}")
        check_bool("naive_timing", self.naive_timing)
        check_positive_int("threads", self.threads)
        if self.device is not None:
            check_choice("device", self.device, ("cpu", "cuda"))
            cuda = torch.cuda.is_available()
            if self.device == "cuda" and not cuda:
                raise ValueError("device='cuda' was asked for but no CUDA GPU is available; "
                                 "received device='cuda'")
            if self.device == "cpu" and cuda:
                raise ValueError("training uses the GPU whenever one is visible; to run on the "
                                 "CPU hide it (CUDA_VISIBLE_DEVICES=); received device='cpu'")
        return self

    @property
    def budget_steps(self) -> int | None:
        """Steps per variant (``None`` under a time budget)."""
        if self.minutes is not None:
            return None
        return DEFAULT_STEPS if self.steps is None else self.steps

    def timed_variants(self) -> list[str]:
        """The trained variants, subpixel (the reference of the ratios) and the naive
        forms of the interpolation kinds, in that order, without repeats."""
        names = list(self.kinds)
        extra = [REFERENCE] + ([NAIVE_OF[k] for k in self.kinds if k in NAIVE_OF]
                               if self.naive_timing else [])
        return names + [n for n in extra if n not in names]

    def settings(self) -> dict[str, Any]:
        """What must match for a run to be resumed (everything but the device)."""
        d = asdict(self)
        d["kinds"] = list(self.kinds)
        d.pop("device")
        d.pop("threads")
        return d


def _check_positive_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0; received {name}={value!r}")
    return float(value)


# --------------------------------------------------------------------------- files


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _write_json(path: Path, value: Any) -> None:
    _atomic_write(path, json.dumps(_plain(value), indent=2) + "\n")


def _plain(value: Any) -> Any:
    """JSON-ready: non-finite floats as ``None``, numpy scalars as numbers."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _check_out(out: Path, config: CompareConfig, force: bool) -> None:
    """Refuse an ``out`` that holds a report (unless ``force``), a compare run with
    other settings, or anything else that is not ours."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"out must be a folder; received out={str(out)!r} (a file)")
    if not out.exists():
        return
    reports = [name for name in REPORT_FILES if (out / name).exists()]
    if reports and not force:
        raise ValueError(f"{out} already holds a report ({', '.join(reports)}); pass --force to "
                         "replace it, or choose another --out")
    settings = out / SETTINGS
    if settings.is_file():
        try:
            saved = json.loads(settings.read_text())
        except ValueError:
            raise ValueError(f"{settings} is not valid JSON; choose another --out") from None
        current = _plain(config.settings())
        changed = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
        if changed:
            raise ValueError(
                f"{out} holds a compare run with other settings ("
                + ", ".join(f"{k}={current.get(k)!r}, saved {saved.get(k)!r}" for k in changed)
                + "); choose another --out to start a new one")
    elif any(out.iterdir()):
        raise ValueError(f"out must be a new or empty folder, or a compare run to resume; "
                         f"{out} holds other files")


# --------------------------------------------------------------------------- data


def _check_data(config: CompareConfig) -> Path:
    """The data folder, after checking that it exists and holds usable training and
    validation audio (``ValueError`` naming it otherwise)."""
    from .data import default_data_dir, is_stem_folder

    if config.data is None:
        root = default_data_dir()
    else:
        if not isinstance(config.data, (str, os.PathLike)):
            raise TypeError(f"data must be a path to a folder; received data={config.data!r}")
        root = Path(config.data)
        if not root.is_dir():
            raise ValueError(f"data must be an existing folder of audio; received "
                             f"data={str(config.data)!r} (no such folder)")
    if not any(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")):
        raise ValueError(f"data folder {root} is empty; it must hold audio files (.wav, .flac, "
                         ".ogg) or stem folders (<track>/<stem>.flac)")
    if config.model == "demucs" and not is_stem_folder(root):
        raise ValueError(f"the demucs model trains on a stem folder (<track>/<stem>.flac); "
                         f"data={str(root)!r} is not one")
    for split in ("train", "validation"):
        try:
            _validation_set(config, root, split)
        except ValueError as error:
            raise ValueError(f"data {root}: {error}") from None
    return root


def _validation_set(config: CompareConfig, root: Path, split: str = "validation") -> Any:
    from .data import StemFolder, open_audio_dataset

    channels = int(config.model_options.get(
        "audio_channels" if config.model == "demucs" else "channels", 1))
    common = dict(split=split, sample_rate=config.sample_rate, channels=channels,
                  crop=config.crop, seed=config.seed)
    if config.model == "demucs":
        return StemFolder(root, **common)
    return open_audio_dataset(root, **common)


def _signals(dataset: Any, separator: bool) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """Every validation clip whole: ``(name, input (C, T), target)``; the target is
    the input (``(C, T)``) for an autoencoder, the sources (``(S, C, T)``) for a
    stem folder's separator."""
    out = []
    for index, clip in enumerate(dataset.clips):
        if hasattr(dataset, "track"):
            name, mixture, sources = dataset.track(index)
            if not separator:
                sources = mixture
        else:
            name, mixture = clip.name, torch.from_numpy(dataset.window(clip, 0, clip.frames)[0])
            sources = mixture
        out.append((name, mixture, sources))
    return out


# --------------------------------------------------------------------------- measurements


def _train_config(config: CompareConfig, variant: Variant, steps: int, root: Path) -> Any:
    from .train import TrainConfig

    return TrainConfig(
        model=config.model, upsampler=variant.kind, data=str(root), steps=steps,
        batch_size=config.batch_size, lr=config.lr, seed=config.seed,
        checkpoint_every=max(1, min(50, steps)), log_every=max(1, min(10, steps)),
        crop=config.crop, sample_rate=config.sample_rate, stft_weight=config.stft_weight,
        model_options=dict(config.model_options), upsampler_options=variant.upsampler_options,
    ).validate()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_training_steps(config: CompareConfig, root: Path, names: Sequence[str],
                        device: torch.device, *, progress: bool = False) -> dict[str, Any]:
    """Median seconds of one training step of every variant in ``names``, timed
    round-robin (one step of each in turn, ``timing_warmup`` rounds untimed) on the
    first training batch, from the seeded initial weights."""
    from .train import ReconstructionLoss, Task

    runs = []
    batch = None
    for name in names:
        task = Task(_train_config(config, VARIANTS[name], 1, root))
        model = task.build_model().to(device).train()
        if batch is None:
            batch = task.batch(list(range(config.batch_size)))
            batch = tuple(b.to(device) for b in batch) if isinstance(batch, tuple) \
                else batch.to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        runs.append((name, task, model, optimizer))
    criterion = ReconstructionLoss(config.stft_weight).to(device)
    times: dict[str, list[float]] = {name: [] for name in names}
    rounds = config.timing_warmup + config.timing_steps
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=rounds * len(runs), unit="step", desc="timing steps", leave=False,
                   dynamic_ncols=True)
    try:
        for r in range(rounds):
            for name, task, model, optimizer in runs:
                _sync(device)
                start = time.perf_counter()
                optimizer.zero_grad(set_to_none=True)
                loss, _ = task.loss(model, batch, criterion)
                loss.backward()
                optimizer.step()
                _sync(device)
                if r >= config.timing_warmup:
                    times[name].append(time.perf_counter() - start)
                if bar is not None:
                    bar.set_postfix_str(name)
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return {
        "method": f"round-robin, {config.timing_warmup} warm-up + {config.timing_steps} timed "
                  f"steps per variant, batch {config.batch_size} x {config.crop} samples",
        "device": str(device), "threads": torch.get_num_threads(),
        "median_s": {n: statistics.median(t) for n, t in times.items()},
        "min_s": {n: min(t) for n, t in times.items()},
        "parameters": {name: model.num_parameters() for name, _, model, _ in runs},
    }


def worst_tone(report: Any) -> dict[str, Any] | None:
    """The strongest measured tone of an audit over its probes: level (dB above its
    local floor), frequency (Hz) and probe; ``None`` when no level is finite (e.g.
    an output that is exactly zero)."""
    best = None
    for probe, result in report.probes.items():
        for tone in result.tones.tones:
            if math.isfinite(tone.level_db) and (best is None or tone.level_db > best[0]):
                best = (tone.level_db, tone, probe)
    if best is None:
        return None
    level, tone, probe = best
    return {"level_db": float(level), "frequency_hz": float(tone.frequency), "probe": probe,
            "found": bool(tone.found), "relative_db": float(tone.relative_db)}


def audit_summary(model: Any, seconds: float) -> dict[str, Any]:
    """Audit of ``model.upsampling_part()`` on silence, ones and noise: the worst
    tone, the filtering at 0.9 of the input Nyquist, the verdicts and the full
    audit."""
    from .analysis import audit

    report = audit(model.upsampling_part(), float(model.sample_rate),
                   inputs=("silence", "ones", "noise"), seconds=seconds)
    attenuation = None
    f = report.filtering
    # read only when the bins resolve the reference band (0, 0.2] of the input Nyquist
    # from 0.9 of it: at least two bins in that band (else the audit falls back on the
    # whole band and reads 0 dB everywhere; give more audit seconds)
    if f is not None and f.curve.bin_width <= 0.1 * report.input_rate / 2:
        attenuation = f.attenuation_db[f.fractions.index(0.9)]
    return {"worst_tone": worst_tone(report), "attenuation_09_db": attenuation,
            "verdicts": {k: v.status for k, v in report.verdicts.items()},
            "audit": report.to_dict()}


def _run_model(model: Any, device: torch.device) -> Callable[[torch.Tensor], torch.Tensor]:
    def run(x: torch.Tensor) -> torch.Tensor:
        return model(x.to(device)).cpu()
    return run


def score(model: Any, signals: list[tuple[str, torch.Tensor, torch.Tensor]],
          device: torch.device) -> dict[str, Any]:
    """Validation SI-SDR and SDR (means over tracks, and sources for a separator)
    and the inference real-time factor (processing seconds / audio seconds)."""
    from .inference import overlap_add
    from .metrics import sdr, si_sdr

    chunk = model.length
    tracks = []
    seconds = audio = 0.0
    for name, mixture, target in signals:
        _sync(device)
        start = time.perf_counter()
        estimate = overlap_add(_run_model(model, device), mixture, chunk=chunk,
                               overlap=chunk // 4)
        _sync(device)
        seconds += time.perf_counter() - start
        audio += mixture.shape[-1] / model.sample_rate
        tracks.append({"track": name, "si_sdr": float(np.mean(si_sdr(estimate, target))),
                       "sdr": float(np.mean(sdr(estimate, target)))})

    def mean(key: str) -> float | None:
        values = [t[key] for t in tracks if math.isfinite(t[key])]
        return float(np.mean(values)) if values else None

    return {"si_sdr": mean("si_sdr"), "sdr": mean("sdr"), "tracks": tracks,
            "inference_seconds": seconds, "audio_seconds": audio,
            "real_time_factor": seconds / audio}


# --------------------------------------------------------------------------- one variant


def _held_out_clip(signals: list[tuple[str, torch.Tensor, torch.Tensor]], rate: int,
                   seconds: float) -> tuple[str, torch.Tensor]:
    name, mixture, _ = signals[0]
    return name, mixture[..., : min(mixture.shape[-1], max(1, int(seconds * rate)))]


def _outputs(model: Any, clip: torch.Tensor, device: torch.device) -> dict[str, np.ndarray]:
    """Outputs ``(C, T)`` on the clip and on silence of its length (a separator's
    first source)."""
    from .inference import overlap_add

    chunk = model.length
    out = {}
    for name, x in (("clip", clip), ("silence", torch.zeros_like(clip))):
        y = overlap_add(_run_model(model, device), x, chunk=chunk, overlap=chunk // 4)
        if y.dim() == 3:  # (S, C, T): the first source
            y = y[0]
        out[name] = y.numpy()
    return out


def run_variant(config: CompareConfig, variant: Variant, folder: Path, steps: int, root: Path,
                signals: list[tuple[str, torch.Tensor, torch.Tensor]], device: torch.device,
                *, progress: bool = False, echo: Callable[[str], None] | None = None
                ) -> dict[str, Any] | None:
    """Train, evaluate and audit one variant in ``folder``; write ``result.json``
    last. Returns the result, or ``None`` if training was interrupted."""
    from .analysis.plots import marked_frequencies, spectrogram_png
    from .data import write_audio
    from .models import load_model
    from .train import CHECKPOINT, FINAL, Task, train

    begun = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    train_config = _train_config(config, variant, steps, root)
    init_path = folder / "init_audit.json"
    if init_path.is_file():
        init = json.loads(init_path.read_text())
    else:
        torch.manual_seed(config.seed)
        model = Task(train_config).build_model()
        init = _plain({**audit_summary(model, config.audit_seconds),
                       "parameters": model.num_parameters()})
        _write_json(init_path, init)
    if not (folder / FINAL).is_file():
        result = train(train_config, folder, resume=(folder / CHECKPOINT).is_file(),
                       progress=progress, echo=echo or (lambda message: None))
        if result.interrupted:
            return None
    model = load_model(folder / FINAL).eval().to(device)
    scores = score(model, signals, device)
    trained = _plain(audit_summary(model, config.audit_seconds))
    clip = _held_out_clip(signals, model.sample_rate, config.clip_seconds)[1]
    files = {}
    marks = marked_frequencies(model.sample_rate, _factors(trained))
    for name, audio in _outputs(model, clip, device).items():
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
    log = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()
           if line.strip()]
    ends = [r for r in log if r.get("event") == "end"]
    losses = [r for r in log if "loss" in r and "event" not in r]
    result = {
        "variant": variant.name, "kind": variant.kind, "options": variant.upsampler_options,
        "description": variant.description, "parameters": model.num_parameters(),
        "steps": steps, "train_seconds": ends[-1]["seconds"] if ends else None,
        "first_loss": losses[0]["loss"] if losses else None,
        "last_loss": losses[-1]["loss"] if losses else None,
        "si_sdr": scores["si_sdr"], "sdr": scores["sdr"],
        "real_time_factor": scores["real_time_factor"], "tracks": scores["tracks"],
        "init": init, "trained": trained, "files": files,
        # wall time of the invocation that finished the variant (training, scoring, audits,
        # files); a resumed variant's earlier training is in train_seconds only
        "wall_seconds": time.perf_counter() - begun,
    }
    _write_json(folder / RESULT, result)
    return result


def _factors(summary: dict[str, Any]) -> list[int]:
    return [int(f) for f in summary["audit"]["factors"]]


# --------------------------------------------------------------------------- the job


def compare(config: CompareConfig, out: str | os.PathLike[str], *, force: bool = False,
            progress: bool = True, echo: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the compare job into ``out`` and write its reports; returns the report
    as a JSON-ready dictionary. Finished variants of an earlier run with the same
    settings are reused. ``KeyboardInterrupt`` when training is interrupted (the
    unfinished variant resumes from its checkpoint on the next run)."""
    config.validate()
    check_bool("force", force)
    if not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"out must be a path to a folder; received out={out!r}")
    out = Path(out)
    say = echo or (lambda message: print(message, file=sys.stderr, flush=True))
    _check_out(out, config, force)
    root = _check_data(config)
    device = torch.device(config.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    out.mkdir(parents=True, exist_ok=True)
    if not (out / SETTINGS).is_file():
        _write_json(out / SETTINGS, config.settings())
    threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        return _compare(config, out, root, device, progress, say)
    finally:
        torch.set_num_threads(threads)


def _compare(config: CompareConfig, out: Path, root: Path, device: torch.device,
             progress: bool, say: Callable[[str], None]) -> dict[str, Any]:
    from .compare_report import write_reports

    started = time.perf_counter()

    if (out / TIMING).is_file():
        timing = json.loads((out / TIMING).read_text())
    else:
        say(f"timing one training step of {', '.join(config.timed_variants())} (round-robin)")
        begun = time.perf_counter()
        timing = time_training_steps(config, root, config.timed_variants(), device,
                                     progress=progress)
        timing["seconds"] = time.perf_counter() - begun
        _write_json(out / TIMING, timing)
    steps_of = {}
    for name in config.kinds:
        if config.minutes is not None:
            steps_of[name] = max(1, int(config.minutes * 60 / timing["median_s"][name]))
        else:
            steps_of[name] = int(config.budget_steps or DEFAULT_STEPS)

    signals = _signals(_validation_set(config, root), config.model == "demucs")
    clip_name, clip = _held_out_clip(signals, config.sample_rate, config.clip_seconds)
    from .data import write_audio

    write_audio(out / "input_clip.wav", clip.numpy(), config.sample_rate, force=True,
                subtype="FLOAT")
    from .analysis.plots import spectrogram_png

    spectrogram_png(out / "input_clip.png", clip[0].numpy(), config.sample_rate,
                    title=f"input: held-out clip ({clip_name})")

    results: dict[str, dict[str, Any]] = {}
    reused: list[str] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(config.kinds), unit="variant", desc="compare", position=0,
                   dynamic_ncols=True)
    try:
        for index, name in enumerate(config.kinds):
            folder = out / "variants" / name
            if bar is not None:
                bar.set_description(f"compare [{index + 1}/{len(config.kinds)}] {name}")
            if (folder / RESULT).is_file():
                results[name] = json.loads((folder / RESULT).read_text())
                reused.append(name)
                say(f"{name}: finished in an earlier run; reused")
            else:
                result = run_variant(config, VARIANTS[name], folder, steps_of[name], root,
                                     signals, device, progress=progress, echo=say)
                if result is None:
                    raise KeyboardInterrupt(f"interrupted while training {name}; run the same "
                                            "command again to resume")
                results[name] = result
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    report = build_report(config, root, timing, results, clip_name, device,
                          seconds=time.perf_counter() - started, reused=reused)
    write_reports(out, report)
    return report


# --------------------------------------------------------------------------- the report


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
        for name in ("nearest", "linear", "sinc"):
            if name in median:
                ratio = median[name] / ref
                out["parity"][name] = {"ratio": ratio,
                                       "at_parity": bool(1 / PARITY <= ratio <= PARITY),
                                       "faster": bool(ratio < 1 / PARITY)}
    return out


def _verdict(row: dict[str, Any], rank: int | None, count: int) -> str:
    parts = []
    if row["si_sdr"] is not None:
        parts.append(f"SI-SDR {row['si_sdr']:.1f} dB (#{rank} of {count})")
    if row["step_ratio"] is not None:
        parts.append(f"{row['step_ratio']:.2f}x subpixel's step time")
    tone = row["tone_trained"]
    tonal = row["verdicts"].get("tonal")
    if tone is not None:
        parts.append(f"tones: {tonal} (worst {tone['level_db']:.1f} dB above floor at "
                     f"{tone['frequency_hz']:.0f} Hz, {tone['probe']})")
    elif tonal is not None:
        parts.append(f"tones: {tonal}")
    if row["attenuation_09_db"] is not None:
        parts.append(f"filtering: {row['verdicts'].get('filtering')} "
                     f"({row['attenuation_09_db']:.1f} dB at 0.9 Nyquist)")
    return "; ".join(parts)


def build_report(config: CompareConfig, root: Path, timing: dict[str, Any],
                 results: dict[str, dict[str, Any]], clip_name: str, device: torch.device,
                 *, seconds: float, reused: Sequence[str] = ()) -> dict[str, Any]:
    """All figures of a compare run, the rows of its table and its reading."""
    import platform

    median = timing["median_s"]
    ref = median.get(REFERENCE)
    rows = []
    for name in config.timed_variants():
        variant = VARIANTS[name]
        result = results.get(name)
        step = median.get(name)
        row: dict[str, Any] = {
            "variant": name, "kind": variant.kind, "options": variant.upsampler_options,
            "trained": result is not None,
            "parameters": result["parameters"] if result else timing["parameters"][name],
            "step_ms": step * 1e3 if step is not None else None,
            "step_ratio": step / ref if step is not None and ref else None,
            "real_time_factor": result["real_time_factor"] if result else None,
            "si_sdr": result["si_sdr"] if result else None,
            "sdr": result["sdr"] if result else None,
            "tone_init": result["init"]["worst_tone"] if result else None,
            "tone_trained": result["trained"]["worst_tone"] if result else None,
            "attenuation_09_db": result["trained"]["attenuation_09_db"] if result else None,
            "attenuation_09_db_init": result["init"]["attenuation_09_db"] if result else None,
            "verdicts": result["trained"]["verdicts"] if result else {},
            "verdicts_init": result["init"]["verdicts"] if result else {},
            "steps": result["steps"] if result else None,
            "files": result["files"] if result else {},
        }
        rows.append(row)
    trained = [r for r in rows if r["trained"] and r["si_sdr"] is not None]
    ranked = sorted(trained, key=lambda r: -r["si_sdr"])
    for row in rows:
        rank = ranked.index(row) + 1 if row in ranked else None
        row["si_sdr_rank"] = rank
        row["verdict"] = (_verdict(row, rank, len(ranked)) if row["trained"]
                          else "timing only (not trained)")
    claims = speed_claims(median)
    budget = (f"{config.minutes:g} min of training per variant" if config.minutes is not None
              else f"{config.budget_steps} steps per variant")
    report = {
        "settings": {**config.settings(), "data": str(root), "budget": budget},
        "machine": {"platform": platform.platform(), "processor": cpu_name(),
                    "cpus": os.cpu_count(), "torch": torch.__version__, "device": str(device),
                    "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
                    "threads": torch.get_num_threads()},
        "timing": timing, "speed_claims": claims, "held_out_clip": clip_name,
        "rows": rows, "variants": results, "seconds": seconds, "reused": list(reused),
        "work_seconds": _work_seconds(timing, results),
    }
    report["reading"] = reading(report)
    return _plain(report)


def _work_seconds(timing: dict[str, Any], results: dict[str, dict[str, Any]]) -> float | None:
    """Timing phase plus every variant's wall time, whichever invocation ran them
    (``None`` if one of them was not recorded)."""
    parts = [timing.get("seconds")] + [r.get("wall_seconds") for r in results.values()]
    return None if any(p is None for p in parts) else float(sum(parts))




def reading(report: dict[str, Any]) -> list[str]:
    """Sentences computed from the figures: quality, speed (the article's claims,
    stated as measured), tones and filtering."""
    rows = report["rows"]
    trained = [r for r in rows if r["trained"]]
    lines = []
    scored = sorted((r for r in trained if r["si_sdr"] is not None), key=lambda r: -r["si_sdr"])
    if scored:
        best, worst = scored[0], scored[-1]
        text = f"Best validation SI-SDR: {best['variant']} ({best['si_sdr']:.2f} dB)"
        if len(scored) > 1:
            text += (f"; worst: {worst['variant']} ({worst['si_sdr']:.2f} dB), a spread of "
                     f"{best['si_sdr'] - worst['si_sdr']:.2f} dB")
        lines.append(text + f", after {report['settings']['budget']}.")
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
                f"{r['variant']} ({r['tone_trained']['level_db']:.1f} dB above floor at "
                f"{r['tone_trained']['frequency_hz']:.0f} Hz)" if r["tone_trained"]
                else r["variant"] for r in toned) + ".")
        else:
            lines.append("No variant has tonal artifacts after training (audit tonal verdict "
                         "pass or warn for all).")
        filt = [r for r in trained if r["attenuation_09_db"] is not None]
        if filt:
            most = min(filt, key=lambda r: r["attenuation_09_db"])
            least = max(filt, key=lambda r: r["attenuation_09_db"])
            lines.append(f"Filtering at 0.9 of Nyquist: from {least['attenuation_09_db']:.1f} dB "
                         f"({least['variant']}) to {most['attenuation_09_db']:.1f} dB "
                         f"({most['variant']}).")
    return lines


# --------------------------------------------------------------------------- command line


def add_subcommand(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "compare", help="rank upsamplers on real audio by quality, speed and artifacts",
        description="Train the chosen model once per upsampler variant (same budget, seed and "
        "data), then report parameters, training step time, inference real-time factor, "
        "validation SI-SDR/SDR and the artifact audit at init and after training, with "
        "spectrograms and audio of each variant's output. Writes report.md, report.json and "
        "report.html into --out. An interrupted run resumes its unfinished variants when the "
        "same command is run again.")
    parser.add_argument("--data", default=None, help="folder of audio or of stems; default: "
                        "the embedded data set")
    parser.add_argument("--model", default="autoencoder",
                        help=f"one of {', '.join(COMPARE_MODELS)} (default autoencoder)")
    parser.add_argument("--kinds", nargs="+", default=None, metavar="KIND",
                        help=f"variants among {', '.join(VARIANTS)}; default: "
                        f"{' '.join(DEFAULT_KINDS)}")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, default=None,
                        help=f"training steps per variant (default {DEFAULT_STEPS})")
    budget.add_argument("--minutes", type=float, default=None,
                        help="training minutes per variant (steps from the measured step time)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--crop", type=int, default=16384, help="samples per training item")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (1e-3)")
    parser.add_argument("--stft-weight", type=float, default=0.0,
                        help="weight of the multi-resolution STFT loss (default 0: L1 only)")
    parser.add_argument("--model-option", action="append", default=[], metavar="KEY=VALUE",
                        help="model constructor argument, e.g. widths=[8,16] (repeatable)")
    parser.add_argument("--audit-seconds", type=float, default=16.0,
                        help="output seconds of every audit probe (default 16)")
    parser.add_argument("--clip-seconds", type=float, default=4.0)
    parser.add_argument("--timing-steps", type=int, default=10)
    parser.add_argument("--no-naive-timing", action="store_true",
                        help="do not time the naive interpolation forms")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads of torch (default 1; see CompareConfig)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default=None,
                        help="default: cuda when available, else cpu")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--force", action="store_true",
                        help="replace the report an --out already holds")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(func=_run_cli)


def _run_cli(args: Any) -> int:
    from .cli.train import key_value as _key_value
    from .data import one_line_warnings

    config = CompareConfig(
        model=args.model, data=args.data,
        kinds=tuple(args.kinds) if args.kinds is not None else DEFAULT_KINDS,
        steps=args.steps, minutes=args.minutes, seed=args.seed, batch_size=args.batch_size,
        crop=args.crop, lr=args.lr, stft_weight=args.stft_weight,
        model_options=dict(_key_value(t) for t in args.model_option),
        naive_timing=not args.no_naive_timing, timing_steps=args.timing_steps,
        audit_seconds=args.audit_seconds, clip_seconds=args.clip_seconds, device=args.device,
        threads=args.threads)
    with one_line_warnings():
        report = compare(config, args.out, force=args.force, progress=not args.no_progress)
    print(f"wrote {args.out / 'report.md'}, report.json and report.html "
          f"({report['seconds']:.0f} s)")
    for line in report["reading"]:
        print(line)
    return 0
