"""Artifact-free initialisations.

An upsampler is ``factor`` low-rate *phase* kernels plus an interleave. If the
phases of an output channel differ, a constant input comes out with period
``factor``: tones at multiples of ``sample_rate / factor``. These initialisers
start every phase equal, so that at initialisation the layer is
nearest-neighbour upsampling of a low-rate convolution and has no tonal
artifacts (ICNR, Aitken et al. 2017, "Checkerboard artifact free sub-pixel
convolution").

Each works on a weight tensor given the factor (and, for subpixel weights, the
shuffle order), and also accepts a layer, whose weights, factor and order it
reads: a subpixel upsampler (``kind == "subpixel"``) for :func:`icnr_`, a
transposed one (``kind == "transposed"``) or an ``nn.ConvTranspose1d`` for
:func:`nearest_init_`. This module imports no layer class.
"""

from __future__ import annotations

import math
from typing import TypeVar

import torch
from torch import nn

from ._checks import InvalidType, InvalidValue, check_choice, check_positive_int
from .ops.shuffle import ORDERS, Order

Target = TypeVar("Target", torch.Tensor, nn.Module)


def _uniform_fan_in_(tensor: torch.Tensor, fan_in: int) -> torch.Tensor:
    # PyTorch's default conv initialisation: kaiming_uniform(a=sqrt(5)),
    # i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return nn.init.uniform_(tensor, -bound, bound)


def _repeat_phases(w0: torch.Tensor, factor: int, order: str) -> torch.Tensor:
    """``(C, ...) -> (C * factor, ...)`` with each row repeated for every phase,
    laid out in shuffle ``order``."""
    if order == "channel":
        return w0.repeat_interleave(factor, dim=0)  # row c*r + i = w0[c]
    return w0.repeat((factor,) + (1,) * (w0.dim() - 1))  # row i*C + c = w0[c]


@torch.no_grad()
def icnr_weight_(weight: torch.Tensor, factor: int, *, order: Order = "channel",
                 bias: torch.Tensor | None = None) -> torch.Tensor:
    """ICNR initialisation of a subpixel convolution's weight, in place.

    ``weight`` is the low-rate ``Conv1d`` weight ``(C_out * factor, C_in, K)``.
    Draws one kernel ``w0`` of shape ``(C_out, C_in, K)`` with PyTorch's default
    convolution scale and copies it to every phase in shuffle ``order``:
    ``weight[c * r + i] = w0[c]`` for ``order="channel"``,
    ``weight[i * C_out + c] = w0[c]`` for ``order="phase"``. A ``bias``
    ``(C_out * factor,)``, if given, is shared across phases the same way.

    Returns ``weight``.
    """
    factor = check_positive_int("factor", factor)
    order = check_choice("order", order, ORDERS)  # type: ignore[assignment]
    rows, c_in, k = weight.shape
    if rows % factor != 0:
        raise InvalidValue(f"weight must have a multiple of factor={factor} rows (C_out * factor); "
                           f"received shape {tuple(weight.shape)}")
    c_out = rows // factor
    w0 = torch.empty(c_out, c_in, k, dtype=weight.dtype, device=weight.device)
    _uniform_fan_in_(w0, c_in * k)
    weight.copy_(_repeat_phases(w0, factor, order))
    if bias is not None:
        b0 = torch.empty(c_out, dtype=bias.dtype, device=bias.device)
        _uniform_fan_in_(b0, c_in * k)
        bias.copy_(_repeat_phases(b0, factor, order))
    return weight


@torch.no_grad()
def equal_phase_weight_(weight: torch.Tensor, factor: int) -> torch.Tensor:
    """Equal-phase initialisation of a transposed convolution's weight, in place.

    ``weight`` is a ``ConvTranspose1d`` weight ``(C_in, C_out, K)`` with ``K`` a
    multiple of the stride ``factor``. Draws ``g`` of shape ``(C_in, C_out, K / r)``
    and sets every tap ``r`` times: ``weight[..., j * r + i] = g[..., j]`` for every
    phase ``i``, so the layer equals nearest-neighbour upsampling of the low-rate
    convolution with ``g``.

    Returns ``weight``.
    """
    factor = check_positive_int("factor", factor)
    c_in, c_out, k = weight.shape
    if k % factor != 0:
        raise InvalidValue(
            f"nearest_init_ needs kernel_size to be a multiple of the stride {factor} so that "
            f"every phase has the same taps; received kernel_size={k}"
        )
    g = torch.empty(c_in, c_out, k // factor, dtype=weight.dtype, device=weight.device)
    _uniform_fan_in_(g, c_in * (k // factor))
    weight.copy_(g.repeat_interleave(factor, dim=-1))
    return weight


def _type_error(name: str, expected: str, target: object) -> InvalidType:
    return InvalidType(f"{name} expects {expected}; received {type(target).__name__}")


def icnr_(layer: Target, factor: int | None = None, *, order: Order = "channel") -> Target:
    """ICNR initialisation, in place, of a subpixel upsampler (a layer with
    ``kind == "subpixel"``, such as :class:`~upsamplers.layers.SubPixel1d`, whose
    ``order`` it respects) or of a weight tensor ``(C_out * factor, C_in, K)``
    (then ``factor`` is required; see :func:`icnr_weight_`).

    Returns its argument.
    """
    if isinstance(layer, torch.Tensor):
        if factor is None:
            raise InvalidType("icnr_ of a weight tensor needs factor; received factor=None")
        icnr_weight_(layer, factor, order=order)
        return layer
    if getattr(layer, "kind", None) != "subpixel":
        raise _type_error("icnr_", "a SubPixel1d layer", layer)
    conv = layer.conv
    icnr_weight_(conv.weight, layer.factor, order=layer.order, bias=conv.bias)
    return layer


def nearest_init_(layer: Target, factor: int | None = None) -> Target:
    """Equal-phase initialisation, in place, of a transposed upsampler (a layer
    with ``kind == "transposed"``, such as
    :class:`~upsamplers.layers.TransposedUpsample1d`), an ``nn.ConvTranspose1d``
    whose kernel size is a multiple of its stride, or a ``ConvTranspose1d`` weight
    tensor ``(C_in, C_out, K)`` (then ``factor`` is required; see
    :func:`equal_phase_weight_`). A bias is left as it is: it is the same for every
    phase already.

    Returns its argument.
    """
    if isinstance(layer, torch.Tensor):
        if factor is None:
            raise InvalidType("nearest_init_ of a weight tensor needs factor; received "
                              "factor=None")
        equal_phase_weight_(layer, factor)
        return layer
    if getattr(layer, "kind", None) == "transposed":
        conv = layer.conv
    elif isinstance(layer, nn.ConvTranspose1d):
        conv = layer
    else:
        raise _type_error("nearest_init_", "a TransposedUpsample1d or nn.ConvTranspose1d", layer)
    equal_phase_weight_(conv.weight, conv.stride[0])
    return layer
