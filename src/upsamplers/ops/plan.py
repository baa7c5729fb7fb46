"""Which exact form runs a layer: a cost model of each form's arithmetic and
fixed costs, decided from the shape, never by timing at run time.

A layer with several exact forms (interpolation + convolution: folded,
filtered, projected, the plain composition) describes each as a
:class:`FormCost`: multiply-adds per input time step in channel-mixing
convolutions and in per-channel filters, elements of high-rate intermediates
written, elements of weights built on every call, and whether it runs end
corrections. :func:`choose_form` prices each with a :class:`CostModel`
(seconds per unit, forward + backward, measured once on a CPU and written
below) for the batch size and length of the call, and takes the cheapest.

The fixed costs (a weight folded on every call, the few small operations of
the end corrections) decide small problems, the per-sample costs large ones;
where they cross is documented in ``docs/speed.md`` (measured crossovers).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .._checks import InvalidValue


@dataclass(frozen=True)
class FormCost:
    """What one exact form of a layer computes, per call.

    Attributes:
        dense: multiply-adds per input time step (per batch item) in convolutions
            that mix channels (matrix products).
        dense_rows: ``dense`` divided by the input channels of those convolutions
            (output samples times taps): the part of their cost that does not shrink
            with more channels (few channels run far below the matrix-multiply rate).
        depthwise: multiply-adds per input time step in per-channel or grouped
            convolutions.
        interp: multiply-adds per input time step of an interpolation run as
            written (``F.interpolate``, a one-channel convolution of the
            zero-stuffed signal).
        moved: elements of intermediate tensors written per input time step
            (a high-rate signal materialised, a shuffle copy).
        weight: elements of weights built on every call (kernels folded from the
            learnable one), independent of the batch and the length.
        ends: whether the form runs exact end corrections (a fixed number of small
            operations per call).
    """

    dense: int
    dense_rows: int = 0
    depthwise: int = 0
    interp: int = 0
    moved: int = 0
    weight: int = 0
    ends: bool = False

    @property
    def macs(self) -> int:
        """Multiply-adds per input time step, every kind."""
        return self.dense + self.depthwise + self.interp


@dataclass(frozen=True)
class CostModel:
    """Seconds per unit of each :class:`FormCost` term, forward + backward.

    Attributes:
        dense, dense_rows, depthwise, interp, moved: per unit of the
            :class:`FormCost` term of that name, per input time step.
        weight: per weight element built per call.
        ends: per call, for a form with end corrections.
        calls: per call, by form name (the fixed cost of its operations);
            ``default_call`` for a name not listed.
        name: where the figures were measured.
    """

    dense: float
    dense_rows: float
    depthwise: float
    interp: float
    moved: float
    weight: float
    ends: float
    calls: Mapping[str, float] = field(default_factory=dict)
    default_call: float = 0.0
    name: str = ""

    def seconds(self, form: str, cost: FormCost, batch: int, time: int) -> float:
        """Predicted forward + backward seconds of form ``form`` costing ``cost`` on a
        ``(batch, *, time)`` input."""
        per_step = (self.dense * cost.dense + self.dense_rows * cost.dense_rows
                    + self.depthwise * cost.depthwise + self.interp * cost.interp
                    + self.moved * cost.moved)
        return (batch * time * per_step + self.weight * cost.weight
                + (self.ends if cost.ends else 0.0)
                + self.calls.get(form, self.default_call))


#: Fitted (non-negative least squares on relative error) to forward + backward
#: medians of every form of nearest, linear and sinc layers on random
#: configurations (C 4..512, factor 2..8, K 1..4r, B*T 64..65536), one thread,
#: float32, torch 2.13 CPU, 2-core AMD EPYC VM: ``benchmarks/fit_forms.py``, its
#: figures and held-out check in ``benchmarks/results/forms_cpu_1thread.md``.
CPU_MODEL = CostModel(
    dense=9.6e-11, dense_rows=7.3e-10, depthwise=5.7e-10, interp=2.9e-9, moved=5.3e-9,
    weight=1.1e-8, ends=2.3e-3,
    calls={"folded": 1.4e-3, "filtered": 1.4e-3, "projected": 1.1e-3, "naive": 7.7e-4},
    default_call=1.4e-3, name="fit_forms.py, AMD EPYC 2-core VM, 1 thread, torch 2.13 CPU")


#: A form other than the preferred one (the plain composition) runs only when the
#: model prices it at least this fraction cheaper: the model's predictions are off
#: by about a fifth in the median, and near the crossover the plain composition,
#: which has the fewest fixed costs, was the safer choice. On the measured
#: configurations (fit and held out, ``benchmarks/results/forms_cpu_1thread.md``) a
#: margin of 0.3 left none slower than the plain composition by more than 5 %
#: (2 of 55 without it), at a mean cost of 7.5 % against the fastest form (3.8 %).
PLAIN_MARGIN = 0.3


def choose_form(costs: Mapping[str, FormCost], batch: int, time: int,
                model: CostModel | None = CPU_MODEL, *, prefer: str | None = None) -> str:
    """The form of ``costs`` with the lowest predicted time for ``batch * time``
    input steps under ``model``; ``prefer`` (if given and among ``costs``) unless the
    cheapest is predicted at least :data:`PLAIN_MARGIN` cheaper than it. With
    ``model=None`` (a device the model was not measured on) the fewest
    multiply-adds, no preference. Ties go to the first name in alphabetical
    order, so the choice is deterministic."""
    if not costs:
        raise InvalidValue("choose_form needs at least one form; received none")
    if model is None:
        return min(sorted(costs), key=lambda name: costs[name].macs)
    seconds = {name: model.seconds(name, cost, batch, time) for name, cost in costs.items()}
    best = min(sorted(costs), key=seconds.__getitem__)
    if prefer in seconds and seconds[best] > (1.0 - PLAIN_MARGIN) * seconds[prefer]:
        return prefer  # type: ignore[return-value]
    return best


#: Input steps (batch x length) from which a transposed convolution runs as phase
#: kernels + fused shuffle instead of PyTorch's transposed convolution, by factor
#: (at least 4 / below). Measured forward + backward, one thread, 2-core EPYC,
#: C = 32, 128, 512 at x2, x4, x8 and 1024-65536 steps (``docs/speed.md``): the
#: phase form ran 1.12-1.81x faster from 16384 steps at x4 and x8 and from 65536
#: at x2, and 0.6-0.9x (its kernels rebuilt on every call) below.
TRANSPOSED_PHASE_STEPS = {"factor_4_up": 16384, "below": 65536}


def transposed_form(batch: int, time: int, factor: int) -> str:
    """``"polyphase"`` or ``"native"`` for a transposed convolution by ``factor`` on a
    ``(batch, *, time)`` input (:data:`TRANSPOSED_PHASE_STEPS`)."""
    key = "factor_4_up" if factor >= 4 else "below"
    return "polyphase" if batch * time >= TRANSPOSED_PHASE_STEPS[key] else "native"
