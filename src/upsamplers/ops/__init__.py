"""The engine: pure functions and tensors, no layers.

Everything the layers execute and the analysis reads, written once:

* :mod:`~upsamplers.ops.shuffle`: :func:`periodic_shuffle` / :func:`periodic_unshuffle`;
* :mod:`~upsamplers.ops.kernels`: :class:`PhaseKernels` (an upsampler as ``r``
  low-rate kernels), :func:`polyphase_forward`, :func:`transposed_phase_kernels`,
  :func:`overlap_regime`;
* :mod:`~upsamplers.ops.convolution`: "same" convolutions and the fused low-rate
  convolution + shuffle, :func:`polyphase_conv`;
* :mod:`~upsamplers.ops.filters`: the Kaiser-windowed sinc, :func:`sinc_filter`;
* :mod:`~upsamplers.ops.interpolation`: interpolation tables, fold maps and end
  corrections for interpolation + convolution;
* :mod:`~upsamplers.ops.plan`: which exact form runs a layer, from a cost model
  of each form (:func:`choose_form`).

This package imports torch, numpy and the argument checks only; it knows no
layer, model or analysis class (``docs/architecture.md``).
"""

from __future__ import annotations

from .convolution import conv1d_same, polyphase_conv, same_padding
from .filters import kaiser_beta, sinc_filter
from .interpolation import (
    EndPlan,
    FoldMap,
    InterpolationPhases,
    end_plan,
    end_terms,
    fold_map,
    fold_weight,
    linear_phases,
    nearest_phases,
    projection_phases,
    shift_phases,
    sinc_phases,
)
from .kernels import PhaseKernels, overlap_regime, polyphase_forward, transposed_phase_kernels
from .plan import CostModel, FormCost, choose_form
from .shuffle import ORDERS, Order, periodic_shuffle, periodic_unshuffle

__all__ = [
    "ORDERS",
    "CostModel",
    "FormCost",
    "EndPlan",
    "FoldMap",
    "InterpolationPhases",
    "Order",
    "PhaseKernels",
    "choose_form",
    "conv1d_same",
    "end_plan",
    "end_terms",
    "fold_map",
    "fold_weight",
    "kaiser_beta",
    "linear_phases",
    "nearest_phases",
    "overlap_regime",
    "periodic_shuffle",
    "periodic_unshuffle",
    "polyphase_conv",
    "polyphase_forward",
    "projection_phases",
    "same_padding",
    "shift_phases",
    "sinc_filter",
    "sinc_phases",
    "transposed_phase_kernels",
]
