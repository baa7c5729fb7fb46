"""The wrapper that gives a new upsampler the output length of the layer it replaced."""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import InvalidType, InvalidValue, check_positive_int

#: The ``nn.ConvTranspose1d`` hyperparameters a :class:`LengthMatched` keeps from the
#: layer it replaces, for a parent module that reads them.
KEPT_ATTRIBUTES = ("kernel_size", "stride", "padding", "output_padding", "dilation",
                   "groups", "padding_mode")



class LengthMatched(nn.Module):
    """An upsampler whose output is padded or trimmed to the length of the layer it
    replaced: ``T * factor + left + right`` samples for ``T`` input samples.

    ::

        x (B, C_in, T) --upsampler--> y (B, C_out, T * r)
                       --left zeros before, right zeros after (negative: that many
                         samples dropped)--> (B, C_out, T * r + left + right)

    Output sample ``n`` is ``y[n - left]``, and zero where ``n - left`` is outside
    ``y``: the upsampler's own output, unchanged and shifted by ``left``; the samples
    added at the ends are zeros (a parent that trims afterwards, as EnCodec's
    ``SConvTranspose1d`` does, trims those first).

    Args:
        upsampler: any module mapping ``(B, C_in, T) -> (B, C_out, T * factor)``
            with ``factor``, ``in_channels`` and ``out_channels`` attributes.
        left, right: samples added (positive) or dropped (negative) at each end.
        like: the replaced module (or a mapping of attributes): its
            ``kernel_size``, ``stride``, ``padding``, ``output_padding``,
            ``dilation``, ``groups`` and ``padding_mode``, those it has, are kept as
            attributes of the same values, for a parent that reads them (e.g. to trim
            ``self.up.kernel_size[0] - self.up.stride[0]`` samples); the new layer's
            own are on ``self.upsampler``.

    Shape:
        ``(B, C_in, T) -> (B, C_out, T * factor + left + right)``
    """

    def __init__(self, upsampler: nn.Module, left: int = 0, right: int = 0, *,
                 like: nn.Module | None = None) -> None:
        super().__init__()
        if not isinstance(upsampler, nn.Module):
            raise InvalidType(f"upsampler must be an nn.Module; received "
                              f"{type(upsampler).__name__}")
        self.upsampler = upsampler
        self.factor = check_positive_int("upsampler.factor", getattr(upsampler, "factor", None))
        self.in_channels = getattr(upsampler, "in_channels", None)
        self.out_channels = getattr(upsampler, "out_channels", None)
        for name, value in (("left", left), ("right", right)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidType(f"{name} must be an integer; received {name}={value!r}")
        self.left, self.right = left, right
        self.kind = getattr(upsampler, "kind", type(upsampler).__name__)
        if like is not None:
            for name in KEPT_ATTRIBUTES:
                if hasattr(like, name):
                    setattr(self, name, copy.copy(getattr(like, name)))

    @property
    def extra(self) -> int:
        """Output length minus ``T * factor``: ``left + right``."""
        return self.left + self.right

    def output_length(self, length: int) -> int:
        """``length * factor + left + right``."""
        return check_positive_int("length", length) * self.factor + self.extra

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, T) -> (B, C_out, T * factor + left + right)``."""
        r = self.factor
        length = x.shape[-1] * r + self.extra
        if length < 1:
            raise InvalidValue(f"an input of {x.shape[-1]} samples gives no output "
                               f"({x.shape[-1]} * {r} + {self.extra} = {length}); "
                               f"received shape {tuple(x.shape)}")
        before, after = max(self.left, 0), max(self.right, 0)
        y = F.pad(self.upsampler(x), (before, after))  # sample j of y is up(x)[j - before]
        start = before - self.left  # output n = up(x)[n - left] = y[n - left + before]
        return y[..., start:start + length]  # (B, C_out, T * r + left + right)

    def extra_repr(self) -> str:
        return f"left={self.left}, right={self.right}"
