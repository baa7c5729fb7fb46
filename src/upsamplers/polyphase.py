"""Deprecated module, kept for one release: the engine moved to
:mod:`upsamplers.ops`, and each layer gives its own phase kernels
(:meth:`upsamplers.layers.Upsampler.phase_kernels`)."""

from __future__ import annotations

import warnings
from typing import Any

from .ops import (
    EndPlan,
    FoldMap,
    InterpolationPhases,
    PhaseKernels,
    end_plan,
    end_terms,
    fold_map,
    fold_weight,
    kaiser_beta,
    linear_phases,
    nearest_phases,
    polyphase_conv,
    polyphase_forward,
    sinc_filter,
    sinc_phases,
    transposed_phase_kernels,
)

warnings.warn("upsamplers.polyphase is deprecated and goes in the next release: import the "
              "engine from upsamplers.ops, and call layer.phase_kernels() instead of "
              "phase_kernels(layer)", FutureWarning, stacklevel=2)


def phase_kernels(module: Any) -> PhaseKernels:
    """Deprecated: ``module.phase_kernels()``."""
    if not callable(getattr(module, "phase_kernels", None)):
        raise TypeError("phase_kernels supports upsamplers (upsamplers.layers.Upsampler); "
                        f"received {type(module).__name__}")
    return module.phase_kernels()


__all__ = [
    "EndPlan", "FoldMap", "InterpolationPhases", "PhaseKernels", "end_plan", "end_terms",
    "fold_map", "fold_weight", "kaiser_beta", "linear_phases", "nearest_phases", "phase_kernels",
    "polyphase_conv", "polyphase_forward", "sinc_filter", "sinc_phases",
    "transposed_phase_kernels",
]
