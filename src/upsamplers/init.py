"""Artifact-free initialisations.

An upsampler is ``factor`` low-rate *phase* kernels plus an interleave. If the
phases of an output channel differ, a constant input comes out with period
``factor``: tones at multiples of ``sample_rate / factor``. These initialisers
start every phase equal, so that at initialisation the layer is
nearest-neighbour upsampling of a low-rate convolution and has no tonal
artifacts (ICNR, Aitken et al. 2017, "Checkerboard artifact free sub-pixel
convolution").
"""

from __future__ import annotations

import math

import torch
from torch import nn


def _uniform_fan_in_(tensor: torch.Tensor, fan_in: int) -> torch.Tensor:
    # PyTorch's default conv initialisation: kaiming_uniform(a=sqrt(5)),
    # i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return nn.init.uniform_(tensor, -bound, bound)


def _layer_type_error(name: str, expected: str, layer: object) -> TypeError:
    return TypeError(f"{name} expects {expected}; received {type(layer).__name__}")


@torch.no_grad()
def icnr_(layer: nn.Module) -> nn.Module:
    """ICNR initialisation of a :class:`~upsamplers.layers.SubPixel1d`, in place.

    Draws one kernel ``w0`` of shape ``(C_out, C_in, K)`` with PyTorch's default
    convolution scale and copies it to every phase, respecting the layer's shuffle
    order: ``weight[c * r + i] = w0[c]`` for ``order="channel"``,
    ``weight[i * C_out + c] = w0[c]`` for ``order="phase"``. The bias, if any, is
    shared across phases the same way.

    Returns the layer.
    """
    from .layers import SubPixel1d

    if not isinstance(layer, SubPixel1d):
        raise _layer_type_error("icnr_", "a SubPixel1d layer", layer)
    conv = layer.conv
    r, c_out = layer.factor, layer.out_channels
    c_in, k = conv.weight.shape[1], conv.weight.shape[2]
    w0 = torch.empty(c_out, c_in, k, dtype=conv.weight.dtype, device=conv.weight.device)
    _uniform_fan_in_(w0, c_in * k)
    conv.weight.copy_(_repeat_phases(w0, r, layer.order))
    if conv.bias is not None:
        b0 = torch.empty(c_out, dtype=conv.bias.dtype, device=conv.bias.device)
        _uniform_fan_in_(b0, c_in * k)
        conv.bias.copy_(_repeat_phases(b0, r, layer.order))
    return layer


def _repeat_phases(w0: torch.Tensor, factor: int, order: str) -> torch.Tensor:
    """``(C, ...) -> (C * factor, ...)`` with each row repeated for every phase,
    laid out in shuffle ``order``."""
    if order == "channel":
        return w0.repeat_interleave(factor, dim=0)  # row c*r + i = w0[c]
    return w0.repeat((factor,) + (1,) * (w0.dim() - 1))  # row i*C + c = w0[c]


@torch.no_grad()
def nearest_init_(layer: nn.Module) -> nn.Module:
    """Equal-phase initialisation of a transposed-convolution upsampler, in place.

    Accepts a :class:`~upsamplers.layers.TransposedUpsample1d` or an
    ``nn.ConvTranspose1d`` whose kernel size is a multiple of its stride ``r``.
    Draws ``g`` of shape ``(C_in, C_out, K / r)`` and sets every tap ``r`` times:
    ``weight[..., j * r + i] = g[..., j]`` for every phase ``i``, so the layer
    equals nearest-neighbour upsampling of the low-rate convolution with ``g``.
    A bias is left as it is: it is the same for every phase already.

    Returns the layer.
    """
    from .layers import TransposedUpsample1d

    if isinstance(layer, TransposedUpsample1d):
        conv = layer.conv
    elif isinstance(layer, nn.ConvTranspose1d):
        conv = layer
    else:
        raise _layer_type_error("nearest_init_", "a TransposedUpsample1d or nn.ConvTranspose1d",
                                layer)
    stride = conv.stride[0]
    c_in, c_out_g, k = conv.weight.shape
    if k % stride != 0:
        raise ValueError(
            f"nearest_init_ needs kernel_size to be a multiple of the stride {stride} so that "
            f"every phase has the same taps; received kernel_size={k}"
        )
    g = torch.empty(c_in, c_out_g, k // stride, dtype=conv.weight.dtype,
                    device=conv.weight.device)
    _uniform_fan_in_(g, c_in * (k // stride))
    conv.weight.copy_(g.repeat_interleave(stride, dim=-1))
    return layer
