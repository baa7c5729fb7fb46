"""Exact conversions between upsampler families.

Every upsampler by ``r`` is ``r`` low-rate phase kernels plus an interleave
(:class:`upsamplers.ops.PhaseKernels`, given by every
:class:`~upsamplers.layers.Upsampler`), and a :class:`~upsamplers.layers.SubPixel1d`
*is* that form. So a transposed convolution, or nearest-neighbour interpolation
+ convolution, can be rewritten as a subpixel convolution that computes the
same function: its weights are the phase kernels, and a little zero padding of
the input and cropping of the output line the phases up (and reproduce
``nn.ConvTranspose1d``'s output length when it is not ``T * r``).

* :func:`to_subpixel` converts one module;
* :func:`convert` replaces every convertible upsampler inside a model and
  checks on a random input that the model's output did not change.

Not convertible, with the reason in the error: ``nn.ConvTranspose1d`` with
``dilation != 1`` or ``groups != 1``; linear and sinc interpolation + convolution,
whose high-rate convolution pads the *interpolated* signal with zeros (and,
for linear, whose interpolation repeats the edge samples): a zero-padded
subpixel convolution reproduces them everywhere except the first and last few
samples, which is not exact. Those layers already run at the low rate
(``impl="polyphase"``).
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._checks import InvalidType, InvalidValue, check_choice, check_positive_int, check_signal
from .layers import SubPixel1d, Upsampler
from .ops.kernels import PhaseKernels, transposed_phase_kernels
from .ops.shuffle import ORDERS, Order

__all__ = ["ConversionError", "ConversionReport", "PaddedSubPixel1d", "convert", "to_subpixel"]


class ConversionError(RuntimeError):
    """The converted model's output differs from the original's."""


class PaddedSubPixel1d(nn.Module):
    """A :class:`~upsamplers.layers.SubPixel1d` with the zero padding and the crop
    that make it compute the same function as the layer it was converted from.

    ::

        x (B, C_in, T) --zero pad (left, right)--> (B, C_in, T + left + right)
                       --subpixel-----------------> (B, C_out, (T + left + right) * r)
                       --keep [offset, offset + T * r + extra)

    Args:
        subpixel: the layer holding the weights.
        pad: ``(left, right)`` zeros padded to the input.
        offset: output samples dropped at the start.
        extra: output length minus ``T * factor`` (``nn.ConvTranspose1d`` with
            padding or ``output_padding`` does not give ``T * factor`` samples).
        like: the ``nn.ConvTranspose1d`` it replaces, if any: its hyperparameters
            ``kernel_size``, ``stride``, ``padding``, ``output_padding``, ``dilation``
            (tuples), ``groups`` and ``padding_mode`` are kept as attributes of the
            same types and values, for a parent module that reads them (e.g. to trim
            its output by ``self.up.kernel_size[0] - self.up.stride[0]``);
            ``in_channels`` and ``out_channels`` are always there.

    Shape:
        ``(B, C_in, T) -> (B, C_out, T * factor + extra)``
    """

    def __init__(self, subpixel: nn.Module, *, pad: tuple[int, int] = (0, 0), offset: int = 0,
                 extra: int = 0, like: nn.ConvTranspose1d | None = None) -> None:
        super().__init__()
        if getattr(subpixel, "kind", None) != "subpixel":
            raise InvalidType(f"subpixel must be a SubPixel1d; received "
                              f"{type(subpixel).__name__}")
        self.subpixel = subpixel
        self.pad = (check_positive_int("pad[0]", pad[0], minimum=0),
                    check_positive_int("pad[1]", pad[1], minimum=0))
        self.offset = check_positive_int("offset", offset, minimum=0)
        if isinstance(extra, bool) or not isinstance(extra, int):
            raise InvalidType(f"extra must be an integer; received extra={extra!r}")
        self.extra = extra
        self.factor = subpixel.factor
        self.in_channels = subpixel.in_channels
        self.out_channels = subpixel.out_channels
        if like is not None:
            self._keep_hyperparameters(like)

    def _keep_hyperparameters(self, like: nn.ConvTranspose1d) -> None:
        if not isinstance(like, nn.ConvTranspose1d):
            raise InvalidType(f"like must be an nn.ConvTranspose1d; received "
                              f"{type(like).__name__}")
        if (like.in_channels, like.out_channels, like.stride[0]) != (
                self.in_channels, self.out_channels, self.factor):
            raise InvalidValue(
                "like must have the subpixel layer's channels and factor "
                f"({self.in_channels}, {self.out_channels}, {self.factor}); received "
                f"({like.in_channels}, {like.out_channels}, {like.stride[0]})")
        self.kernel_size = tuple(like.kernel_size)
        self.stride = tuple(like.stride)
        self.padding = tuple(like.padding)  # type: ignore[arg-type]
        self.output_padding = tuple(like.output_padding)
        self.dilation = tuple(like.dilation)
        self.groups = like.groups
        self.padding_mode = like.padding_mode

    def output_length(self, length: int) -> int:
        """``length * factor + extra``."""
        return check_positive_int("length", length) * self.factor + self.extra

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, T) -> (B, C_out, T * factor + extra)``."""
        check_signal("x", x, channels=self.in_channels)
        length = x.shape[-1] * self.factor + self.extra
        if length < 1:
            raise InvalidValue(f"an input of {x.shape[-1]} samples gives no output "
                             f"({x.shape[-1]} * {self.factor} + {self.extra} = {length}); "
                             f"received shape {tuple(x.shape)}")
        if self.pad != (0, 0):
            x = F.pad(x, self.pad)
        return self.subpixel(x)[..., self.offset: self.offset + length]

    def extra_repr(self) -> str:
        return f"pad={self.pad}, offset={self.offset}, extra={self.extra}"


def _from_phase_kernels(kernels: PhaseKernels, *, extra: int, order: str,
                        like: torch.Tensor, source: nn.ConvTranspose1d | None = None,
                        ) -> nn.Module:
    r, c_out, c_in, size = kernels.weight.shape
    layer = SubPixel1d(c_in, c_out, r, size, bias=kernels.bias is not None,
                       order=order,  # type: ignore[arg-type]
                       device=like.device, dtype=like.dtype)
    with torch.no_grad():
        if order == "channel":
            layer.conv.weight.copy_(kernels.stacked())  # row c * r + i
        else:
            layer.conv.weight.copy_(kernels.weight.reshape(r * c_out, c_in, size))  # i * C + c
        if kernels.bias is not None:
            bias = kernels.bias.T.reshape(-1) if order == "channel" else kernels.bias.reshape(-1)
            layer.conv.bias.copy_(bias)
    # SubPixel1d reads x[s + e - (E - 1) // 2]; the kernels want x[s + e - left].
    natural = (size - 1) // 2
    pad_left = max(0, kernels.left - natural)
    columns = natural + pad_left - kernels.left  # low-rate columns to drop at the start
    offset = columns * r
    # enough columns on the right for offset + T * r + extra samples
    pad_right = max(0, -(-(offset + extra) // r) - pad_left)
    if pad_left == pad_right == offset == extra == 0 and source is None:
        return layer
    return PaddedSubPixel1d(layer, pad=(pad_left, pad_right), offset=offset, extra=extra,
                            like=source)


def to_subpixel(module: nn.Module, *, order: Order = "channel") -> nn.Module:
    """The subpixel convolution that computes the same function as ``module``.

    Args:
        module: an ``nn.ConvTranspose1d`` (any kernel size, stride, padding and
            ``output_padding``; ``dilation=1``, ``groups=1``), or any
            :class:`~upsamplers.layers.Upsampler` whose phase kernels are exact
            (``end_effects is None``): :class:`~upsamplers.layers.TransposedUpsample1d`,
            :class:`~upsamplers.layers.InterpUpsample1d` with ``mode="nearest"``, and
            :class:`~upsamplers.layers.SubPixel1d` itself (e.g. to change its order).
        order: shuffle order of the new layer, ``"channel"`` or ``"phase"``.

    Returns:
        for an ``nn.ConvTranspose1d``, a :class:`PaddedSubPixel1d` that keeps its
        hyperparameters (``kernel_size``, ``stride``, ``padding``, ... of the same
        types) for a parent that reads them; for an upsampler, a
        :class:`~upsamplers.layers.SubPixel1d` when no padding or cropping is
        needed, otherwise a :class:`PaddedSubPixel1d` wrapping one. Its output
        equals ``module``'s (to rounding), including the output length of an
        ``nn.ConvTranspose1d``, ``(T - 1) * stride - 2 * padding + K + output_padding``.
        The weights are copied: the new module does not share them.

    Raises:
        ValueError: for a module that cannot be converted exactly, naming the reason
            (dilation, groups, linear or sinc interpolation).
        TypeError: for a module of another type.
    """
    check_choice("order", order, ORDERS)
    if isinstance(module, Upsampler):
        if module.end_effects is not None:
            raise InvalidValue(
                f"to_subpixel cannot convert mode={module.kind!r} exactly: "
                f"{module.end_effects}, which a zero-padded SubPixel1d cannot reproduce in the "
                "first and last output samples; it already runs at the low rate with "
                "impl='polyphase'. Only mode='nearest' converts exactly")
        kernels = module.phase_kernels().detached()
        return _from_phase_kernels(kernels, extra=0, order=order, like=kernels.weight)
    if isinstance(module, nn.ConvTranspose1d):
        return _convert_conv_transpose(module, order)
    raise InvalidType(
        "to_subpixel converts nn.ConvTranspose1d and upsamplers whose phase kernels are "
        "exact (TransposedUpsample1d, InterpUpsample1d(mode='nearest'), SubPixel1d); "
        f"received {type(module).__name__}")


def _convert_conv_transpose(module: nn.ConvTranspose1d, order: str) -> nn.Module:
    if module.dilation[0] != 1:
        raise InvalidValue(
            "to_subpixel cannot convert an nn.ConvTranspose1d with dilation != 1 (its taps "
            f"are not contiguous within a phase); received dilation={module.dilation[0]}")
    if module.groups != 1:
        raise InvalidValue(
            "to_subpixel cannot convert an nn.ConvTranspose1d with groups != 1 (SubPixel1d "
            f"has a dense convolution); received groups={module.groups}")
    if module.padding_mode != "zeros":
        raise InvalidValue("to_subpixel needs padding_mode='zeros'; "
                           f"received padding_mode={module.padding_mode!r}")
    stride, padding = module.stride[0], module.padding[0]
    size = module.kernel_size[0]
    kernels = transposed_phase_kernels(module.weight, stride, padding, module.bias)
    extra = size - stride - 2 * padding + module.output_padding[0]
    return _from_phase_kernels(kernels.detached(), extra=extra, order=order,
                               like=module.weight, source=module)


@dataclass
class ConversionReport:
    """What :func:`convert` did.

    Attributes:
        model: the converted model (the input model itself when ``inplace=True``).
        replaced: ``(name, old type, new type)`` for every replaced module, names as
            in ``model.named_modules()``.
        skipped: ``(name, reason)`` for every upsampler that was left as it was.
        max_difference: largest absolute difference between the outputs of the
            original and the converted model on the check input.
        scale: largest absolute output of the original model on that input.
    """

    model: nn.Module
    replaced: list[tuple[str, str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    max_difference: float = 0.0
    scale: float = 0.0

    def __str__(self) -> str:
        lines = [f"replaced {len(self.replaced)} module(s)"]
        lines += [f"  {name}: {old} -> {new}" for name, old, new in self.replaced]
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)}")
            lines += [f"  {name}: {why}" for name, why in self.skipped]
        lines.append(f"max |difference| = {self.max_difference:.3g} "
                     f"(output scale {self.scale:.3g})")
        return "\n".join(lines)


_UPSAMPLERS = (Upsampler, nn.ConvTranspose1d)


def _plan(model: nn.Module, order: str) -> tuple[list[tuple[str, nn.Module, nn.Module]],
                                                 list[tuple[str, str]]]:
    """Walk the model; an upsampler's own children (e.g. its ``conv``) are not visited."""
    todo: list[tuple[str, nn.Module, nn.Module]] = []
    skipped: list[tuple[str, str]] = []

    def visit(prefix: str, module: nn.Module) -> None:
        for name, child in module.named_children():
            full = f"{prefix}.{name}" if prefix else name
            if getattr(child, "kind", None) == "subpixel":
                continue  # already in the target form
            if isinstance(child, _UPSAMPLERS):
                if isinstance(child, nn.ConvTranspose1d) and child.stride[0] == 1:
                    skipped.append((full, "nn.ConvTranspose1d with stride 1 is not an upsampler"))
                    continue
                try:
                    todo.append((full, child, to_subpixel(child, order=order)))  # type: ignore[arg-type]
                except ValueError as error:
                    skipped.append((full, str(error)))
            else:
                visit(full, child)

    visit("", model)
    return todo, skipped


def _set(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, attr = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, attr, module)


def _check_input(model: nn.Module, example_input: torch.Tensor | tuple[int, ...] | None,
                 ) -> torch.Tensor:
    if isinstance(example_input, torch.Tensor):
        return example_input
    first = next(model.parameters(), None)
    dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    device = first.device if first is not None else torch.device("cpu")
    if example_input is None:
        channels = None
        for module in model.modules():
            if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d)):
                channels = module.in_channels
                break
        if channels is None:
            raise InvalidValue("convert could not guess the model's input shape; pass "
                             "example_input=(B, C, T) or a tensor; received example_input=None")
        example_input = (2, channels, 64)
    if not (isinstance(example_input, tuple) and all(
            isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in example_input)):
        raise InvalidType("example_input must be a tensor or a tuple of positive integers; "
                        f"received example_input={example_input!r}")
    generator = torch.Generator().manual_seed(0)
    return torch.randn(example_input, generator=generator, dtype=dtype).to(device)


#: The seed of both check runs: a model that draws random numbers (noise
#: injection) draws the same ones in each.
CHECK_SEED = 0


def _devices(device: torch.device) -> list[int]:
    if device.type != "cuda":
        return []
    return [device.index if device.index is not None else torch.cuda.current_device()]


def _seeded_outputs(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``model(x)`` with torch's (CPU and ``x``'s GPU), Python's and numpy's global
    generators seeded with :data:`CHECK_SEED`; the caller's generator states are
    restored afterwards, so converting changes no random draw of the user's."""
    devices = _devices(x.device)
    # numpy's legacy global generator is the one a model's np.random.randn draws from
    python_state, numpy_state = random.getstate(), np.random.get_state()  # noqa: NPY002
    try:
        with torch.random.fork_rng(devices=devices):
            torch.random.default_generator.manual_seed(CHECK_SEED)
            for index in devices:
                with torch.cuda.device(index):
                    torch.cuda.manual_seed(CHECK_SEED)
            random.seed(CHECK_SEED)
            np.random.seed(CHECK_SEED)  # noqa: NPY002
            return _outputs(model, x)
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)  # noqa: NPY002


def _outputs(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    out = model(x)
    if isinstance(out, (tuple, list)):
        out = torch.cat([o.reshape(-1) for o in out])
    if not isinstance(out, torch.Tensor):
        raise InvalidType("convert checks models that return tensors; received "
                          f"{type(out).__name__}")
    return out.detach()


def _run_converted(target: nn.Module, x: torch.Tensor,
                   todo: list[tuple[str, nn.Module, nn.Module]]) -> torch.Tensor:
    """The converted model's output; a parent that reads an attribute its replaced
    child no longer has gets a :class:`ConversionError` naming it and the layers."""
    try:
        return _seeded_outputs(target, x)
    except AttributeError as error:
        names = ", ".join(f"{name} ({type(old).__name__} -> {type(new).__name__})"
                          for name, old, new in todo)
        raise ConversionError(
            f"the converted model failed where the original ran: AttributeError: {error}; "
            "a module reads an attribute of a replaced layer that its replacement does not "
            f"have (replaced: {names}); convert the layers you can with to_subpixel and "
            "set them yourself, or leave this model as it is") from error


def _compare(before: torch.Tensor, after: torch.Tensor, tolerance: float,
             ) -> tuple[float, float]:
    """``(max |after - before|, max |before|)``; a :class:`ConversionError` when the
    shapes differ or the difference is beyond ``tolerance`` relative."""
    scale = float(before.abs().max()) if before.numel() else 0.0
    if after.shape != before.shape:
        raise ConversionError(f"the converted model's output has shape {tuple(after.shape)}, "
                              f"the original's {tuple(before.shape)}")
    difference = float((after - before).abs().max()) if before.numel() else 0.0
    if difference > tolerance * max(scale, torch.finfo(before.dtype).tiny):
        raise ConversionError(
            f"the converted model's output differs from the original's by {difference:.3g} "
            f"(output scale {scale:.3g}, tolerance {tolerance:g} relative)")
    return difference, scale


def convert(
    model: nn.Module,
    to: Literal["subpixel"] = "subpixel",
    *,
    inplace: bool = False,
    example_input: torch.Tensor | tuple[int, ...] | None = None,
    order: Order = "channel",
    tolerance: float = 1e-5,
) -> ConversionReport:
    """Replace every convertible upsampler inside ``model`` by its exact subpixel
    form (:func:`to_subpixel`), and check that the model's output did not change.

    Converted: ``nn.ConvTranspose1d`` with stride > 1, :class:`TransposedUpsample1d`,
    ``InterpUpsample1d(mode="nearest")``. Left as they are, and listed in
    ``report.skipped`` with the reason: linear and sinc interpolation (not exact;
    they already run at the low rate), transposed convolutions with dilation or
    groups, stride-1 transposed convolutions.

    Weight norm (``nn.utils.weight_norm``, ``nn.utils.parametrizations.weight_norm``)
    is folded into the new weights (re-apply it to the new ``conv`` to train on). A
    replaced ``nn.ConvTranspose1d`` keeps its hyperparameters (:class:`PaddedSubPixel1d`,
    ``like``) for a parent that reads them. The check runs both models with torch's,
    Python's and numpy's global generators seeded alike (:data:`CHECK_SEED`; a model
    that injects noise draws the same), then restores their states.

    Args:
        model: any ``nn.Module``.
        to: the target family; ``"subpixel"``.
        inplace: modify ``model`` itself (default: convert a deep copy).
        example_input: the check input, a tensor or a shape ``(B, C, T)`` for a
            random normal one (seed 0); default: ``(2, C, 64)`` with ``C`` the input
            channels of the first convolution in ``model.modules()``.
        order: shuffle order of the new layers.
        tolerance: largest allowed ``max |y_new - y_old| / max |y_old|``.

    Returns:
        a :class:`ConversionReport`; ``report.model`` is the converted model.

    Raises:
        ConversionError: if the outputs differ by more than ``tolerance``, or the
            converted model fails on a missing attribute of a replaced layer (an
            ``inplace`` model is then restored).
    """
    check_choice("to", to, ("subpixel",))
    check_choice("order", order, ORDERS)
    if not isinstance(model, nn.Module):
        raise InvalidType(f"model must be a torch.nn.Module; received {type(model).__name__}")
    if not isinstance(inplace, bool):
        raise InvalidType(f"inplace must be True or False; received inplace={inplace!r}")
    x = _check_input(model, example_input)
    training = {name: m.training for name, m in model.named_modules()}
    model.eval()
    with torch.no_grad():
        before = _seeded_outputs(model, x)
    target = model if inplace else copy.deepcopy(model)
    # the new layers' constructors draw their (overwritten) initial weights
    with torch.random.fork_rng(devices=_devices(x.device)):
        todo, skipped = _plan(target, order)
    for name, _, new in todo:
        _set(target, name, new)
    try:
        target.eval()
        with torch.no_grad():
            after = _run_converted(target, x, todo)
        difference, scale = _compare(before, after, tolerance)
    except Exception:
        if inplace:
            for name, old, _ in todo:
                _set(target, name, old)
        raise
    finally:
        for name, m in model.named_modules():
            m.train(training.get(name, m.training))
        if not inplace:
            for name, m in target.named_modules():
                if name in training:
                    m.train(training[name])
    replaced = [(name, type(old).__name__, type(new).__name__) for name, old, new in todo]
    return ConversionReport(target, replaced, skipped, difference, scale)
