"""Periodic shuffle: move ``factor`` groups of channels into time, and back.

The periodic shuffle is the interleave that turns ``factor`` low-rate signals
(the *phases*) into one signal at ``factor`` times the rate::

    phase 0:  a0    a1    a2          output:  a0 b0 c0 a1 b1 c1 a2 b2 c2
    phase 1:  b0    b1    b2    --->
    phase 2:  c0    c1    c2          (factor = 3, one output channel)

Two conventions exist for which input channel holds phase ``i`` of output
channel ``c`` (``C`` output channels, ``r = factor``):

* ``order="channel"``: input channel ``c * r + i`` (PyTorch ``pixel_shuffle``);
* ``order="phase"``:   input channel ``i * C + c`` (TensorFlow
  ``batch_to_space``, used by the classic Keras ``SubPixel1D`` layer).

Both functions are pure reshapes and permutations: they work on every
floating-point (and complex) dtype, on non-contiguous input, and are
differentiable. Integer tensors are rejected, as everywhere in this package.
"""

from __future__ import annotations

from typing import Literal

import torch

from .._checks import check_choice, check_positive_int, check_signal

ORDERS = ("channel", "phase")
Order = Literal["channel", "phase"]


def periodic_shuffle(x: torch.Tensor, factor: int, *, order: Order = "channel") -> torch.Tensor:
    """Interleave groups of channels into time.

    ``out[b, c, t * factor + i] = x[b, c * factor + i, t]`` for ``order="channel"``,
    ``out[b, c, t * factor + i] = x[b, i * C + c, t]`` for ``order="phase"``.

    Args:
        x: input of shape ``(B, C * factor, T)``, floating point.
        factor: the upsampling factor ``r >= 1``.
        order: ``"channel"`` or ``"phase"`` (see the module docstring).

    Shape:
        ``(B, C * factor, T) -> (B, C, T * factor)``

    Raises:
        ValueError: if the channel count is not divisible by ``factor``, ``x`` is
            not 3-D or has no time steps, or ``order`` is unknown.
        TypeError: if ``x`` is not a floating-point tensor or ``factor`` is not an integer.
    """
    factor = check_positive_int("factor", factor)
    check_choice("order", order, ORDERS)
    check_signal("x", x)
    batch, channels, time = x.shape
    if channels % factor != 0:
        raise ValueError(
            f"the channel count of x must be divisible by factor={factor}; "
            f"received {channels} channels (x.shape={tuple(x.shape)})"
        )
    out_channels = channels // factor
    if order == "channel":
        y = x.reshape(batch, out_channels, factor, time)  # (B, C, r, T)
        y = y.permute(0, 1, 3, 2)  # (B, C, r, T) -> (B, C, T, r)
    else:
        y = x.reshape(batch, factor, out_channels, time)  # (B, r, C, T)
        y = y.permute(0, 2, 3, 1)  # (B, r, C, T) -> (B, C, T, r)
    return y.reshape(batch, out_channels, time * factor)


def periodic_unshuffle(x: torch.Tensor, factor: int, *, order: Order = "channel") -> torch.Tensor:
    """Split time into ``factor`` phases stacked as channels: the inverse of
    :func:`periodic_shuffle` with the same ``factor`` and ``order``.

    Shape:
        ``(B, C, T * factor) -> (B, C * factor, T)``

    Raises:
        ValueError: if the length of ``x`` is not divisible by ``factor``.
    """
    factor = check_positive_int("factor", factor)
    check_choice("order", order, ORDERS)
    check_signal("x", x)
    batch, channels, length = x.shape
    if length % factor != 0:
        raise ValueError(
            f"the length of x must be divisible by factor={factor}; "
            f"received length {length} (x.shape={tuple(x.shape)})"
        )
    time = length // factor
    y = x.reshape(batch, channels, time, factor)  # (B, C, T, r)
    if order == "channel":
        y = y.permute(0, 1, 3, 2)  # (B, C, T, r) -> (B, C, r, T)
    else:
        y = y.permute(0, 3, 1, 2)  # (B, C, T, r) -> (B, r, C, T)
    return y.reshape(batch, channels * factor, time)
