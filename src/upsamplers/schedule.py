"""What a training run does over its budget: the learning-rate schedule (a linear
warm-up, then a cosine decay that ends exactly at the last step) and an
exponential moving average of the weights (the weights that are evaluated and
saved when it is on).

Both are functions of the step and the budget only, so a run resumed from a
checkpoint follows the schedule of the run that was not interrupted.

* ``lr_scale(step, steps, warmup, schedule)``: the factor of the base learning
  rate for the update that follows ``step`` completed steps (``0 <= step <
  steps``): ``(step + 1) / w`` for the ``w = ceil(warmup * steps)`` warm-up
  steps, then ``constant``: ``1``; ``cosine``: ``(1 + cos(pi * p)) / 2`` with
  ``p = (step - w + 1) / (steps - w)``, so the last update runs at a rate 0.
* :class:`WeightAverage`: ``avg <- d * avg + (1 - d) * w`` after every update,
  with ``d = min(decay, (1 + n) / (10 + n))`` at update ``n`` (the average
  forgets its random start within a few dozen steps, not ``1 / (1 - decay)``);
  buffers (e.g. batch-norm statistics) are copied, not averaged.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from ._checks import InvalidValue, check_choice, check_real

SCHEDULES = ("constant", "cosine")
#: Largest warm-up fraction (a run that warms up for more than half its steps spends
#: most of its budget below its learning rate).
MAX_WARMUP = 0.5
#: Largest EMA decay (an average over about a million steps).
MAX_EMA = 0.999999


def check_schedule(schedule: Any, warmup: Any, ema: Any) -> None:
    """``InvalidValue``/``InvalidType`` naming the setting, for the three settings of
    :func:`lr_scale` and :class:`WeightAverage`."""
    check_choice("schedule", schedule, SCHEDULES)
    check_real("warmup", warmup, low=0, high=MAX_WARMUP)
    check_real("ema", ema, low=0, high=MAX_EMA)


def warmup_steps(steps: int, warmup: float) -> int:
    """The warm-up steps of a run of ``steps`` steps (a fraction ``warmup`` of them,
    rounded up, and fewer than ``steps``)."""
    return min(steps - 1, math.ceil(warmup * steps)) if warmup > 0 else 0


def lr_scale(step: int, steps: int, warmup: float, schedule: str) -> float:
    """The factor of the base learning rate for the update after ``step`` completed
    steps of a run of ``steps`` (see the module docstring)."""
    if step < 0 or step >= steps:
        raise InvalidValue(f"step must be in [0, {steps}); received step={step}")
    w = warmup_steps(steps, warmup)
    if step < w:
        return (step + 1) / w
    if schedule == "constant":
        return 1.0
    progress = (step - w + 1) / (steps - w)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


class WeightAverage:
    """An exponential moving average of a module's floating-point parameters (see
    the module docstring): :meth:`update` after every optimiser step,
    :meth:`applied` to run the module with the averaged weights."""

    def __init__(self, module: torch.nn.Module, decay: float) -> None:
        check_real("ema", decay, low=0, high=MAX_EMA)
        self.decay = float(decay)
        self.updates = 0
        self.shadow = {name: p.detach().clone() for name, p in module.named_parameters()}

    def factor(self) -> float:
        """The decay of the next update."""
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, module: torch.nn.Module) -> None:
        d = self.factor()
        for name, p in module.named_parameters():
            self.shadow[name].mul_(d).add_(p.detach(), alpha=1.0 - d)
        self.updates += 1

    @contextmanager
    def applied(self, module: torch.nn.Module) -> Iterator[torch.nn.Module]:
        """``module`` with the averaged weights inside the block, its own after."""
        saved = {name: p.detach().clone() for name, p in module.named_parameters()}
        self.copy_to(module)
        try:
            yield module
        finally:
            with torch.no_grad():
                for name, p in module.named_parameters():
                    p.copy_(saved[name])

    @torch.no_grad()
    def copy_to(self, module: torch.nn.Module) -> None:
        for name, p in module.named_parameters():
            p.copy_(self.shadow[name].to(p.device))

    def to(self, device: torch.device | str) -> WeightAverage:
        self.shadow = {k: v.to(device) for k, v in self.shadow.items()}
        return self

    def state_dict(self) -> dict[str, Any]:
        return {"decay": self.decay, "updates": self.updates,
                "shadow": {k: v.detach().cpu() for k, v in self.shadow.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if set(state["shadow"]) != set(self.shadow):
            raise InvalidValue("the checkpoint's weight average does not match the model's "
                               "parameters")
        self.updates = int(state["updates"])
        self.shadow = {k: v.clone().to(self.shadow[k].device) for k, v in state["shadow"].items()}
