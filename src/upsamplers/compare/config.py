"""The settings of a compare run: :class:`CompareConfig`.

Its training settings are those of :class:`upsamplers.train.TrainConfig`; those
left ``None`` take the task's (:mod:`upsamplers.compare.tasks`). Every variant
and seed is trained with a ``TrainConfig`` derived from them by
:meth:`CompareConfig.variant_training`.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import InitVar, asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from .._checks import InvalidType, InvalidValue, check_bool, check_choice, check_positive_int
from ..analysis._validate import check_duration
from ..models import model_class
from ..train import TrainConfig
from .budget import EVALUATIONS
from .presets import PRESETS, Preset, preset_spec
from .tasks import DEFAULT_TASK, TASKS, CompareTask, task_spec
from .variants import DEFAULT_VARIANTS, NAIVE_OF, REFERENCE, VARIANTS, Variant

# the registry names (upsamplers.models.MODELS) that --model may name: the models that
# take audio at their input (the mel-input generator is compared in its own task only,
# ``vocoder``, whose settings fit it)
COMPARE_MODELS = ("autoencoder", "demucs", "unet")
# the fields of CompareConfig that are TrainConfig's fields; ``None`` in a CompareConfig
# means the task's value (compare.tasks.TASKS), else TrainConfig's default
TRAINING_FIELDS = ("model", "data", "batch_size", "crop", "lr", "stft_weight", "sample_rate",
                   "model_options", "eval_every", "eval_seconds", "plateau_db",
                   "plateau_fraction", "min_steps", "loss", "schedule", "warmup", "ema")
DEFAULT_SEEDS = 3
#: The whole job's budget when neither steps nor minutes are given (the README's main
#: job ends within it on 2 cores, install aside).
DEFAULT_MINUTES = 15.0
#: Most training runs (variants x seeds) of one compare: 10**12 seeds failed with a
#: MemoryError after the step timing, in the list of runs.
MAX_RUNS = 10_000


@dataclass
class CompareConfig:
    """Settings of a compare run (the command's flags).

    ``task`` (:data:`~upsamplers.compare.tasks.TASKS`) chooses the model, the data
    and the training; every training field left ``None`` (:data:`TRAINING_FIELDS`,
    ``steps``) takes the task's value, and ``model_options`` given are laid over the
    task's (for the task's model). ``variants`` are names of
    :data:`~upsamplers.compare.variants.VARIANTS` (a layer kind with its options,
    e.g. ``"subpixel-icnr"``), one report row each (``None``: the task's); each is
    trained ``seeds`` times, with the seeds ``seed, seed + 1, ...``.

    Budget: ``minutes`` for the whole job (default :data:`DEFAULT_MINUTES` when
    ``steps`` is not given): every run trains the same number of steps, planned
    from the measured step and evaluation times so that the job ends within the
    minutes (:mod:`upsamplers.compare.budget`), with a schedule that ends at its
    last step, and is ``converged`` when its last ``plateau_fraction`` of steps
    gained less than ``plateau_db``. With ``steps``: each run trains until its
    validation metric reaches a plateau (less than ``plateau_db`` gained over the
    last ``plateau_fraction`` of its steps, not before ``min_steps``; evaluated
    every ``eval_every`` steps on the first ``eval_seconds`` of validation audio) or
    ``steps`` end.

    ``preset`` (:data:`~upsamplers.compare.presets.PRESETS`, e.g. ``"paper"``)
    fills the fields left ``None`` with a published setting before the task's
    (explicit values win); ``test_data``: a folder of recordings outside the
    training distribution, of the kind the task reads (a stem folder with the
    model's sources for a separator, else audio), every track of it scored by
    every trained model (:mod:`upsamplers.compare.generalisation`).

    ``jobs``: runs trained at once, each in its own worker process with
    ``threads`` torch threads (default: the machine's CPU count, one thread each;
    on a GPU one job). Results do not depend on ``jobs``. ``data=None`` is the
    task's embedded data set.
    """

    task: str = DEFAULT_TASK
    model: str | None = None
    data: str | None = None
    variants: tuple[str, ...] | None = None
    steps: int | None = None
    minutes: float | None = None  # the whole job's (default DEFAULT_MINUTES without steps)
    seeds: int = DEFAULT_SEEDS
    seed: int = 0
    jobs: int | None = None
    batch_size: int | None = None
    crop: int | None = None
    lr: float | None = None
    stft_weight: float | None = None
    sample_rate: int | None = None
    model_options: dict[str, Any] | None = None
    eval_every: int | None = None
    eval_seconds: float | None = None
    plateau_db: float | None = None
    plateau_fraction: float | None = None
    min_steps: int | None = None
    loss: str | None = None
    schedule: str | None = None
    warmup: float | None = None
    ema: float | None = None
    naive_timing: bool = True
    timing_steps: int = 10
    timing_warmup: int = 2
    audit_seconds: float = 16.0
    clip_seconds: float = 4.0
    device: str | None = None
    threads: int = 1
    preset: str | None = None
    test_data: str | None = None
    # Before 0.2 the variants were called kinds (a kind is a layer family; a variant
    # is a compare row: a kind with its options). Kept for one release; it warns.
    kinds: InitVar[tuple[str, ...] | None] = None

    def __post_init__(self, kinds: tuple[str, ...] | None) -> None:
        if kinds is not None:
            if self.variants is not None and self.variants != DEFAULT_VARIANTS:
                raise InvalidType(f"give variants, not both variants and kinds; received "
                                  f"variants={self.variants!r}, kinds={kinds!r}")
            warnings.warn("CompareConfig(kinds=...) is now CompareConfig(variants=...); kinds "
                          "stops working in the next release", FutureWarning, stacklevel=3)
            self.variants = kinds
        if isinstance(self.preset, str) and self.preset in PRESETS:
            self._fill_from_preset(PRESETS[self.preset])
        if isinstance(self.task, str) and self.task in TASKS:
            self._fill_from_task(TASKS[self.task])
        if self.steps is None and self.minutes is None:
            self.minutes = DEFAULT_MINUTES

    def _fill_from_preset(self, preset: Preset) -> None:
        """Every field left ``None`` takes the preset's (``steps`` only without
        ``minutes``); given model options are laid over the preset's."""
        if self.variants is None:
            self.variants = preset.variants
        if self.sample_rate is None:
            self.sample_rate = preset.sample_rate
        if self.model_options is None or isinstance(self.model_options, dict):
            self.model_options = {**preset.model_options, **(self.model_options or {})}
        for name, value in preset.training.items():
            if getattr(self, name) is None and not (name == "steps" and self.minutes is not None):
                setattr(self, name, value)

    def _fill_from_task(self, task: CompareTask) -> None:
        """Every training field left ``None`` takes the task's value, else
        TrainConfig's default; the variants the task's."""
        defaults = TrainConfig()
        if self.variants is None:
            self.variants = task.variants or DEFAULT_VARIANTS
        if self.model is None:
            self.model = task.model
        base = dict(task.model_options) if self.model == task.model else {}
        if self.model_options is None:
            self.model_options = base
        elif isinstance(self.model_options, dict):  # the given options over the task's
            self.model_options = {**base, **self.model_options}
        for name in TRAINING_FIELDS:
            if name not in ("model", "data", "model_options") and getattr(self, name) is None:
                setattr(self, name, task.training.get(name, getattr(defaults, name, None)))

    @property
    def task_spec(self) -> CompareTask:
        return task_spec(self.task)

    @property
    def seed_list(self) -> list[int]:
        """The seeds every variant is trained with."""
        return list(range(self.seed, self.seed + self.seeds))

    def validate(self) -> CompareConfig:
        """Check every field; :class:`~upsamplers._checks.InvalidValue` /
        :class:`~upsamplers._checks.InvalidType` naming the field."""
        task = task_spec(self.task)
        self._check_preset()
        if self.test_data is not None:
            check_path("test_data", self.test_data)
        if self.model != task.model:
            check_choice("model", self.model, COMPARE_MODELS)
        self.variants = _checked_variants(self.variants)
        _check_variant_models(self.variants, str(self.model), task.name)
        if self.steps is not None and self.minutes is not None:
            raise InvalidValue(f"give steps or minutes, not both; received steps={self.steps!r}, "
                               f"minutes={self.minutes!r}")
        if self.steps is not None:
            check_positive_int("steps", self.steps)
        if self.minutes is not None:
            _check_positive_float("minutes", self.minutes)
        check_positive_int("seeds", self.seeds)
        if len(self.variants) * self.seeds > MAX_RUNS:
            raise InvalidValue(f"variants x seeds must be at most {MAX_RUNS:,} training runs "
                               f"(upsamplers.compare.config.MAX_RUNS); received "
                               f"{len(self.variants)} variants x seeds={self.seeds}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InvalidValue(f"seed must be an integer >= 0; received seed={self.seed!r}")
        if self.jobs is not None:
            check_positive_int("jobs", self.jobs)
        # the training settings, checked as training checks them (the data folder is
        # checked with the data, when the run starts)
        replace(self.training(), data=None).validate()
        check_positive_int("timing_steps", self.timing_steps)
        check_positive_int("timing_warmup", self.timing_warmup, minimum=0)
        for name in ("audit_seconds", "clip_seconds"):
            _check_positive_float(name, getattr(self, name))
        # the audits' probes are bounded (analysis._validate.MAX_PROBE_SAMPLES): refused
        # here, before any training, rather than by the first audit after it
        check_duration("audit_seconds", self.audit_seconds, float(self.sample_rate))
        check_bool("naive_timing", self.naive_timing)
        check_positive_int("threads", self.threads)
        _check_device(self.device)
        return self

    def _check_preset(self) -> None:
        """A preset names a known setting, runs its own task, and has its data."""
        if self.preset is None:
            return
        preset = preset_spec(self.preset)
        if self.task != preset.task:
            raise InvalidValue(f"preset={preset.name!r} runs task {preset.task!r}; received "
                               f"task={self.task!r} (leave the task out)")
        if preset.needs_data and self.data is None:
            raise InvalidValue(f"preset={preset.name!r} needs data: {preset.needs_data}; "
                               "received data=None (pass --data DIR)")

    def training(self) -> TrainConfig:
        """The training settings as a :class:`~upsamplers.train.TrainConfig` (the
        task's budget, this config's training fields)."""
        return replace(TrainConfig(), steps=self.max_steps, seed=self.seed,
                       **{name: getattr(self, name) for name in TRAINING_FIELDS})

    def variant_training(self, variant: Variant, steps: int, root: Path, seed: int | None = None
                         ) -> TrainConfig:
        """The validated training run of one variant and seed: at most ``steps``
        steps on the data folder ``root``, checkpoints every 50 steps, a log line
        every 10. Under a time budget (``minutes``) the run trains its whole planned
        budget (no plateau stop: its schedule ends there) and evaluates itself
        :data:`~upsamplers.compare.budget.EVALUATIONS` times."""
        planned = {}
        if self.minutes is not None:
            planned = {"eval_every": max(1, steps // EVALUATIONS), "min_steps": steps}
        return replace(
            self.training(), **planned, upsampler=variant.kind, data=str(root), steps=steps,
            seed=self.seed if seed is None else seed,
            checkpoint_every=max(1, min(50, steps)), log_every=max(1, min(10, steps)),
            model_options={**(self.model_options or {}), **variant.model_overrides},
            upsampler_options=variant.upsampler_options,
        ).validate()

    @property
    def max_steps(self) -> int:
        """The most steps a run may train under a step budget (the task's unless
        ``steps`` is given)."""
        if self.steps is not None:
            return self.steps
        if isinstance(self.task, str) and self.task in TASKS:
            return int(TASKS[self.task].training.get("steps", TrainConfig().steps))
        return TrainConfig().steps


    def worker_count(self, device: torch.device) -> int:
        """Worker processes: ``jobs``, else one per CPU core (one on a GPU)."""
        if self.jobs is not None:
            return self.jobs
        return 1 if device.type == "cuda" else max(1, os.cpu_count() or 1)

    def timed_variants(self) -> list[str]:
        """The trained variants, subpixel (the reference of the ratios) and the naive
        forms of the interpolation kinds, in that order, without repeats."""
        names = list(self.variants)
        extra = [REFERENCE] + ([NAIVE_OF[k] for k in self.variants if k in NAIVE_OF]
                               if self.naive_timing else [])
        return names + [n for n in extra if n not in names]

    def settings(self) -> dict[str, Any]:
        """What must match for a run to be resumed (everything but how it is run:
        the device, threads and jobs)."""
        d = asdict(self)
        d["variants"] = list(self.variants)
        for name in ("device", "threads", "jobs"):
            d.pop(name)
        return d


def _checked_variants(variants: Any) -> tuple[str, ...]:
    if isinstance(variants, str) or not isinstance(variants, (tuple, list)):
        raise InvalidType(f"variants must be a sequence of variant names; received "
                          f"variants={variants!r}")
    if not variants:
        raise InvalidValue("variants must name at least one variant; received variants=()")
    for name in variants:
        if name not in VARIANTS:
            raise InvalidValue(f"unknown variant {name!r}; variants must be among "
                               f"{', '.join(VARIANTS)}; received variants={list(variants)!r}")
    if len(set(variants)) != len(variants):
        raise InvalidValue(f"variants must be distinct; received variants={list(variants)!r}")
    return tuple(variants)


def variant_fits(name: str, model: str) -> bool:
    """Whether ``model`` takes the model options of variant ``name`` (a vocoder
    variant sets the vocoder's activations; the other variants set none)."""
    try:
        model_class(model).check_option_names(VARIANTS[name].model_overrides)
    except InvalidType:
        return False
    return True


def _check_variant_models(variants: tuple[str, ...], model: str, task: str) -> None:
    """Refuse a variant whose model options ``model`` does not take (a vocoder variant
    on another task's model), before any work: one line naming the task(s) the
    variant belongs to and the variants this one takes."""
    for name in variants:
        if variant_fits(name, model):
            continue
        homes = [t.name for t in TASKS.values() if variant_fits(name, t.model)]
        here = (f"the {task} task (model={model!r})" if TASKS[task].model == model
                else f"model={model!r}")
        fits = [v for v in VARIANTS if variant_fits(v, model)]
        raise InvalidValue(
            f"variant {name!r} belongs to the {', '.join(homes)} task"
            f"{'s' if len(homes) > 1 else ''} (it sets the model options "
            f"{', '.join(VARIANTS[name].model_overrides)}); {here} takes the variants "
            f"{', '.join(fits)}; received variants={list(variants)!r}")


def _check_positive_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            math.isfinite(value) and value > 0):
        raise InvalidValue(f"{name} must be a finite number > 0; received {name}={value!r}")
    return float(value)


def _check_device(device: str | None) -> None:
    if device is None:
        return
    check_choice("device", device, ("cpu", "cuda"))
    cuda = torch.cuda.is_available()
    if device == "cuda" and not cuda:
        raise InvalidValue("device='cuda' was asked for but no CUDA GPU is available; "
                           "received device='cuda'")
    if device == "cpu" and cuda:
        raise InvalidValue("training uses the GPU whenever one is visible; to run on the "
                           "CPU hide it (CUDA_VISIBLE_DEVICES=); received device='cpu'")


def check_path(name: str, value: Any) -> Path:
    """``value`` as a :class:`~pathlib.Path` (``InvalidType`` unless a str or path)."""
    if not isinstance(value, (str, os.PathLike)):
        raise InvalidType(f"{name} must be a path to a folder; received {name}={value!r}")
    return Path(value)
