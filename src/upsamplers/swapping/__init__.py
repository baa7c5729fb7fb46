"""Swap every upsampling layer of a foreign model for another kind, keeping every length.

:func:`swap` finds the upsampling layers of any ``nn.Module`` with
:func:`~upsamplers.analysis.lint` (``nn.ConvTranspose1d`` with a stride, ``nn.Upsample``
with an integer ``scale_factor``, :class:`~upsamplers.PeriodicShuffle1d`, this
package's upsamplers), builds ``make_upsampler(kind, C_in, C_out, factor, **options)``
for each, and wraps it in a :class:`LengthMatched` that gives, for every input length
``T``, the output length the replaced layer gave: a transposed convolution gives
``(T - 1) * stride - 2 * padding + dilation * (K - 1) + output_padding + 1``, not
``T * stride``. A parent that trims afterwards (EnCodec's ``SConvTranspose1d`` trims
``kernel_size - stride`` samples, read from its child) still trims the right count,
and the model's output length is unchanged for every input length.

The model is run before and after (on a few input lengths) to read the channels of
layers that do not hold them (``nn.Upsample``, a shuffle) and to check that every
output shape is unchanged; see :func:`swap`.
"""

from .replace import SwapError, swap
from .report import SwapEntry, SwapReport
from .wrapper import KEPT_ATTRIBUTES, LengthMatched

__all__ = ["KEPT_ATTRIBUTES", "LengthMatched", "SwapEntry", "SwapError", "SwapReport", "swap"]
