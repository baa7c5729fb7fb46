"""The settings of a compare run: :class:`CompareConfig`.

Its training settings are those of :class:`upsamplers.train.TrainConfig`, with
TrainConfig's defaults except the three the compare job changes
(:data:`COMPARE_TRAINING`); every variant is trained with a ``TrainConfig``
derived from them by :meth:`CompareConfig.variant_training`.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import InitVar, asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from .._checks import InvalidType, InvalidValue, check_bool, check_choice, check_positive_int
from ..train import TrainConfig
from .variants import DEFAULT_VARIANTS, NAIVE_OF, REFERENCE, VARIANTS, Variant

DEFAULT_STEPS = 300
# How compare trains, where it differs from `upsamplers train`: 300 steps, and the L1 loss
# alone at lr 1e-3 (see the package's docstring for why).
COMPARE_TRAINING = replace(TrainConfig(), steps=DEFAULT_STEPS, lr=1e-3, stft_weight=0.0)
# the fields of CompareConfig that are TrainConfig's fields (and default to COMPARE_TRAINING's)
TRAINING_FIELDS = ("model", "data", "seed", "batch_size", "crop", "lr", "stft_weight",
                   "sample_rate", "model_options")
# the registry names (upsamplers.models.MODELS) compare runs: the models that take audio
# at their input (the mel-input generator is not compared)
COMPARE_MODELS = ("autoencoder", "demucs")


@dataclass
class CompareConfig:
    """Settings of a compare run (the command's flags).

    ``variants`` are names of :data:`~upsamplers.compare.variants.VARIANTS` (a layer
    kind with its options, e.g. ``"subpixel-icnr"``), one report row each.
    ``steps`` and ``minutes`` are per variant; give at most one (default
    ``steps=300``). ``data=None`` is the embedded data set. ``threads``: CPU
    threads of torch during the run (default 1: these small models gain little from
    more, and on a machine whose cores are busy, multi-threaded steps stalled here
    to 0.6 s against 0.07 s on one thread).

    ``model``, ``data``, ``seed``, ``batch_size``, ``crop``, ``lr``,
    ``stft_weight``, ``sample_rate`` and ``model_options`` are training settings
    (:data:`TRAINING_FIELDS`), defaulting to :data:`COMPARE_TRAINING`'s.
    """

    model: str = COMPARE_TRAINING.model
    data: str | None = COMPARE_TRAINING.data
    variants: tuple[str, ...] = DEFAULT_VARIANTS
    steps: int | None = None
    minutes: float | None = None
    seed: int = COMPARE_TRAINING.seed
    batch_size: int = COMPARE_TRAINING.batch_size
    crop: int = COMPARE_TRAINING.crop
    lr: float = COMPARE_TRAINING.lr
    stft_weight: float = COMPARE_TRAINING.stft_weight
    sample_rate: int = COMPARE_TRAINING.sample_rate
    model_options: dict[str, Any] = field(default_factory=dict)
    naive_timing: bool = True
    timing_steps: int = 10
    timing_warmup: int = 2
    audit_seconds: float = 16.0
    clip_seconds: float = 4.0
    device: str | None = None
    threads: int = 1
    # Before 0.2 the variants were called kinds (a kind is a layer family; a variant
    # is a compare row: a kind with its options). Kept for one release; it warns.
    kinds: InitVar[tuple[str, ...] | None] = None

    def __post_init__(self, kinds: tuple[str, ...] | None) -> None:
        if kinds is None:
            return
        if self.variants != DEFAULT_VARIANTS:
            raise InvalidType(f"give variants, not both variants and kinds; received "
                              f"variants={self.variants!r}, kinds={kinds!r}")
        warnings.warn("CompareConfig(kinds=...) is now CompareConfig(variants=...); kinds "
                      "stops working in the next release", FutureWarning, stacklevel=3)
        self.variants = kinds

    def validate(self) -> CompareConfig:
        """Check every field; :class:`~upsamplers._checks.InvalidValue` /
        :class:`~upsamplers._checks.InvalidType` naming the field."""
        check_choice("model", self.model, COMPARE_MODELS)
        self.variants = _checked_variants(self.variants)
        if self.steps is not None and self.minutes is not None:
            raise InvalidValue(f"give steps or minutes, not both; received steps={self.steps!r}, "
                               f"minutes={self.minutes!r}")
        if self.steps is not None:
            check_positive_int("steps", self.steps)
        if self.minutes is not None:
            _check_positive_float("minutes", self.minutes)
        # the training settings, checked as training checks them (the data folder is
        # checked with the data, when the run starts)
        replace(self.training(), data=None).validate()
        check_positive_int("timing_steps", self.timing_steps)
        check_positive_int("timing_warmup", self.timing_warmup, minimum=0)
        for name in ("audit_seconds", "clip_seconds"):
            _check_positive_float(name, getattr(self, name))
        check_bool("naive_timing", self.naive_timing)
        check_positive_int("threads", self.threads)
        _check_device(self.device)
        return self

    def training(self) -> TrainConfig:
        """The training settings as a :class:`~upsamplers.train.TrainConfig`
        (:data:`COMPARE_TRAINING` with this config's training fields)."""
        return replace(COMPARE_TRAINING, **{name: getattr(self, name) for name in TRAINING_FIELDS})

    def variant_training(self, variant: Variant, steps: int, root: Path) -> TrainConfig:
        """The validated training run of one variant: ``steps`` steps on the data
        folder ``root``, checkpoints every 50 steps, a log line every 10."""
        return replace(
            self.training(), upsampler=variant.kind, data=str(root), steps=steps,
            checkpoint_every=max(1, min(50, steps)), log_every=max(1, min(10, steps)),
            model_options=dict(self.model_options), upsampler_options=variant.upsampler_options,
        ).validate()

    @property
    def budget_steps(self) -> int | None:
        """Steps per variant (``None`` under a time budget)."""
        if self.minutes is not None:
            return None
        return DEFAULT_STEPS if self.steps is None else self.steps

    def variant_steps(self, median_s: dict[str, float]) -> dict[str, int]:
        """Steps of every trained variant: the step budget, or under a time budget
        the minutes over the variant's median step time ``median_s[name]`` (s)."""
        if self.minutes is None:
            return {name: int(self.budget_steps or DEFAULT_STEPS) for name in self.variants}
        return {name: max(1, int(self.minutes * 60 / median_s[name])) for name in self.variants}

    def timed_variants(self) -> list[str]:
        """The trained variants, subpixel (the reference of the ratios) and the naive
        forms of the interpolation kinds, in that order, without repeats."""
        names = list(self.variants)
        extra = [REFERENCE] + ([NAIVE_OF[k] for k in self.variants if k in NAIVE_OF]
                               if self.naive_timing else [])
        return names + [n for n in extra if n not in names]

    def settings(self) -> dict[str, Any]:
        """What must match for a run to be resumed (everything but the device)."""
        d = asdict(self)
        d["variants"] = list(self.variants)
        d.pop("device")
        d.pop("threads")
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
