"""Has training failed, and what in the model shows why: measures of a trained model
that are not specific to any job (``compare`` uses them; ``evaluate`` may).

A model's validation output has **failed** when, pooled over every validation
signal (every track, source, channel and sample),

* it holds a non-finite value (NaN or infinity), or
* it is exactly zero, or
* its RMS is more than :data:`FAILED_BELOW_DB` (30) dB below the RMS of the
  target it is scored against (the input for a model that reconstructs it, the
  stems for a separator).

The *cause* the model shows is measured, not guessed:

* **dead ReLU units**, per ``nn.ReLU`` layer: the channels (index 1 of the
  layer's output ``(N, C, ...)``) whose output is zero at every position of
  every input given; a dead unit passes no gradient, so training cannot revive
  it (:func:`dead_relu_units`);
* **non-finite parameters**: the names of the parameters holding NaN or
  infinity (:func:`nonfinite_parameters`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

FAILED_BELOW_DB = 30.0  # an output RMS this many dB below the target's is a failed model

# "converged" and "improving" (training to a plateau) are to be added beside these
Status = Literal["ok", "failed"]
STATUSES: tuple[str, ...] = ("ok", "failed")


@dataclass(frozen=True)
class OutputLevel:
    """The level of a model's output against its target, pooled over signals.

    ``output_rms`` / ``target_rms``: RMS over every sample (``output_rms`` is NaN
    when the output holds a non-finite value); ``finite``: whether every output
    value is finite.
    """

    output_rms: float
    target_rms: float
    finite: bool

    @property
    def level_db(self) -> float | None:
        """Output RMS re the target RMS, in dB (``-inf`` for an output that is
        exactly zero, ``None`` when undefined: a non-finite output or a silent
        target)."""
        if not self.finite or not self.target_rms > 0:
            return None
        if self.output_rms == 0:
            return -math.inf
        return 20 * math.log10(self.output_rms / self.target_rms)

    def failure(self) -> str | None:
        """Why this output is a failed one (a sentence), or ``None`` when it is not."""
        if not self.finite:
            return "its output holds non-finite values (NaN or infinity)"
        if self.output_rms == 0:
            return "its output is exactly zero"
        level = self.level_db
        if level is not None and level < -FAILED_BELOW_DB:
            return (f"its output RMS is {-level:.1f} dB below the target's, more than "
                    f"{FAILED_BELOW_DB:g} dB")
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"output_rms": self.output_rms, "target_rms": self.target_rms,
                "finite": self.finite, "level_db": self.level_db}


def signal_level(output: torch.Tensor, target: torch.Tensor) -> tuple[float, float, int, bool]:
    """Sum of squares of ``output`` and of ``target`` (float64), the number of
    samples, and whether ``output`` is all finite. Shapes: any, the same size."""
    finite = bool(torch.isfinite(output).all())
    out = float(output.double().pow(2).sum()) if finite else math.nan
    return out, float(target.double().pow(2).sum()), int(target.numel()), finite


def pooled_level(parts: Iterable[tuple[float, float, int, bool]]) -> OutputLevel:
    """The :class:`OutputLevel` of signals given by :func:`signal_level`."""
    out = ref = 0.0
    count = 0
    finite = True
    for out_sq, ref_sq, samples, ok in parts:
        out, ref, count, finite = out + out_sq, ref + ref_sq, count + samples, finite and ok
    if count == 0:
        return OutputLevel(math.nan, math.nan, finite)
    return OutputLevel(math.sqrt(out / count) if finite else math.nan,
                       math.sqrt(ref / count), finite)


@dataclass(frozen=True)
class DeadUnits:
    """Dead units of one ReLU layer: ``dead`` of ``units`` channels."""

    dead: int
    units: int

    @property
    def fraction(self) -> float:
        return self.dead / self.units if self.units else 0.0


def dead_relu_units(model: nn.Module, inputs: Iterable[torch.Tensor],
                    run: Callable[[torch.Tensor], Any] | None = None) -> dict[str, DeadUnits]:
    """Dead units of every ``nn.ReLU`` layer of ``model`` (by module name), over
    ``inputs``: a unit (channel ``c`` of the layer's output ``(N, C, ...)``) is dead
    when its output is zero at every position of every input.

    ``run(x)`` puts one input through the model (default ``model(x)``; e.g. a
    model's ``process_long`` for whole signals). Layers never reached are left
    out. Runs without gradients; the model's mode is left as it is.
    """
    peaks: dict[str, torch.Tensor] = {}

    def hook(name: str) -> Callable[..., None]:
        def record(module: nn.Module, args: Any, output: torch.Tensor) -> None:
            # (N, C, ...) -> (C,): the largest |output| of each channel
            peak = output.detach().abs().transpose(0, 1).reshape(output.shape[1], -1).amax(1)
            peak = peak.cpu()
            peaks[name] = peak if name not in peaks else torch.maximum(peaks[name], peak)
        return record

    handles = [module.register_forward_hook(hook(name)) for name, module in
               model.named_modules() if type(module) is nn.ReLU]
    try:
        with torch.no_grad():
            for x in inputs:
                (run or model)(x)
    finally:
        for handle in handles:
            handle.remove()
    return {name: DeadUnits(int((peak == 0).sum()), int(peak.numel()))
            for name, peak in peaks.items()}


def nonfinite_parameters(model: nn.Module) -> list[str]:
    """Names of the parameters of ``model`` holding a NaN or an infinity."""
    return [name for name, p in model.named_parameters() if not bool(torch.isfinite(p).all())]


def failure_cause(model: nn.Module, inputs: Iterable[torch.Tensor],
                  run: Callable[[torch.Tensor], Any] | None = None) -> dict[str, Any]:
    """What ``model`` shows of why it failed: ``dead_relu`` (per ReLU layer, its
    dead units, units and dead fraction, over ``inputs`` run by ``run``, see
    :func:`dead_relu_units`), ``nonfinite_parameters`` and ``summary`` (one
    sentence)."""
    bad = nonfinite_parameters(model)
    dead = dead_relu_units(model, inputs, run)
    layers = {name: {"dead": d.dead, "units": d.units, "fraction": d.fraction}
              for name, d in dead.items()}
    parts = []
    if bad:
        parts.append(f"non-finite weights in {len(bad)} parameter(s) ({', '.join(bad[:3])}"
                     + (", ..." if len(bad) > 3 else "") + ")")
    all_dead = [name for name, d in dead.items() if d.units and d.dead == d.units]
    if all_dead:
        parts.append("every unit dead in ReLU layer(s) " + ", ".join(all_dead)
                     + " (no gradient flows through them)")
    partly = [f"{name} {d.fraction:.0%}" for name, d in dead.items()
              if d.dead and d.dead < d.units]
    if partly:
        parts.append("dead ReLU units: " + ", ".join(partly))
    if not parts:
        parts.append("no dead ReLU layer and no non-finite weight found")
    return {"summary": "; ".join(parts), "dead_relu": layers, "nonfinite_parameters": bad}
