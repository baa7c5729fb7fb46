"""The :class:`Upsampler` interface that every upsampling layer implements.

Conversion, lint, the analysis, the initialisers, bench and the models ask this
interface; none of them names a layer class. A new upsampler kind is one class
that derives from :class:`Upsampler`, implements :meth:`~Upsampler.forward`,
:meth:`~Upsampler.phase_kernels` and :meth:`~Upsampler.phase_taps`, and is
registered by name in :mod:`upsamplers.layers.registry`.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from .._checks import check_positive_int, check_signal
from ..ops.kernels import PhaseKernels


class ArtifactWarning(UserWarning):
    """A layer was configured in a way known to cause audible artifacts."""


class Upsampler(nn.Module):
    """Base class of every upsampler: maps ``(B, C_in, T)`` to exactly
    ``(B, C_out, T * factor)`` for every ``T >= 1``.

    Before any nonlinearity an upsampler by ``r = factor`` is ``r`` low-rate phase
    kernels plus an interleave (``docs/architecture.md``); the interface exposes
    them and what follows from them.

    Attributes:
        kind: the family's name, as :func:`~upsamplers.layers.make_upsampler` takes
            it (``"subpixel"``, ``"transposed"``, ``"nearest"``, ``"linear"``,
            ``"sinc"``).
        in_channels: ``C_in``.
        out_channels: ``C_out``.
        factor: upsampling factor ``r``.
        kernel_size: taps of the layer's learnable kernel.
        learned_phases: ``True`` when every phase has its own learnable kernel
            (subpixel, transposed): the phases can drift apart in training, and a
            default initialisation starts them unequal (tonal artifacts).
        overlap: the overlap regime of a transposed convolution (``"none"``,
            ``"full"``, ``"partial"``), ``None`` for other kinds.
        end_effects: ``None`` when :meth:`phase_kernels` run by
            :func:`~upsamplers.ops.polyphase_forward` reproduce the layer's output
            exactly, ends included; otherwise why the first and last samples differ.
    """

    kind: ClassVar[str] = ""
    learned_phases: ClassVar[bool] = False
    overlap: str | None = None
    end_effects: str | None = None

    in_channels: int
    out_channels: int
    factor: int
    kernel_size: int

    def __init__(self, in_channels: int, out_channels: int, factor: int,
                 kernel_size: int) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.out_channels = check_positive_int("out_channels", out_channels)
        self.factor = check_positive_int("factor", factor)
        self.kernel_size = check_positive_int("kernel_size", kernel_size)

    @property
    def has_bias(self) -> bool:
        """Whether the layer adds a learnable bias (whose replicas become tones)."""
        raise NotImplementedError

    def output_length(self, length: int) -> int:
        """Number of output samples for ``length`` input samples: ``length * factor``."""
        return check_positive_int("length", length) * self.factor

    def phase_kernels(self) -> PhaseKernels:
        """The ``factor`` low-rate kernels of the layer's linear part, as a
        differentiable function of its weights (see :class:`~upsamplers.ops.PhaseKernels`)."""
        raise NotImplementedError

    def phase_taps(self) -> int:
        """Taps of the low-rate convolution that computes the layer, summed over its
        phases, counting only taps that can be non-zero (per input/output channel
        pair). A property of the function, not of how it is executed."""
        raise NotImplementedError

    def macs_per_input_sample(self) -> int:
        """Multiply-adds per input time step (per batch item) at the arithmetic
        floor: ``C_in * C_out * phase_taps()``."""
        return self.in_channels * self.out_channels * self.phase_taps()

    def _check_input(self, x: torch.Tensor) -> torch.Tensor:
        return check_signal("x", x, channels=self.in_channels)

    def __repr__(self) -> str:
        # one line: the wrapped convolution is an implementation detail
        return f"{type(self).__name__}({self.extra_repr()})"
