"""Snake activations with learnable per-channel parameters in log scale.

``Snake1d``: ``f(x) = x + sin^2(a x) / a``; ``SnakeBeta1d``:
``f(x) = x + sin^2(a x) / b`` (Liu et al. 2020; BigVGAN), ``a = exp(log_alpha)``,
``b = exp(log_beta)`` per channel, so the parameters stay positive while they
learn. ``adaa=True`` is first-order antiderivative anti-aliasing (Parker et al.
2016): each output is the mean of ``f`` over the segment between the previous
and the current input sample,

    y[n] = (F(x[n]) - F(x[n-1])) / (x[n] - x[n-1]),   F' = f,

written in closed form with no division by the sample difference. With
``s = x[n] + x[n-1]`` and ``d = x[n] - x[n-1]``:

    y[n] = s / 2 + (1 - cos(a s) * sinc(a d)) / (2 b),   sinc(z) = sin(z) / z,

exact and finite for every ``d`` (``sinc(0) = 1`` gives ``y = f(x)`` on a run of
equal samples), values and gradients alike. ADAA smooths like a half-sample box
filter and delays the output by half a sample; ``x[-1]`` is taken as ``x[0]``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from .._checks import check_bool, check_positive_int
from ..ops.convolution import is_symbolic
from ._input import check_activation_input, check_parameter

#: added to the divisor (as BigVGAN does) so that an underflowing ``exp(log_beta)``
#: cannot divide by zero
EPS = 1e-9
class _SnakeFunction(torch.autograd.Function):
    """``x + sin^2(a x) * c`` with per-channel ``a`` and ``c`` (``(1, C, 1)``),
    in few passes and allocations (the cost of an activation on CPU is memory
    traffic): saves ``x`` and ``sin^2(a x)``, reduces the parameter gradients
    with batched dot products."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, a: torch.Tensor,  # type: ignore[override]
                c: torch.Tensor) -> torch.Tensor:
        s2 = torch.mul(x, a).sin_().square_()
        ctx.save_for_backward(x, a, c, s2)
        return torch.addcmul(x, s2, c)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:  # type: ignore[override]
        x, a, c, s2 = ctx.saved_tensors
        need_x, need_a, need_c = ctx.needs_input_grad
        if torch.is_grad_enabled():  # create_graph: a backward that is differentiable too
            wanted = [t for t, need in zip((x, a, c), ctx.needs_input_grad, strict=True)
                      if need]
            found = iter(torch.autograd.grad(_snake(x, a, c), wanted, grad, create_graph=True))
            return tuple(next(found) if need else None for need in ctx.needs_input_grad)
        b, channels, length = x.shape
        gx = ga = gc = None
        if need_c:
            gc = _channel_dot(grad, s2, b, channels, length)
        if need_x or need_a:
            g_sin = torch.mul(x, 2 * a).sin_().mul_(grad)  # g * sin(2 a x)
            if need_a:
                ga = _channel_dot(g_sin, x, b, channels, length) * c
            if need_x:
                gx = torch.addcmul(grad, g_sin, a * c)
        return gx, ga, gc


def _channel_dot(u: torch.Tensor, v: torch.Tensor, b: int, channels: int, length: int
                 ) -> torch.Tensor:
    """``sum over batch and time of u * v`` per channel, ``(1, C, 1)`` (an einsum:
    5x faster on one CPU thread than batched matrix-vector products of the rows)."""
    return torch.einsum("bcl,bcl->c", u, v).view(1, channels, 1)


def _snake(x: torch.Tensor, a: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """``x + sin^2(a x) * c``: the plain operations (scripted, traced, exported)."""
    return x + torch.sin(x * a).pow(2) * c


def _safe_sinc(z: torch.Tensor) -> torch.Tensor:
    """``sin(z) / z`` with value 1 and slope 0 at ``z = 0``, finite gradients everywhere."""
    small = z.abs() < 1e-4
    safe = torch.where(small, torch.ones_like(z), z)
    return torch.where(small, 1 - z * z / 6, torch.sin(safe) / safe)


def _snake_adaa(x: torch.Tensor, a: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """First-order ADAA of ``x + c sin^2(a x)``, closed form (module docstring)."""
    previous = torch.cat([x[..., :1], x[..., :-1]], dim=-1)
    s, d = x + previous, x - previous
    return 0.5 * s + 0.5 * c * (1 - torch.cos(a * s) * _safe_sinc(a * d))


class _Snake(nn.Module):
    """What :class:`Snake1d` and :class:`SnakeBeta1d` share."""


    def __init__(self, channels: int, alpha: float, trainable: bool, adaa: bool) -> None:
        super().__init__()
        self.channels = check_positive_int("channels", channels)
        alpha = check_parameter("alpha", alpha)
        self.adaa = check_bool("adaa", adaa)
        #: False with ``adaa``: each output reads the previous input sample too
        self.elementwise = not self.adaa
        self.eps = EPS
        self.log_alpha = nn.Parameter(torch.full((self.channels,), math.log(alpha)),
                                      requires_grad=check_bool("trainable", trainable))

    def _divisor_inverse(self, a: torch.Tensor) -> torch.Tensor:
        """``1 / (b + eps)`` in ``a``'s dtype (``b = a`` for Snake)."""
        raise NotImplementedError

    def input_span(self, span: tuple[int, int]) -> tuple[int, int]:
        """The input samples that the outputs ``span`` read (first, last): their own,
        and with ADAA the one before too (what chunked processing needs)."""
        return span[0] - (0 if self.elementwise else 1), span[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, T) -> (B, C, T)``, in the input's dtype: computed in float32 for
        float16 and bfloat16 (and whatever the parameters' dtype)."""
        if not torch.jit.is_scripting() and not torch.jit.is_tracing():
            x = check_activation_input(x, self.channels)
        work = torch.promote_types(x.dtype, torch.float32)
        a = self.log_alpha.to(work).exp().view(1, -1, 1)
        c = self._divisor_inverse(a)
        u = x.to(work)
        if self.adaa:
            y = _snake_adaa(u, a, c)
        elif torch.jit.is_scripting():
            y = _snake(u, a, c)
        else:
            y = self._eager(u, a, c)
        return y.to(x.dtype)

    @torch.jit.unused
    def _eager(self, x: torch.Tensor, a: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        if is_symbolic():
            return _snake(x, a, c)
        return _SnakeFunction.apply(x, a, c)


class Snake1d(_Snake):
    """Snake, ``f(x) = x + sin^2(a x) / a``, ``a = exp(log_alpha)`` per channel.

    Args:
        channels: ``C``.
        alpha: initial ``a`` (default 1).
        trainable: whether ``log_alpha`` learns.
        adaa: first-order antiderivative anti-aliasing (module docstring).

    Shape: ``(B, C, T) -> (B, C, T)``.
    """

    def __init__(self, channels: int, *, alpha: float = 1.0, trainable: bool = True,
                 adaa: bool = False) -> None:
        super().__init__(channels, alpha, trainable, adaa)

    def _divisor_inverse(self, a: torch.Tensor) -> torch.Tensor:
        return 1.0 / (a + self.eps)


class SnakeBeta1d(_Snake):
    """SnakeBeta, ``f(x) = x + sin^2(a x) / b`` with ``a = exp(log_alpha)`` (the
    frequency) and ``b = exp(log_beta)`` (the magnitude) learnable per channel,
    as in BigVGAN with ``alpha_logscale=True``.

    Args:
        channels: ``C``.
        alpha, beta: initial ``a`` and ``b`` (default 1).
        trainable: whether the parameters learn.
        adaa: first-order antiderivative anti-aliasing in closed form, finite in
            float32 when consecutive samples are equal (module docstring).

    Shape: ``(B, C, T) -> (B, C, T)``.
    """

    def __init__(self, channels: int, *, alpha: float = 1.0, beta: float = 1.0,
                 trainable: bool = True, adaa: bool = False) -> None:
        super().__init__(channels, alpha, trainable, adaa)
        beta = check_parameter("beta", beta)
        self.log_beta = nn.Parameter(torch.full((self.channels,), math.log(beta)),
                                     requires_grad=trainable)

    def _divisor_inverse(self, a: torch.Tensor) -> torch.Tensor:
        return 1.0 / (self.log_beta.to(a.dtype).exp().view(1, -1, 1) + self.eps)
