"""How :func:`~upsamplers.swap` replaces the layers: find them (lint), read their
length rule and channels, build the new ones, put them in and check the model."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .._checks import InvalidType, InvalidValue, check_bool, check_choice
from ..conversion import ConversionError
from ..layers import Upsampler, make_upsampler, upsampler_kinds
from ..layers.registry import check_upsampler_options
from .report import SwapEntry, SwapReport
from .runs import Call, CheckRuns, check_inputs, run_model, shapes_text
from .wrapper import LengthMatched


class SwapError(ConversionError):
    """The swapped model failed, or gave another output shape, where the original ran."""


def _half_up(value: float) -> int:
    """``value`` rounded to the nearest integer, halves up (``-0.5 -> 0``, ``2.5 -> 3``:
    HiFi-GAN's odd strides stay unshifted, and the larger half of an odd extra goes
    first, where EnCodec's trim takes its larger half)."""
    return math.floor(value + 0.5)



@dataclass
class _Target:
    """A layer to replace: where, what it is, and what the check runs saw of it."""

    names: list[str]
    module: nn.Module
    factor: int
    extra: int | None = None  # None: read from the calls
    left: int | None = None
    calls: list[Call] = field(default_factory=list)


def _length_rule(module: nn.Module, factor: int) -> tuple[int, int] | str | None:
    """``(extra, left)`` of ``module``'s output length ``T * factor + extra`` read
    from its attributes; a reason string when it is not affine in ``T``; ``None``
    when it must be read from the calls."""
    if isinstance(module, nn.ConvTranspose1d):
        s, k = module.stride[0], module.kernel_size[0]
        d, p, op = module.dilation[0], module.padding[0], module.output_padding[0]  # type: ignore[index]
        extra = d * (k - 1) + op + 1 - s - 2 * p
        # kernel centred at t * s + d (K - 1) / 2 - p; a new layer's at t * s + (s - 1) / 2
        return extra, _half_up(d * (k - 1) / 2 - p - (s - 1) / 2)
    if isinstance(module, nn.Upsample):
        if module.size is not None:
            return (f"a fixed output size (size={module.size}): its length is not "
                    "T * factor + a constant")
        return 0, 0
    measure = getattr(module, "output_length", None)
    if not callable(measure):
        return None
    try:
        lengths = [measure(t) for t in range(1, 9)]
    except Exception as error:  # noqa: BLE001 - a foreign output_length: say why
        return f"its output_length(T) failed: {type(error).__name__}: {error}"
    extras = {n - t * factor for t, n in enumerate(lengths, 1)}
    if len(extras) != 1:
        return (f"its output_length(T) for T = 1..8 is {lengths}: not T * {factor} "
                "+ a constant")
    extra = extras.pop()
    left = getattr(module, "left", None)
    return extra, left if isinstance(left, int) else _half_up(extra / 2)


def _no_factor(module: nn.Module, kind: str) -> str:
    """Why a layer lint gives no factor is left alone."""
    if kind == "interpolate":
        return "calls F.interpolate in forward(): no module to replace"
    rule = _length_rule(module, 1)
    if isinstance(rule, str):
        return rule
    scale = getattr(module, "scale_factor", None)
    return f"its factor is not an integer (scale_factor={scale!r})"


def _plan(model: nn.Module) -> tuple[list[_Target], list[tuple[str, str]]]:
    """The layers lint finds, as targets or ``(name, reason)`` left alone."""
    from ..analysis.linting import lint  # the analysis is imported when a swap runs

    registered: dict[int, list[str]] = {}
    for name, module in model.named_modules(remove_duplicate=False):
        registered.setdefault(id(module), []).append(name)
    targets, skipped = [], []
    for finding in lint(model).findings:
        name = finding.name
        if finding.factor is None:
            skipped.append((name, _no_factor(model.get_submodule(name), finding.kind)))
            continue
        if finding.factor < 2:
            skipped.append((name, f"factor {finding.factor}: it does not upsample"))
            continue
        if name == "":
            skipped.append((name, "the model is itself the layer: build its replacement "
                                  "with make_upsampler"))
            continue
        module = model.get_submodule(name)
        target = _Target(registered[id(module)], module, finding.factor)
        rule = _length_rule(module, finding.factor)
        if isinstance(rule, str):
            skipped.append((name, rule))
            continue
        if rule is not None:
            target.extra, target.left = rule
        targets.append(target)
    return targets, skipped


def _settle(target: _Target) -> str | None:
    """Fill the extra length and the alignment from the calls where the attributes
    did not give them; check the calls against them. A reason to skip, or ``None``."""
    r = target.factor
    seen = sorted({(c.length_in, c.length_out) for c in target.calls})
    if target.extra is None:
        extras = {n - t * r for t, n in seen}
        if len({t for t, _ in seen}) < 2 or len(extras) != 1:
            return ("its output length could not be read: it has no output_length(T), and "
                    f"the check runs gave (T in, T out) = {seen}, not two lengths on "
                    f"T * {r} + a constant")
        target.extra = extras.pop()
        target.left = _half_up(target.extra / 2)
    wrong = [(t, n) for t, n in seen if n != t * r + target.extra]
    if wrong:
        return (f"called with input length {wrong[0][0]} it gave {wrong[0][1]} samples, "
                f"not T * {r} + {target.extra} = {wrong[0][0] * r + target.extra} "
                "(called with output_size?)")
    return None


def _channels(target: _Target) -> tuple[int, int] | str:
    """``(C_in, C_out)`` from the module's attributes, else from its calls."""
    m = target.module
    c_in, c_out = getattr(m, "in_channels", None), getattr(m, "out_channels", None)
    if isinstance(c_in, int) and isinstance(c_out, int):
        return c_in, c_out
    pairs = sorted({(c.channels_in, c.channels_out) for c in target.calls})
    if not pairs:
        return ("it was not called on the check input and does not hold its channel "
                "counts; pass an example_input that reaches it")
    if len(pairs) > 1:
        return (f"it is called with different channel counts {pairs} (C_in, C_out): one "
                "learnable layer cannot serve them; give each call its own module")
    return pairs[0]


def _dtype_device(target: _Target) -> tuple[torch.dtype, torch.device]:
    for tensor in [*target.module.parameters(), *target.module.buffers()]:
        if tensor.is_floating_point():
            return tensor.dtype, tensor.device
    if target.calls:
        return target.calls[0].dtype, target.calls[0].device
    return torch.get_default_dtype(), torch.device("cpu")


def _build(target: _Target, kind: str, options: dict[str, Any]
           ) -> tuple[nn.Module, SwapEntry] | str:
    """The replacement of ``target`` and its report line, or why it is skipped."""
    why = _settle(target)
    channels = _channels(target)
    if why is not None or isinstance(channels, str):
        return why or str(channels)
    assert target.extra is not None and target.left is not None  # set by _settle
    c_in, c_out = channels
    dtype, device = _dtype_device(target)
    upsampler = make_upsampler(kind, c_in, c_out, target.factor, **options)
    left, right = target.left, target.extra - target.left
    like = None if isinstance(target.module, Upsampler) else target.module
    new = LengthMatched(upsampler, left, right, like=like).to(device=device, dtype=dtype)
    new.train(target.module.training)
    kernel = getattr(target.module, "kernel_size", None)
    kernel = kernel[0] if isinstance(kernel, tuple) else kernel
    entry = SwapEntry(target.names[0], type(target.module).__name__, target.factor,
                      kernel if isinstance(kernel, int) else None, target.extra, left, right,
                      c_in, c_out, len(target.calls), kind, also=target.names[1:])
    return new, entry


def _build_all(report: SwapReport, targets: list[_Target], kind: str,
               options: dict[str, Any]) -> list[tuple[_Target, nn.Module]]:
    """Every replacement (built before any is put in); the rest to ``report.skipped``."""
    todo = []
    for t in targets:
        built = _build(t, kind, options)
        if isinstance(built, str):
            report.skipped.append((t.names[0], built))
            continue
        todo.append((t, built[0]))
        report.replaced.append(built[1])
    return todo


def _set(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, attr = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, attr, module)


def _copy(model: nn.Module) -> nn.Module:
    try:
        return copy.deepcopy(model)
    except RuntimeError as error:
        raise InvalidValue(f"model could not be deep-copied ({error}); swap a copy you make "
                           "yourself with inplace=True") from error


def _parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _replace(target: nn.Module, todo: list[tuple[_Target, nn.Module]],
             runs: CheckRuns) -> None:
    """Put the new modules in, run the model again, and check every shape; an
    error (the modules put back) when a shape differs or the model fails."""
    for old, new in todo:
        for name in old.names:
            _set(target, name, new)
    try:
        runs.check_after(target, [(old.names[0], old.calls, new) for old, new in todo],
                         SwapError)
    except Exception:
        for old, _ in todo:
            for name in old.names:
                _set(target, name, old.module)
        raise


def swap(model: nn.Module, kind: str, *, inplace: bool = False,
         example_input: torch.Tensor | tuple[int, ...] | None = None,
         **options: Any) -> SwapReport:
    """Replace every upsampling layer of ``model`` by ``kind``, keeping every output length.

    The layers are those :func:`~upsamplers.analysis.lint` finds. Each becomes a
    :class:`LengthMatched` around ``make_upsampler(kind, C_in, C_out, factor,
    **options)`` (fresh weights, on the replaced layer's device and dtype) whose
    output has, for every input length ``T``, the replaced layer's length: from its
    attributes (``nn.ConvTranspose1d``: stride, kernel size, padding,
    ``output_padding``, dilation; ``nn.Upsample``; an ``output_length(T)``), else
    from its calls. A replaced ``nn.ConvTranspose1d``'s hyperparameters stay on the
    wrapper for a parent that reads them. A module registered at several places, or
    called several times, is one layer, replaced by one new module. Left alone, with
    the reason in ``report.skipped``: a layer whose length is not ``T * factor`` + a
    constant (``nn.Upsample(size=...)``), a non-integer factor, ``F.interpolate``
    inside a ``forward``, a shared ``nn.Upsample`` called with several channel
    counts. Weight norm on a replaced layer goes with it (the new layer has none).

    The check: the model runs (eval mode, no grad, torch's global generator forked)
    before and after on ``example_input`` and on random inputs 1 and 7 samples longer
    (those the original runs on); every output shape of the model and every output
    length of a replaced layer must be the same.

    Args:
        model: any ``nn.Module``; it is not modified unless ``inplace=True``.
        kind: one of :func:`~upsamplers.layers.upsampler_kinds`.
        inplace: modify ``model`` itself (default: swap in a deep copy).
        example_input: a ``(B, C, T)`` tensor or shape; default ``(1, C, 16)`` with
            ``C`` the input channels of the first convolution in ``model.modules()``.
        **options: keyword arguments of ``kind``'s class (``kernel_size``, ``init``,
            ``bias``, ...), the same for every new layer.

    Returns:
        a :class:`SwapReport`; ``report.model`` is the swapped model.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, or an option ``kind`` does not take.
        ValueError: an unknown ``kind``, or a model with no upsampling layer.
        SwapError: the swapped model failed or changed an output shape where the
            original ran (an ``inplace`` model is then restored).
    """
    if not isinstance(model, nn.Module):
        raise InvalidType(f"model must be a torch.nn.Module; received {type(model).__name__}")
    kind = check_choice("kind", kind, upsampler_kinds())
    check_upsampler_options(kind, options, "options")
    check_bool("inplace", inplace)
    inputs = check_inputs(model, example_input)
    targets, skipped = _plan(model)
    if not targets and not skipped:
        raise InvalidValue(f"model ({type(model).__name__}) has no upsampling layer that "
                           "upsamplers.analysis.lint recognises (nn.ConvTranspose1d, "
                           "nn.Upsample, PeriodicShuffle1d, an Upsampler); nothing to swap")
    # run before copying: a forward under no_grad leaves torch.nn.utils.weight_norm's
    # `weight` a leaf tensor, which deepcopy needs (as convert's check run does)
    runs = run_model(model, inputs, [t.module for t in targets])
    target = model if inplace else _copy(model)
    for t in targets:
        t.calls = runs.calls_of(t.module)
        t.module = target.get_submodule(t.names[0])
    report = SwapReport(target, kind, dict(options), skipped=skipped,
                        parameters_before=_parameters(target))
    todo = _build_all(report, targets, kind, options)
    _replace(target, todo, runs)
    report.parameters_after = _parameters(target)
    report.lengths = runs.lengths
    report.output_shapes = [shapes_text(s) for s in runs.shapes]
    report.notes += runs.notes
    report.notes += [f"{e.name} was not called in the check runs: its length is matched by "
                     "its attributes only" for e in report.replaced if not e.calls]
    if todo:
        report.notes.append("the new layers are freshly initialised: train or fine-tune "
                            "the model (the replaced layers' weights are not reused)")
    return report
