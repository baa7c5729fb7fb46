"""Training of the reference models: Adam, L1 + multi-resolution STFT loss,
atomic checkpoints, exact resume, clean Ctrl-C, DistributedDataParallel.

Determinism: batch ``s`` is made of dataset items ``s * batch_size + j``
(``j < batch_size``), each a crop that is a pure function of ``(seed, index)``
(see :mod:`upsamplers.data`). Training state (weights, Adam, step, torch RNG) is
saved in ``OUT/checkpoint.pt``; resuming from it reproduces the run that was
not interrupted, so ``N`` steps, resume, ``N`` steps give the weights of ``2N``
steps.

Distributed: under ``torchrun --nproc_per_node=P`` every process takes the items
``j`` with ``j % P == rank`` of every batch (``batch_size`` must be a multiple
of ``P``) and DistributedDataParallel averages the gradients, which makes the
update that of the whole batch. Only rank 0 writes checkpoints and logs.

Evaluation and plateau (``eval_every > 0``; the default ``0`` never evaluates):
the model is scored on fixed validation audio (the first validation signals of
the data, cut to ``eval_seconds`` in all) with its primary metric
(:func:`upsamplers.scoring.primary_score`, dB, higher is better) before the first
step, every ``eval_every`` steps and at the last step. A non-finite score (e.g.
an all-zero output) is recorded as ``None`` and counts as ``-inf``. After an
evaluation at step ``s`` the run stops, ``converged``, when
:func:`plateau_reached`: ``s >= min_steps``, at least :data:`MIN_EVALUATIONS`
evaluations after step 0, and, with ``w = plateau_fraction * s``, the best value
at the steps in ``(s - w, s]`` exceeds the best at the steps ``<= s - w`` by less
than ``plateau_db`` dB. ``steps`` is the budget: a run that reaches it ends
``converged`` if its last window gained less than ``plateau_db``, else
``improving`` (:func:`final_status`). Evaluation does not change training: it
runs without gradients, in eval mode, with the random state saved and restored,
so the weights after ``N`` steps are the same with and without it. The curve is
part of the checkpoint's training state, so a resumed run gives the same curve
and stops at the same step. :func:`learning_curve` and :func:`run_status` read
them back from a run folder.

Files in ``OUT``: ``checkpoint.pt`` (the latest state: a model checkpoint
with a ``training`` entry, loadable by :func:`upsamplers.models.load_model`),
``model.pt`` (the final model), ``log.jsonl`` (one JSON object per logged step,
plus ``start``, ``checkpoint``, ``eval`` (``step``, ``metric``, ``value`` in dB or
``null``, ``seconds`` spent), ``interrupted`` and ``end`` (with ``status``:
``"converged"``, ``"improving"``, or ``null`` when not evaluated or
interrupted, and ``stopped_at``) events) and ``config.json``.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch

from ._checks import (
    InvalidType,
    InvalidValue,
    UserFileError,
    UserInputError,
    check_choice,
    check_positive_int,
    check_real,
    missing_file,
)
from ._io import LOCK, RunLock, append_text, atomic_write_text, check_space
from .data import default_data_dir, open_dataset, same_path
from .health import nonfinite_parameters
from .layers import upsampler_kinds
from .layers.registry import check_upsampler_options
from .losses import LOSSES, ReconstructionLoss
from .losses import MultiResolutionSTFTLoss as MultiResolutionSTFTLoss  # re-exported
from .models import (
    MODELS,
    ReferenceModel,
    atomic_torch_save,
    build_model,
    model_class,
    model_from_checkpoint,
    read_checkpoint,
)
from .schedule import WeightAverage, check_schedule, lr_scale
from .scoring import Signal, min_track_samples, primary_metric, primary_score, validation_signals

CHECKPOINT = "checkpoint.pt"
FINAL = "model.pt"
LOG = "log.jsonl"
CONFIG = "config.json"
# settings that must not change when a run is resumed
RESUME_FIXED = ("model", "upsampler", "data", "batch_size", "lr", "seed", "crop", "sample_rate",
                "model_options", "upsampler_options", "stft_weight", "eval_every",
                "eval_seconds", "loss", "schedule", "warmup", "ema")
# settings that name a path: compared after resolving it (./d/ is the same data as /abs/d)
PATH_SETTINGS = ("data",)
# evaluations after step 0 that a plateau needs
MIN_EVALUATIONS = 4
STATUSES = ("converged", "improving")
# a learning curve: (step, primary metric in dB, or None where it was not finite)
Curve = list[tuple[int, float | None]]

#: Highest training rate, Hz (the highest rate common audio hardware records).
MAX_SAMPLE_RATE = 768_000
#: Most samples of one channel in one batch (batch_size * crop): 1 GiB of float32.
#: A batch of 10**12 items hung in the sampler before this bound.
MAX_BATCH_SAMPLES = 2 ** 28


@dataclass
class TrainConfig:
    """Everything that defines a training run (the command's flags).

    ``data=None`` is the embedded data set. ``model_options`` are constructor
    arguments of the model (e.g. ``{"width": 8, "depth": 3}`` for Demucs);
    ``upsampler_options`` those of its upsamplers (e.g. ``{"init": "icnr"}``).

    ``steps`` is the budget (the most steps). ``eval_every``: steps between
    evaluations on the validation audio (``0``: never, and no plateau stop);
    ``eval_seconds``: how much validation audio each evaluation scores (the
    first validation signals, cut to that many seconds in all; fewer if the data
    holds less); ``plateau_db``, ``plateau_fraction``, ``min_steps``: the plateau
    criterion (see the module docstring and :func:`plateau_reached`).

    ``loss``: the waveform term of the loss (``"l1"`` or ``"si_sdr"``, see
    :class:`upsamplers.losses.ReconstructionLoss`), plus ``stft_weight`` times the
    multi-resolution STFT loss. ``schedule`` (``"constant"`` or ``"cosine"``) and
    ``warmup`` (a fraction of ``steps``): the learning rate over the budget, a
    cosine ending at step ``steps`` (:func:`upsamplers.schedule.lr_scale`);
    ``ema``: the decay of an exponential moving average of the weights (``0``:
    none); with one, evaluations score the averaged weights and ``model.pt``
    holds them (:class:`upsamplers.schedule.WeightAverage`).
    """

    model: str = "autoencoder"
    upsampler: str = "transposed"
    data: str | None = None
    steps: int = 1000
    batch_size: int = 8
    lr: float = 3e-4
    seed: int = 0
    checkpoint_every: int = 100
    log_every: int = 10
    crop: int = 16384
    sample_rate: int = 16000
    stft_weight: float = 1.0
    model_options: dict[str, Any] = field(default_factory=dict)
    upsampler_options: dict[str, Any] = field(default_factory=dict)
    eval_every: int = 0
    eval_seconds: float = 20.0
    plateau_db: float = 0.1
    plateau_fraction: float = 0.2
    min_steps: int = 0
    loss: str = "l1"
    schedule: str = "constant"
    warmup: float = 0.0
    ema: float = 0.0

    def validate(self) -> TrainConfig:
        """Check every field; ``InvalidType``/``InvalidValue`` naming the field."""
        check_choice("model", self.model, MODELS)
        check_choice("upsampler", self.upsampler, upsampler_kinds())
        for name in ("steps", "batch_size", "checkpoint_every", "log_every", "crop",
                     "sample_rate"):
            check_positive_int(name, getattr(self, name))
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InvalidValue(f"seed must be an integer >= 0; received seed={self.seed!r}")
        for name in ("lr", "stft_weight"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                    math.isfinite(value) and value >= 0) or (name == "lr" and value == 0):
                allowed = "> 0" if name == "lr" else ">= 0"
                raise InvalidValue(f"{name} must be a finite number {allowed}; "
                                   f"received {name}={value!r}")
        self._validate_plateau()
        check_choice("loss", self.loss, LOSSES)
        check_schedule(self.schedule, self.warmup, self.ema)
        for name in ("model_options", "upsampler_options"):
            if not isinstance(getattr(self, name), dict):
                raise InvalidType(f"{name} must be a dict; received {name}="
                                  f"{getattr(self, name)!r}")
        model_class(self.model).check_option_names(self.model_options)
        check_upsampler_options(self.upsampler, self.upsampler_options)
        self._validate_sizes()
        if self.data is not None and not Path(self.data).is_dir():
            raise InvalidValue(f"data must be a folder of audio; received data={self.data!r} "
                               "(no such folder)")
        return self

    def _validate_sizes(self) -> None:
        """Bounds that keep a run computable: one batch of at most
        :data:`MAX_BATCH_SAMPLES` samples, a rate of at most :data:`MAX_SAMPLE_RATE`
        (a larger one resampled the data for minutes before any error)."""
        if self.sample_rate > MAX_SAMPLE_RATE:
            raise InvalidValue(f"sample_rate must be at most {MAX_SAMPLE_RATE} Hz "
                               f"(upsamplers.train.MAX_SAMPLE_RATE); received "
                               f"sample_rate={self.sample_rate}")
        if self.batch_size * self.crop > MAX_BATCH_SAMPLES:
            raise InvalidValue(f"batch_size * crop must be at most {MAX_BATCH_SAMPLES:,} samples "
                               f"a channel (upsamplers.train.MAX_BATCH_SAMPLES, 1 GiB of "
                               f"float32); received batch_size={self.batch_size}, "
                               f"crop={self.crop} ({self.batch_size * self.crop:,})")

    def _validate_plateau(self) -> None:
        """Check the evaluation and plateau settings."""
        for name in ("eval_every", "min_steps"):
            check_positive_int(name, getattr(self, name), minimum=0)
        check_real("eval_seconds", self.eval_seconds, low=0, low_open=True)
        check_real("plateau_db", self.plateau_db, low=0)
        check_real("plateau_fraction", self.plateau_fraction, low=0, high=1, low_open=True)

    @property
    def evaluates(self) -> bool:
        """Whether the run evaluates itself (and may stop on a plateau)."""
        return self.eval_every > 0

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InvalidValue(f"unknown training setting(s) {', '.join(unknown)}; known: "
                               f"{', '.join(sorted(known))}")
        return cls(**values)


def load_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Settings from a JSON or TOML file (keys as :class:`TrainConfig` fields,
    ``-`` or ``_``)."""
    path = Path(path)
    if not path.is_file():
        raise UserFileError(f"config file {path} {missing_file(path)}")
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".toml":
            import tomllib  # Python >= 3.11

            values = tomllib.loads(text)
        else:
            values = json.loads(text)
    except ImportError:  # pragma: no cover - Python 3.10
        raise UserFileError("TOML config files need Python >= 3.11; use JSON") from None
    except ValueError as error:
        raise UserFileError(f"config file {path} is not valid "
                            f"{'TOML' if path.suffix.lower() == '.toml' else 'JSON'}: {error}"
                            ) from None
    if not isinstance(values, dict):
        raise UserFileError(f"config file {path} must hold a table/object of settings")
    return {k.replace("-", "_"): v for k, v in values.items()}


# --------------------------------------------------------------------------- plateau


def _level(value: float | None) -> float:
    """A curve value as a number: ``None`` or non-finite is ``-inf``."""
    return -math.inf if value is None or not math.isfinite(value) else float(value)


def _check_curve(curve: Curve, fraction: float) -> None:
    check_real("fraction", fraction, low=0, high=1, low_open=True)
    steps = [step for step, _ in curve]
    if any(b <= a for a, b in zip(steps, steps[1:], strict=False)) or any(s < 0 for s in steps):
        raise InvalidValue(f"a curve's steps must be >= 0 and increasing; received {steps}")


def window_gain(curve: Curve, fraction: float) -> float | None:
    """What the last window of ``curve`` gained, in dB: with ``s`` the curve's last
    step and ``w = fraction * s``, the best value at the steps in ``(s - w, s]``
    minus the best value at the steps ``<= s - w`` (``None`` and non-finite
    values count as ``-inf``; two ``-inf`` bests gain ``0``). ``None`` when
    no evaluation is at or before ``s - w`` (nothing to compare with).

    ``curve``: ``(step, value)`` pairs, steps increasing; ``fraction`` in (0, 1].
    """
    _check_curve(curve, fraction)
    if not curve:
        return None
    last = curve[-1][0]
    edge = last - fraction * last
    before = [_level(v) for step, v in curve if step <= edge]
    inside = [_level(v) for step, v in curve if step > edge]
    if not before or not inside:  # nothing to compare with, or a curve at step 0 only
        return None
    best_inside, best_before = max(inside), max(before)
    return 0.0 if best_inside == best_before else best_inside - best_before


def plateau_reached(curve: Curve, fraction: float, db: float, min_steps: int) -> bool:
    """Whether a run whose evaluations so far are ``curve`` has converged: its last
    step ``s >= min_steps``, it holds at least :data:`MIN_EVALUATIONS` evaluations
    at steps ``> 0``, and its last window (``fraction`` of ``s``) gained less
    than ``db`` dB (:func:`window_gain`). A curve that is ``None`` (non-finite)
    throughout is flat at ``-inf``: converged."""
    check_real("db", db, low=0)
    check_positive_int("min_steps", min_steps, minimum=0)
    gain = window_gain(curve, fraction)
    if not curve or curve[-1][0] < min_steps:
        return False
    if sum(1 for step, _ in curve if step > 0) < MIN_EVALUATIONS:
        return False
    return gain is not None and gain < db


def final_status(curve: Curve, fraction: float, db: float) -> str:
    """The status of a run that used its whole budget: ``"converged"`` when its last
    window gained less than ``db`` dB (:func:`window_gain`), else
    ``"improving"`` (still gaining, or too few evaluations to tell)."""
    check_real("db", db, low=0)
    gain = window_gain(curve, fraction)
    return "converged" if gain is not None and gain < db else "improving"


def make_criterion(config: TrainConfig) -> ReconstructionLoss:
    """The loss of a run: ``config.loss`` plus ``config.stft_weight`` times the
    multi-resolution STFT loss."""
    return ReconstructionLoss(config.stft_weight, config.loss)


# --------------------------------------------------------------------------- tasks


class Task:
    """What a model learns from a batch: builds the model and its data, and
    computes the loss of one batch. Everything model-specific is asked of the
    model class (:class:`~upsamplers.models.ReferenceModel`)."""

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        self.model_class = model_class(config.model)
        root = Path(config.data) if config.data is not None else default_data_dir()
        options = self.model_class.upgrade_config(config.model_options)
        self.channels = self.model_class.audio_channels_of(options)
        self.dataset: Any = open_dataset(
            self.model_class.dataset_kind, root, split="train", sample_rate=config.sample_rate,
            channels=self.channels, crop=config.crop, seed=config.seed)
        options = self.model_class.options_for_data(dict(config.model_options), self.dataset)
        options.setdefault("length", config.crop)
        options.setdefault("sample_rate", config.sample_rate)
        if options["sample_rate"] != config.sample_rate:
            raise InvalidValue(f"model_options sample_rate={options['sample_rate']} differs "
                               f"from sample_rate={config.sample_rate}")
        if config.upsampler_options:
            options["upsampler_options"] = dict(config.upsampler_options)
        self.model_options = options

    def build_model(self) -> ReferenceModel:
        """The model, built after checking that ``crop`` fits it."""
        probe = dict(self.model_options)
        probe.pop("length", None)
        shape = build_model(self.config.model, self.config.upsampler, **probe)
        shape.check_multiple_of_hop("crop", self.config.crop)
        torch.manual_seed(self.config.seed)
        return build_model(self.config.model, self.config.upsampler, **self.model_options)

    def validation_signals(self, model: ReferenceModel, seconds: float) -> list[Signal]:
        """The first validation signals of the data, the last one cut so that they
        hold ``seconds`` of audio in all (or all of them, if they hold less):
        ``(name, input (C, T), sources (S, C, T))``, in the model's source order."""
        root = Path(self.config.data) if self.config.data is not None else default_data_dir()
        options: dict[str, Any] = dict(split="validation", sample_rate=self.config.sample_rate,
                                       channels=self.channels, crop=self.config.crop,
                                       seed=self.config.seed, min_length=1)  # whole tracks
        if model.separates:
            options["stems"] = list(model.source_names)
        try:
            dataset = open_dataset(self.model_class.dataset_kind, root, **options)
        except InvalidValue as error:
            raise InvalidValue(f"eval_every needs validation audio: {error}") from None
        left = max(1, round(seconds * self.config.sample_rate))
        signals: list[Signal] = []
        for name, mixture, sources in validation_signals(dataset):
            take = min(left, mixture.shape[-1])
            if signals and take < min(mixture.shape[-1], min_track_samples(model)):
                break  # a tail too short to score would be skipped at every evaluation
            signals.append((name, mixture[..., :take], sources[..., :take]))
            left -= take
            if left == 0:
                break
        return signals

    def batch(self, indices: list[int]) -> Any:
        items = [self.dataset[i] for i in indices]
        if isinstance(items[0], tuple):
            return tuple(torch.stack(parts) for parts in zip(*items, strict=True))
        return torch.stack(items)

    def loss(self, model: torch.nn.Module, batch: Any, criterion: ReconstructionLoss
             ) -> tuple[torch.Tensor, dict[str, float]]:
        """``criterion(model(inputs), targets)`` for the batch's
        :meth:`~upsamplers.models.ReferenceModel.training_pair`; ``model`` may be
        wrapped (DistributedDataParallel)."""
        core = model.module if hasattr(model, "module") else model
        inputs, targets = core.training_pair(batch)
        return criterion(model(inputs), targets)


# --------------------------------------------------------------------------- distributed


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def _init_distributed() -> Distributed:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Distributed()
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend)
    return Distributed(dist.get_rank(), dist.get_world_size(),
                       int(os.environ.get("LOCAL_RANK", "0")))


def _device(dist_info: Distributed) -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda", dist_info.local_rank)
    return torch.device("cpu")


# --------------------------------------------------------------------------- interruption


class _StopFlag:
    """Set by SIGINT/SIGTERM; the loop stops after the step in progress."""

    def __init__(self) -> None:
        self.signal: int | None = None

    def __call__(self, signum: int, frame: Any) -> None:
        if self.signal is not None:  # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        self.signal = signum


@contextmanager
def _catch_signals(flag: _StopFlag) -> Iterator[None]:
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, flag) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


# --------------------------------------------------------------------------- files


def _log_line(path: Path, record: dict[str, Any]) -> None:
    append_text(path, json.dumps(record) + "\n")


def _truncate_log(path: Path, step: int) -> None:
    """Keep the log lines of steps ``<= step`` (what a resumed run continues from)."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line cut by a kill
        if record.get("step", 0) <= step:
            kept.append(line)
    atomic_write_text(path, "".join(k + "\n" for k in kept))


def log_records(folder: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The records of ``folder``'s ``log.jsonl``: every line that is a JSON object
    (a line cut by a kill, or bytes that are not text, left out)."""
    path = Path(folder) / LOG
    if not path.is_file():
        raise UserFileError(f"{folder} holds no training run ({LOG} is missing)")
    records = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def learning_curve(folder: str | os.PathLike[str]) -> Curve:
    """The evaluations of the run in ``folder`` (its ``eval`` log events):
    ``(step, primary metric in dB or None)``, steps increasing; empty for a run
    that does not evaluate."""
    values: dict[int, float | None] = {}
    for record in log_records(folder):
        if record.get("event") == "eval":
            value = record.get("value")
            values[int(record["step"])] = None if value is None else float(value)
    return sorted(values.items())


def run_status(folder: str | os.PathLike[str]) -> str | None:
    """``"converged"`` or ``"improving"`` (see :func:`final_status`) for a finished
    run in ``folder`` that evaluated itself; ``None`` while it is not finished
    (running, interrupted, killed) or when it did not evaluate."""
    records = log_records(folder)
    if not records or records[-1].get("event") != "end" or records[-1].get("interrupted"):
        return None
    status = records[-1].get("status")
    return status if status in STATUSES else None


def _is_temporary(name: str) -> bool:
    """Whether ``name`` is the temporary file of an atomic write of one of a run's
    files (:func:`upsamplers._io.temporary_path`), e.g. left by a killed run."""
    return any(name.startswith(f".{own}.") and ".tmp" in name
               for own in (CHECKPOINT, FINAL, CONFIG, LOG))


def _remove_stale_temporaries(out: Path) -> None:
    """Temporary files left by a killed run (the folder's lock is held: no other
    run is writing them)."""
    for path in out.iterdir():
        if _is_temporary(path.name):
            path.unlink()


def estimated_bytes(parameters: int, config: TrainConfig) -> int:
    """About the most disk space a training run of a model with ``parameters``
    weights takes: two checkpoints at once (the last one and the one being
    written; each holds the weights and Adam's two moments in float32), the
    final model, ``config.json`` and the log."""
    checkpoint = 12 * parameters + 2**16
    lines = config.steps // config.log_every + (
        config.steps // config.eval_every if config.evaluates else 0) + 16
    return 2 * checkpoint + 4 * parameters + 2**16 + 1024 * lines


def _check_out(out: Path, *, resume: bool) -> Path:
    """The checkpoint path in ``out``, after checking that ``out`` can take the run:
    a folder, holding a checkpoint if and only if ``resume``."""
    ckpt_path = out / CHECKPOINT
    if out.exists() and not out.is_dir():
        raise UserFileError(f"out must be a folder; received out={str(out)!r} (a file)")
    if resume and not ckpt_path.is_file():
        raise UserFileError(f"cannot resume: {ckpt_path} does not exist")
    if not resume and (ckpt_path.exists() or (out / FINAL).exists()):
        raise UserFileError(f"{out} already holds a training run; pass --resume to continue it "
                            "or choose another --out")
    if not resume and out.is_dir():
        _check_own_files(out)
    return ckpt_path


def _check_own_files(out: Path) -> None:
    """Refuse a folder holding files a training run did not write: only a run
    killed before its first checkpoint (its ``config.json``, ``log.jsonl``,
    temporaries) may be started again in place."""
    foreign = sorted(p.name for p in out.iterdir()
                     if p.name not in (CONFIG, LOG, LOCK) and not _is_temporary(p.name))
    config = out / CONFIG
    if config.exists():
        try:
            saved = json.loads(config.read_text())
        except (OSError, ValueError):
            saved = None
        names = {f.name for f in fields(TrainConfig)}
        if not (isinstance(saved, dict) and {"model", "upsampler"} <= set(saved) <= names):
            foreign.append(CONFIG)
    if foreign:
        raise UserFileError(f"out must be a new or empty folder, or a training run; {out} holds "
                            f"other files ({', '.join(foreign[:3])}); choose another --out")


def training_state(model: ReferenceModel, optimizer: torch.optim.Optimizer, step: int,
                   config: TrainConfig, seconds: float, curve: Curve | None = None,
                   losses: tuple[float | None, float | None] = (None, None),
                   average: WeightAverage | None = None) -> dict[str, Any]:
    """The checkpoint of a run at ``step``: the model's, with a ``training`` entry
    (Adam's state, the torch random state, the settings, the seconds trained, the
    learning curve so far as ``[step, value]`` pairs, and the first and last
    losses, which a resumed run reports as an uninterrupted one does, and the
    weight average when the run keeps one)."""
    return model.checkpoint(training={
        "step": step,
        "optimizer": optimizer.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "config": asdict(config),
        "seconds": seconds,
        "curve": [[s, v] for s, v in (curve or [])],
        "first_loss": losses[0],
        "last_loss": losses[1],
        "ema": average.state_dict() if average is not None else None,
    })


def _changed_settings(saved: TrainConfig, config: TrainConfig) -> list[str]:
    """The settings of :data:`RESUME_FIXED` that differ (model options compared
    under the model's current argument names, paths after resolving them)."""
    upgrade = model_class(config.model).upgrade_config
    changed = []
    for key in RESUME_FIXED:
        old, new = getattr(saved, key), getattr(config, key)
        if key == "model_options":
            old, new = upgrade(old), upgrade(new)
        if key in PATH_SETTINGS and same_path(old, new):
            continue
        if old != new:
            changed.append(key)
    return changed


@dataclass
class _State:
    """What a run starts from: the model, its optimizer, the step and the seconds
    already trained."""

    model: ReferenceModel
    optimizer: torch.optim.Optimizer
    step: int = 0
    seconds: float = 0.0
    curve: Curve = field(default_factory=list)
    losses: tuple[float | None, float | None] = (None, None)  # the first and the last
    average: WeightAverage | None = None  # the weight average (config.ema > 0)


def _resume(config: TrainConfig, ckpt_path: Path) -> _State:
    """The state saved in ``ckpt_path`` (weights, Adam, torch RNG, step), after
    checking that the run's settings did not change."""
    payload = read_checkpoint(ckpt_path)
    state = payload.get("training")
    if not isinstance(state, dict):
        raise UserFileError(f"{ckpt_path} is a model checkpoint without training state")
    saved = TrainConfig.from_dict(state["config"])
    changed = _changed_settings(saved, config)
    if changed:
        raise InvalidValue("cannot resume with changed settings: " + ", ".join(
            f"{k}={getattr(config, k)!r} (checkpoint: {getattr(saved, k)!r})"
            for k in changed))
    model = model_from_checkpoint(payload)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    optimizer.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["torch_rng"])
    step = int(state["step"])
    if step > config.steps:
        raise InvalidValue(f"the checkpoint is at step {step}, past steps={config.steps}")
    curve = [(int(s), None if v is None else float(v)) for s, v in state.get("curve", [])]
    losses = (state.get("first_loss"), state.get("last_loss"))
    average = None
    if config.ema:
        average = WeightAverage(model, config.ema)
        if state.get("ema") is not None:
            average.load_state_dict(state["ema"])
    return _State(model, optimizer, step, float(state.get("seconds", 0.0)), curve, losses,
                  average)


def _start(config: TrainConfig, task: Task, ckpt_path: Path, *, resume: bool) -> _State:
    """A new model and optimizer, or the resumed ones."""
    if resume:
        return _resume(config, ckpt_path)
    model = task.build_model()
    average = WeightAverage(model, config.ema) if config.ema else None
    return _State(model, torch.optim.Adam(model.parameters(), lr=config.lr), average=average)


def _to_device(state: _State, dist_info: Distributed) -> tuple[torch.device, torch.nn.Module]:
    """Move the model and Adam's state to this process's device; the module to
    train (wrapped in DistributedDataParallel with several processes)."""
    device = _device(dist_info)
    state.model.to(device)
    if state.average is not None:
        state.average.to(device)
    if device.type != "cpu":  # move Adam's state along
        for value in state.optimizer.state.values():
            for k, v in value.items():
                if isinstance(v, torch.Tensor) and k != "step":
                    value[k] = v.to(device)
    if dist_info.world == 1:
        return device, state.model
    from torch.nn.parallel import DistributedDataParallel

    return device, DistributedDataParallel(
        state.model, device_ids=[dist_info.local_rank] if device.type == "cuda" else None)


def _open_log(out: Path, config: TrainConfig, *, resume: bool, state: _State,
              dist_info: Distributed, device: torch.device) -> Path:
    """Create ``out`` and write ``config.json`` and the log's first line (rank 0)."""
    log_path = out / LOG
    if dist_info.main:
        out.mkdir(parents=True, exist_ok=True)
        _remove_stale_temporaries(out)
        if resume:
            _truncate_log(log_path, state.step)
        else:  # a run killed before its first checkpoint starts over
            log_path.unlink(missing_ok=True)
        atomic_write_text(out / CONFIG, json.dumps(asdict(config), indent=2) + "\n")
        _log_line(log_path, {"event": "resume" if resume else "start", "step": state.step,
                             "config": asdict(config), "world_size": dist_info.world,
                             "device": str(device),
                             "parameters": state.model.num_parameters()})
    return log_path


@dataclass
class TrainResult:
    """What :func:`train` returns (rank 0's view).

    ``status``: ``"converged"`` or ``"improving"`` for a run that evaluated itself
    and ended (see :func:`final_status`), else ``None``; ``stopped_at``: the step
    it ended at (``None`` when interrupted); ``curve``: its evaluations,
    ``(step, dB or None)``.
    """

    out: Path
    step: int
    steps: int
    interrupted: bool
    first_loss: float | None
    last_loss: float | None
    samples_per_second: float
    seconds: float
    checkpoint: Path
    history: list[dict[str, Any]] = field(default_factory=list)
    status: str | None = None
    stopped_at: int | None = None
    curve: Curve = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The result as plain values, without the step history and the curve
        (both are in the log)."""
        d = asdict(self)
        d.pop("history")
        d.pop("curve")
        d["out"], d["checkpoint"] = str(self.out), str(self.checkpoint)
        return d


# --------------------------------------------------------------------------- the loop


def _all_mean(value: float, parts: dict[str, float], device: torch.device, world: int
              ) -> tuple[float, dict[str, float]]:
    """The loss and its parts averaged over the processes (for the log)."""
    if world == 1:
        return value, parts
    import torch.distributed as dist

    names = sorted(parts)
    reduced = torch.tensor([value] + [parts[k] for k in names], device=device)
    dist.all_reduce(reduced)
    values = (reduced / world).tolist()
    return values[0], dict(zip(names, values[1:], strict=True))


def _any_rank(stop: bool, device: torch.device, world: int) -> bool:
    """Whether any process wants to stop (every rank stops at the same step)."""
    if world == 1:
        return stop
    import torch.distributed as dist

    vote = torch.tensor([1.0 if stop else 0.0], device=device)
    dist.all_reduce(vote)
    return bool(vote.item() > 0)


def _broadcast_value(value: float | None, device: torch.device, world: int) -> float | None:
    """Rank 0's ``value`` on every process (``None`` travels as NaN)."""
    if world == 1:
        return value
    import torch.distributed as dist

    shared = torch.tensor([math.nan if value is None else value], dtype=torch.float64,
                          device=device)
    dist.broadcast(shared, src=0)
    result = float(shared.item())
    return result if math.isfinite(result) else None


def _score_untouched(model: ReferenceModel, signals: list[Signal], device: torch.device
                     ) -> float | None:
    """:func:`~upsamplers.scoring.primary_score` of ``model`` on ``signals``, without
    gradients, in eval mode, leaving the model's mode and the torch random state
    (CPU and this CUDA device) as they were."""
    was_training = model.training
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), torch.no_grad():
        model.eval()
        try:
            return primary_score(model, signals, device)
        finally:
            model.train(was_training)


class NonFiniteTraining(UserInputError, FloatingPointError):
    """Training met a non-finite loss or non-finite weights and stopped; the
    message names the likely cause and the last good checkpoint (nothing is
    saved after it)."""


def _nonfinite_cause(batch: Any, model: torch.nn.Module, lr: float) -> str:
    """The likely cause of a non-finite loss: the batch's input (the data), the
    model's weights (diverged: the learning rate), or else the model's output
    or loss overflowing from finite input and weights."""
    tensors = batch if isinstance(batch, tuple) else (batch,)
    if any(not bool(torch.isfinite(t).all()) for t in tensors):
        return ("the batch's input holds NaN or infinite samples: the data is the cause "
                "(a file changed or damaged after the data set was scanned; check the data "
                "folder)")
    bad = nonfinite_parameters(model)
    if bad:
        return (f"the model's weights became non-finite (first in {bad[0]!r}) while the input "
                f"is finite: training diverged; lower --lr (now {lr:g})")
    return (f"the input and the weights are finite but the model's output or the loss "
            f"overflowed: lower --lr (now {lr:g}) or check the model and its options")


class _Loop:
    """The training loop of one process: steps, logging, evaluations, checkpoints,
    stop."""

    def __init__(self, config: TrainConfig, task: Task, state: _State, net: torch.nn.Module,
                 device: torch.device, dist_info: Distributed, out: Path,
                 signals: list[Signal]) -> None:
        self.config, self.task, self.state, self.net = config, task, state, net
        self.device, self.dist, self.out, self.signals = device, dist_info, out, signals
        self.ckpt_path, self.log_path = out / CHECKPOINT, out / LOG
        self.criterion = make_criterion(config).to(device)
        self.history: list[dict[str, Any]] = []
        self.first_loss, self.last_loss = state.losses
        self.samples = 0
        self.saved = state.step if self.ckpt_path.is_file() else None  # last checkpointed step
        self.start = time.perf_counter()
        self.eval_seconds = 0.0  # spent evaluating (left out of the training rate)
        self.metric = primary_metric(state.model)
        curve = state.curve  # a resumed run that had already converged trains no more
        self.converged = bool(config.evaluates and curve and curve[-1][0] == state.step
                              and self.plateau())

    def plateau(self) -> bool:
        """Whether the curve so far meets the plateau criterion."""
        c = self.config
        return plateau_reached(self.state.curve, c.plateau_fraction, c.plateau_db, c.min_steps)

    def save(self, elapsed: float) -> None:
        """Checkpoint the current step (rank 0)."""
        bad = nonfinite_parameters(self.state.model)
        if bad:  # never checkpoint a diverged model
            self.stop(f"the weights are not finite after step {self.state.step}",
                      _nonfinite_cause((), self.state.model, self.config.lr))
        self.saved = self.state.step
        if self.dist.main:
            state = self.state
            atomic_torch_save(training_state(state.model, state.optimizer, state.step,
                                             self.config, elapsed, state.curve,
                                             (self.first_loss, self.last_loss),
                                             state.average), self.ckpt_path)
            _log_line(self.log_path, {"event": "checkpoint", "step": state.step})

    def evaluate(self) -> None:
        """Score the model at the current step (rank 0; every rank gets the value),
        log it, and check the plateau."""
        begun = time.perf_counter()
        value = None
        if self.dist.main:
            with self.evaluated_weights() as model:
                value = _score_untouched(model, self.signals, self.device)
        value = _broadcast_value(value, self.device, self.dist.world)
        self.state.curve.append((self.state.step, value))
        seconds = time.perf_counter() - begun
        self.eval_seconds += seconds
        if self.dist.main:
            _log_line(self.log_path, {"event": "eval", "step": self.state.step,
                                      "metric": self.metric, "value": value,
                                      "seconds": round(seconds, 3)})
        self.converged = self.plateau()

    @contextmanager
    def evaluated_weights(self) -> Iterator[ReferenceModel]:
        """The model with the weights that are evaluated and saved: the average when
        the run keeps one, else its own."""
        if self.state.average is None:
            yield self.state.model
        else:
            with self.state.average.applied(self.state.model) as model:
                yield model

    def status(self, interrupted: bool) -> str | None:
        """The run's status once it ended (``None`` if interrupted or not evaluated)."""
        if interrupted or not self.config.evaluates:
            return None
        if self.converged:
            return "converged"
        return final_status(self.state.curve, self.config.plateau_fraction,
                            self.config.plateau_db)

    def step(self) -> tuple[float, dict[str, float]]:
        """One optimiser step on batch ``step``; the loss and its parts."""
        config, state = self.config, self.state
        base = state.step * config.batch_size
        indices = [base + j for j in range(config.batch_size)
                   if j % self.dist.world == self.dist.rank]
        batch = self.task.batch(indices)
        batch = tuple(b.to(self.device) for b in batch) if isinstance(batch, tuple) \
            else batch.to(self.device)
        scale = lr_scale(state.step, config.steps, config.warmup, config.schedule)
        for group in state.optimizer.param_groups:
            group["lr"] = config.lr * scale
        state.optimizer.zero_grad(set_to_none=True)
        loss, parts = self.task.loss(self.net, batch, self.criterion)
        if not torch.isfinite(loss):
            self.stop(f"the loss is not finite at step {state.step + 1} ({float(loss.detach())})",
                      _nonfinite_cause(batch, state.model, config.lr))
        loss.backward()
        state.optimizer.step()
        if state.average is not None:
            state.average.update(state.model)
        state.step += 1
        self.samples += config.batch_size // self.dist.world * self.dist.world
        return _all_mean(float(loss.detach()), parts, self.device, self.dist.world)

    def stop(self, what: str, cause: str) -> None:
        """Log and raise :class:`NonFiniteTraining`: ``what`` happened, its likely
        ``cause``, and the last good checkpoint, which is kept as it is."""
        kept = (f"the last good checkpoint, step {self.saved}, is kept in {self.ckpt_path} "
                f"(nothing was saved after it)" if self.saved is not None
                else "no checkpoint was saved")
        if self.dist.main:
            _log_line(self.log_path, {"event": "nonfinite", "step": self.state.step,
                                      "what": what, "cause": cause})
        raise NonFiniteTraining(f"training stopped: {what}; likely cause: {cause}; {kept}")

    def record(self, value: float, parts: dict[str, float], bar: Any) -> float:
        """Log the step (rank 0); the seconds of this process so far."""
        step = self.state.step
        self.first_loss = value if self.first_loss is None else self.first_loss
        self.last_loss = value
        elapsed = time.perf_counter() - self.start
        training = elapsed - self.eval_seconds
        rate = self.samples / training if training > 0 else 0.0
        if self.dist.main:
            record = {"step": step, "loss": value, **parts, "samples_per_s": round(rate, 2),
                      "seconds": round(self.state.seconds + elapsed, 3)}
            self.history.append(record)
            if step % self.config.log_every == 0 or step == self.config.steps:
                _log_line(self.log_path, record)
            if bar is not None:
                bar.set_postfix(loss=f"{value:.4f}", samples_s=f"{rate:.1f}")
                bar.update(1)
        return elapsed

    def run(self, flag: _StopFlag, bar: Any) -> bool:
        """Steps until ``steps``, a plateau or a stop signal; ``True`` when
        interrupted."""
        config, state = self.config, self.state
        if config.evaluates and not state.curve:
            self.evaluate()  # the model before training
        while state.step < config.steps and not self.converged:
            value, parts = self.step()
            elapsed = self.record(value, parts, bar)
            if config.evaluates and (state.step % config.eval_every == 0
                                     or state.step == config.steps):
                self.evaluate()
            going_on = state.step < config.steps and not self.converged
            if state.step % config.checkpoint_every == 0 and going_on:
                self.save(state.seconds + elapsed)
            stop = _any_rank(flag.signal is not None, self.device, self.dist.world)
            if stop and going_on:
                return True
        return False

    def finish(self, interrupted: bool, say: Callable[[str], None]) -> float:
        """Save the last checkpoint, and the final model unless interrupted; the
        seconds trained in all."""
        elapsed = self.state.seconds + time.perf_counter() - self.start
        if self.saved != self.state.step:  # not saved yet (a resumed run may have it)
            self.save(elapsed)
        if self.dist.main:
            if interrupted:
                _log_line(self.log_path, {"event": "interrupted", "step": self.state.step})
                say(f"interrupted: saved step {self.state.step} to {self.ckpt_path}; "
                    "continue with --resume")
            else:
                with self.evaluated_weights() as model:
                    model.save(self.out / FINAL)
        return elapsed

    def result(self, interrupted: bool, elapsed: float) -> TrainResult:
        run_seconds = time.perf_counter() - self.start - self.eval_seconds
        return TrainResult(
            out=self.out, step=self.state.step, steps=self.config.steps,
            interrupted=interrupted, first_loss=self.first_loss, last_loss=self.last_loss,
            samples_per_second=self.samples / run_seconds if run_seconds > 0 else 0.0,
            seconds=elapsed, checkpoint=self.ckpt_path, history=self.history,
            status=self.status(interrupted), stopped_at=None if interrupted else self.state.step,
            curve=list(self.state.curve))


def _progress_bar(config: TrainConfig, step: int, dist_info: Distributed, progress: bool
                  ) -> Any:
    if not (progress and dist_info.main):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=config.steps, initial=step, unit="step", dynamic_ncols=True,
                desc=f"{config.model}/{config.upsampler}")


def train(
    config: TrainConfig,
    out: str | os.PathLike[str],
    *,
    resume: bool = False,
    progress: bool = True,
    echo: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train ``config.model`` for ``config.steps`` steps, or until its validation
    metric reaches a plateau when ``config.eval_every > 0`` (see the module
    docstring), writing into ``out``.

    Args:
        config: the run's settings (validated here).
        out: output folder; it must not hold a checkpoint unless ``resume``.
        resume: continue from ``out/checkpoint.pt`` (its settings must match
            ``config``, except ``steps``, ``checkpoint_every``, ``log_every`` and
            the plateau criterion ``plateau_db``, ``plateau_fraction``,
            ``min_steps``).
        progress: show a tqdm progress bar (rank 0).
        echo: where to print messages (rank 0); default: stderr.

    Returns:
        a :class:`TrainResult` (with the run's ``status``, ``stopped_at`` and
        learning ``curve``). Ctrl-C (SIGINT) or SIGTERM stops after the step in
        progress, saves a checkpoint and returns with ``interrupted=True``.
    """
    config.validate()
    out = Path(out)
    dist_info = _init_distributed()
    say = echo or (lambda message: print(message, file=sys.stderr, flush=True))
    if config.batch_size % dist_info.world:
        raise InvalidValue(f"batch_size must be a multiple of the number of processes "
                           f"({dist_info.world}); received batch_size={config.batch_size}")
    if not dist_info.main:  # rank 0 holds the folder's lock for every process
        return _train(config, out, resume, progress, say, dist_info)
    with RunLock(out):
        return _train(config, out, resume, progress, say, dist_info)


def _train(config: TrainConfig, out: Path, resume: bool, progress: bool,
           say: Callable[[str], None], dist_info: Distributed) -> TrainResult:
    """:func:`train` once the folder is held."""
    ckpt_path = _check_out(out, resume=resume)
    torch.manual_seed(config.seed)
    task = Task(config)
    state = _start(config, task, ckpt_path, resume=resume)
    if dist_info.main:
        check_space(out, estimated_bytes(state.model.num_parameters(), config),
                    "the checkpoints of this run")
    signals = (task.validation_signals(state.model, config.eval_seconds)
               if config.evaluates and dist_info.main else [])
    device, net = _to_device(state, dist_info)
    _open_log(out, config, resume=resume, state=state, dist_info=dist_info, device=device)
    loop = _Loop(config, task, state, net, device, dist_info, out, signals)
    bar = _progress_bar(config, state.step, dist_info, progress)
    flag = _StopFlag()  # looked up here: a test replaces it
    net.train()
    try:
        with _catch_signals(flag):
            interrupted = loop.run(flag, bar)
        elapsed = loop.finish(interrupted, say)
    finally:
        if bar is not None:
            bar.close()
    result = loop.result(interrupted, elapsed)
    if dist_info.main:
        _log_line(out / LOG, {"event": "end", **result.summary()})
    if dist_info.world > 1:
        import torch.distributed as dist

        dist.barrier()
    return result
