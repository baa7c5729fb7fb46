"""The check runs of :func:`upsamplers.swap`: run a model on a few input lengths,
record what its upsampling layers saw, and compare a swapped model with it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .._checks import InvalidType, InvalidValue

#: Input lengths of the check runs beyond the example's ``T``: ``T + 1`` and ``T + 7``
#: (an odd and a prime step: a length rule off by a multiple of the factor shows).
EXTRA_LENGTHS = (1, 7)
#: Input length of the default example input.
DEFAULT_LENGTH = 16
CHECK_SEED = 0


@dataclass(frozen=True)
class Call:
    """One call of a watched module: run index, channels and lengths in and out."""

    run: int
    channels_in: int
    length_in: int
    channels_out: int
    length_out: int
    dtype: torch.dtype
    device: torch.device


def _first_floating(model: nn.Module) -> tuple[torch.dtype, torch.device]:
    for tensor in [*model.parameters(), *model.buffers()]:
        if tensor.is_floating_point():
            return tensor.dtype, tensor.device
    return torch.get_default_dtype(), torch.device("cpu")


def check_inputs(model: nn.Module, example_input: Any) -> list[torch.Tensor]:
    """The inputs of the check runs: ``example_input`` (a ``(B, C, T)`` tensor or a
    shape, default ``(1, C, 16)`` with ``C`` the first convolution's input channels),
    then inputs ``T + 1`` and ``T + 7`` long (random, or the tensor repeated)."""
    dtype, device = _first_floating(model)
    if example_input is None:
        channels = next((m.in_channels for m in model.modules()
                         if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d))), None)
        if channels is None:
            raise InvalidValue("swap could not guess the model's input shape (it has no "
                               "Conv1d or ConvTranspose1d); pass example_input=(B, C, T) or a "
                               "tensor; received example_input=None")
        example_input = (1, channels, DEFAULT_LENGTH)
    if isinstance(example_input, torch.Tensor):
        if example_input.dim() < 1 or example_input.shape[-1] < 1:
            raise InvalidValue("example_input must have a time axis (last) of at least one "
                               f"sample; received shape {tuple(example_input.shape)}")
        x = example_input.detach()
        length = x.shape[-1]
        repeats = -(-(length + max(EXTRA_LENGTHS)) // length)
        longer = x.repeat(*([1] * (x.dim() - 1)), repeats)
        return [x] + [longer[..., :length + k] for k in EXTRA_LENGTHS]
    if not (isinstance(example_input, tuple) and len(example_input) >= 1 and all(
            isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in example_input)):
        raise InvalidType("example_input must be a tensor or a tuple of positive integers "
                          f"(B, C, T); received example_input={example_input!r}")
    generator = torch.Generator().manual_seed(CHECK_SEED)
    *head, length = example_input
    return [torch.randn((*head, length + k), generator=generator, dtype=dtype).to(device)
            for k in (0, *EXTRA_LENGTHS)]


def _shapes(out: Any) -> Any:
    """The shapes of every tensor in ``out`` (nested tuples, lists, dicts)."""
    if isinstance(out, torch.Tensor):
        return tuple(out.shape)
    if isinstance(out, (tuple, list)):
        return [_shapes(o) for o in out]
    if isinstance(out, dict):
        return {k: _shapes(v) for k, v in out.items()}
    return type(out).__name__


def shapes_text(shapes: Any) -> str:
    """``(1, 1, 5120)``, or the nested structure of several outputs."""
    return str(shapes)


@contextmanager
def _quiet(model: nn.Module) -> Iterator[None]:
    """Eval mode, no grad, torch's generator forked (and seeded): the training flags
    and the caller's random stream are as they were afterwards."""
    training = [(m, m.training) for m in model.modules()]
    devices = sorted({t.device.index or 0 for t in model.parameters() if t.is_cuda})
    try:
        with torch.random.fork_rng(devices=devices), torch.no_grad():
            torch.random.default_generator.manual_seed(CHECK_SEED)
            for index in devices:
                with torch.cuda.device(index):
                    torch.cuda.manual_seed(CHECK_SEED)
            model.eval()
            yield
    finally:
        for m, flag in training:
            m.train(flag)


def _watch(modules: Sequence[nn.Module], calls: dict[int, list[Call]], run: list[int]
           ) -> list[Any]:
    """Forward hooks recording every call of ``modules`` into ``calls`` (by id)."""
    def hook(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        x = args[0] if args else None
        if isinstance(x, torch.Tensor) and isinstance(output, torch.Tensor) and x.dim() >= 2 \
                and output.dim() >= 2:
            calls[id(module)].append(Call(run[0], x.shape[-2], x.shape[-1], output.shape[-2],
                                          output.shape[-1], x.dtype, x.device))

    unique = {id(m): m for m in modules}
    for key in unique:
        calls.setdefault(key, [])
    return [m.register_forward_hook(hook) for m in unique.values()]


@dataclass
class CheckRuns:
    """The original model's runs: the inputs it ran on, its output shapes, and the
    calls of its upsampling layers."""

    inputs: list[torch.Tensor]
    shapes: list[Any]
    calls: dict[int, list[Call]]
    notes: list[str] = field(default_factory=list)

    @property
    def lengths(self) -> list[int]:
        return [x.shape[-1] for x in self.inputs]

    def calls_of(self, module: nn.Module) -> list[Call]:
        return list(self.calls.get(id(module), []))

    def check_after(self, model: nn.Module, replaced: list[tuple[str, list[Call], nn.Module]],
                    error: type[Exception]) -> None:
        """Run the swapped ``model`` on the same inputs; ``error`` if it fails, or an
        output shape or a replaced layer's output length differs."""
        calls: dict[int, list[Call]] = {}
        run = [0]
        handles = _watch([new for _, _, new in replaced], calls, run)
        try:
            with _quiet(model):
                for i, x in enumerate(self.inputs):
                    run[0] = i
                    try:
                        shape = _shapes(model(x))
                    except Exception as failure:  # noqa: BLE001 - reported with the cause
                        raise error(_failed(failure, replaced, x)) from failure
                    if shape != self.shapes[i]:
                        raise error(f"the swapped model's output for input length "
                                    f"{x.shape[-1]} has shape {shape}, the original's "
                                    f"{self.shapes[i]}")
        finally:
            for h in handles:
                h.remove()
        for name, old, new in replaced:
            before = [(c.run, c.length_in, c.length_out) for c in old]
            after = [(c.run, c.length_in, c.length_out) for c in calls[id(new)]]
            if before != after:
                raise error(f"{name}: (run, input length, output length) of its calls were "
                            f"{before}, its replacement's are {after}")


def _failed(failure: Exception, replaced: list[tuple[str, list[Call], nn.Module]],
            x: torch.Tensor) -> str:
    names = ", ".join(name for name, _, _ in replaced)
    cause = f"{type(failure).__name__}: {failure}"
    hint = ("; a module reads an attribute of a replaced layer that its replacement does "
            "not have" if isinstance(failure, AttributeError) else "")
    return (f"the swapped model failed on an input of shape {tuple(x.shape)} where the "
            f"original ran: {cause}{hint} (replaced: {names})")


def run_model(model: nn.Module, inputs: list[torch.Tensor], modules: Sequence[nn.Module]
              ) -> CheckRuns:
    """Run ``model`` on ``inputs``, watching ``modules``. The first input must run
    (an ``InvalidValue`` naming the error otherwise); a later one the model fails on
    is dropped, with a note."""
    calls: dict[int, list[Call]] = {}
    run = [0]
    kept: list[torch.Tensor] = []
    shapes: list[Any] = []
    notes: list[str] = []
    handles = _watch(modules, calls, run)
    try:
        with _quiet(model):
            for x in inputs:
                run[0] = len(kept)
                try:
                    out = model(x)
                except Exception as failure:  # noqa: BLE001 - the first is raised
                    for key in calls:
                        calls[key] = [c for c in calls[key] if c.run < len(kept)]
                    if not kept:
                        raise InvalidValue(
                            f"the model failed on the check input of shape {tuple(x.shape)}: "
                            f"{type(failure).__name__}: {failure}; pass an example_input it "
                            "takes") from failure
                    notes.append(f"the original model does not run on input length "
                                 f"{x.shape[-1]} ({type(failure).__name__}); not checked there")
                    continue
                kept.append(x)
                shapes.append(_shapes(out))
    finally:
        for h in handles:
            h.remove()
    return CheckRuns(kept, shapes, calls, notes)
