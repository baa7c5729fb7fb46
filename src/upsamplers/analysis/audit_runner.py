"""How ``audit`` runs a model, and where it searches its lines.

:class:`ModelRunner` calls a ``torch.nn.Module`` or a numpy callable on ``(C_in, T)``
float32 input and returns ``(C_out, T * R)`` (outputs of shape ``(B, T)`` or
``(B, sources, channels, ..., T)`` read as channels), with the upsampling layers
that :func:`~upsamplers.analysis.lint` finds hooked: their call order, their
input and output lengths. :func:`find_factors` runs the dry runs (at a length
the model runs on) and settles the rate ratio and the factors whose input rates
the lines are searched at: the hooked layers' chain to the output, upsampling
found between layers (:mod:`.stages`), and the combs of modules that keep their
rate at their boundary (an STFT / iSTFT pair).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .._checks import InvalidType, InvalidValue
from ._validate import check_audio
from .channels import condense, settle_in_channels
from .linting import lint
from .stages import hidden_stages


class ModelRunner:
    """Calls the model on ``(C_in, T)`` float32 numpy input, returns ``(C_out, T * R)``."""

    def __init__(self, model: Any, in_channels: int | None) -> None:
        self.model = model
        self.torch_module = False
        self.stage_modules: list[tuple[str, Any, int]] = []
        try:
            import torch

            self.torch_module = isinstance(model, torch.nn.Module)
        except ImportError:  # pragma: no cover - torch is a dependency
            pass
        self.in_channels = in_channels  # a module's: settled by its first run
        self.out_channels = 1
        self.shape_note: str | None = None  # how an output not (B, C, T) was read
        self.length_step = 1  # the model runs on input lengths that are multiples of this
        #: the stage index and (input samples, output samples) of every hooked call,
        #: in call order (empty for a callable)
        self.calls: list[int] = []
        self.lengths: list[tuple[int, int]] = []
        if self.torch_module:
            self._hook_stages()
        elif not callable(model):
            raise InvalidType("model must be a torch.nn.Module or a callable mapping a numpy "
                              f"array to a numpy array; received {type(model).__name__}")
        self.name = type(model).__name__ if self.torch_module else getattr(
            model, "__name__", type(model).__name__)

    def _hook_stages(self) -> None:
        report = lint(self.model)
        modules = dict(self.model.named_modules())
        for f in report.findings:
            if f.factor is not None and f.kind != "interpolate":
                self.stage_modules.append((f.name, modules[f.name], f.factor))
        self.capture: Callable[[int, Any], None] | None = None

    def first_run(self, length: int) -> np.ndarray:
        """The model on zeros of ``length`` samples; for a module, the input channels
        are settled here (:func:`~upsamplers.analysis.channels.settle_in_channels`:
        the user's count as given, else the guesses from its layers in turn)."""
        def run(channels: int) -> np.ndarray:
            return self(np.zeros((channels, length), dtype=np.float32))

        if self.torch_module:
            self.in_channels, y = settle_in_channels(self.model, self.in_channels, run)
        else:
            y = run(self.in_channels or 1)
        self.out_channels = y.shape[0]
        return y

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if not self.torch_module:
            arg = x[0] if self.in_channels is None else x
            y = self.model(arg)
            return check_audio("model output", np.asarray(y))
        import torch

        first = next(iter(self.model.parameters()), None)
        device = first.device if first is not None else torch.device("cpu")
        dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
        handles = []
        self.calls, self.lengths = [], []
        for index, (_, module, _) in enumerate(self.stage_modules):
            def hook(mod: Any, inputs: Any, output: Any, index: int = index) -> None:
                position = len(self.calls)  # the call order, not the registration order
                self.calls.append(index)
                self.lengths.append((_length(inputs[0] if inputs else None), _length(output)))
                if self.capture is not None and isinstance(output, torch.Tensor):
                    self.capture(position, output.detach())
            handles.append(module.register_forward_hook(hook))
        training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                y = self.model(torch.as_tensor(x, dtype=dtype, device=device)[None])
        finally:
            self.model.train(training)
            for h in handles:
                h.remove()
        if not isinstance(y, torch.Tensor):
            raise InvalidType(f"the model must return a tensor (B, C, T); received "
                              f"{type(y).__name__}")
        if y.dim() < 2:
            raise InvalidValue(f"the model must return shape (B, C, T), (B, T) or (B, ..., T) "
                               f"(sources, channels, ...); received shape {tuple(y.shape)}")
        if y.dim() != 3:
            self.shape_note = (f"the model returns shape {tuple(y.shape)}: read as "
                               f"{math.prod(y.shape[1:-1])} output channel(s) of "
                               f"{y.shape[-1]} samples")
            y = y.reshape(y.shape[0], -1, y.shape[-1])  # (B, S, C, T) -> (B, S * C, T)
        return check_audio("model output", y[0].detach().cpu().double().numpy())


def _length(value: Any) -> int:
    """The last dimension of a tensor (a hooked layer's input or output), else 0."""
    shape = getattr(value, "shape", None)
    return int(shape[-1]) if shape else 0


#: Input samples of the dry run that finds the rate ratio (then one more).
DRY_RUN_LENGTH = 64
#: Longer dry runs tried in turn when the model fails on the first (an STFT
#: branch needs more samples than its reflect padding).
DRY_RUN_LENGTHS = (DRY_RUN_LENGTH, 1024, 16384)
#: Largest length step tried after the dry run: a model that runs on multiples
#: of ``2**k`` samples only (a U-Net without padding) gets probes of such lengths.
MAX_LENGTH_STEP = 4096


def find_factors(runner: ModelRunner, user_factors: tuple[int, ...] | None, notes: list[str]
                  ) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
    """A dry run on zeros: the model's rate ratio ``R`` (output over input
    samples), the factors whose input rates the tones are searched at, first
    stage first, and the factors of the hooked layers in the order they ran.

    The factors are the user's, else those of the hooked layers (in call order,
    the last one taken to output at the model's output rate; this holds whatever
    ``R`` is: the decoder of a U-Net that returns its input rate has factors
    multiplying to 4096 for ``R = 1``), else ``(R,)``."""
    probe_len, y = _first_run(runner)
    ratio = y.shape[-1] / probe_len
    step, y2 = _second_run(runner, probe_len)
    if step > 1:
        notes.append(f"the model fails on {probe_len + 1} input samples and runs on "
                     f"{probe_len + step}: every probe's length is a multiple of {step}")
    runner.length_step = step
    if ratio != int(ratio) or y2.shape[-1] != (probe_len + step) * int(ratio):
        raise InvalidValue(f"the model changes the length unexpectedly: {probe_len} input samples "
                           f"gave {y.shape[-1]} and {probe_len + step} gave {y2.shape[-1]}; an "
                           "upsampler by R must return exactly T * R samples")
    ratio = int(ratio)
    hooked = tuple(runner.stage_modules[i][2] for i in runner.calls) if runner.torch_module else ()
    wrapped = _wrapping_calls(runner)
    if wrapped:
        return ratio, _wrapped_combs(runner, hooked, wrapped, notes), ()
    if user_factors is not None and math.prod(user_factors) != ratio:
        raise InvalidValue(f"factors={user_factors} multiply to {math.prod(user_factors)}, but "
                           f"the model upsamples by {ratio} ({probe_len} samples in, "
                           f"{y.shape[-1]} out)")
    if hooked and math.prod(hooked) != ratio:
        notes.append(
            f"the model's output is {ratio} x its input rate, but its upsampling layers "
            f"(factors {'x'.join(map(str, hooked))}) multiply to {math.prod(hooked)} (it also "
            "lowers the rate): the tones are searched at those layers' own input rates, the "
            "last layer outputting at the model's output rate")
        return ratio, hooked, hooked
    hidden = [] if hooked or not runner.torch_module else hidden_stages(
        runner.model, lambda: runner(np.zeros((runner.in_channels or 1, probe_len),
                                              dtype=np.float32)), probe_len)
    if hidden and (user_factors is None or math.prod(s.factor for s in hidden) != ratio):
        notes.append("upsampling found between layers, not in a module (a reshape shuffle, "
                     "an F.interpolate, an iSTFT call): "
                     + "; ".join(s.where() for s in hidden)
                     + "; the tones are searched at those stages' input rates")
        return ratio, tuple(s.factor for s in hidden), hooked
    if user_factors is not None:
        return ratio, user_factors, hooked
    if hooked:
        return ratio, hooked, hooked
    if ratio < 2:
        raise InvalidValue(f"the model does not upsample ({probe_len} samples in, "
                           f"{y.shape[-1]} out) and no upsampling layer was found in it; pass "
                           "a model that upsamples, or factors=")
    if runner.torch_module:
        notes.append(f"no upsampling layer was found to explain the length ratio {ratio}; "
                     f"analysed as one stage of {ratio}")
    return ratio, (ratio,), hooked


def _wrapping_calls(runner: ModelRunner) -> list[int]:
    """The positions of the hooked calls whose output is not about ``factor`` times
    their input (within :data:`CHAIN_TOLERANCE`): a module that holds an analysis
    and a synthesis (a hybrid model calling ``torch.stft`` then ``torch.istft``,
    found as an iSTFT head of hop ``factor``) keeps its rate at its boundary."""
    out = []
    names = [runner.stage_modules[i][0] for i in runner.calls]
    for position, (in_len, out_len) in enumerate(runner.lengths):
        factor = runner.stage_modules[runner.calls[position]][2]
        name = names[position]
        # a head whose forward runs other stages first (a model that is an iSTFT head)
        inner = math.prod(runner.stage_modules[runner.calls[q]][2] for q, n in enumerate(names)
                          if q != position and (name == "" or n.startswith(name + ".")))
        if in_len > 0 and not 1 / CHAIN_TOLERANCE <= out_len / (in_len * factor * inner) <= \
                CHAIN_TOLERANCE:
            out.append(position)
    return out


def _wrapped_combs(runner: ModelRunner, hooked: tuple[int, ...], wrapped: list[int],
                   notes: list[str]) -> tuple[int, ...]:
    """The factors whose stage rates hold the lines of every hooked layer when some
    keep their rate at their boundary (:func:`_wrapping_calls`): each of those
    synthesises at the output rate, lines at multiples of ``fs / factor``; the
    others chain to the output. The combs as a chain of factors when their hops
    divide one another, else one stage of their least common multiple."""
    chain = [f for p, f in enumerate(hooked) if p not in wrapped]
    hops = {math.prod(chain[i:]) for i in range(len(chain))} | {hooked[p] for p in wrapped}
    hops = sorted(hops)
    names = ", ".join(f"`{runner.stage_modules[runner.calls[p]][0] or '(model)'}` "
                      f"(hop {hooked[p]})" for p in wrapped)
    if all(b % a == 0 for a, b in zip(hops, hops[1:], strict=False)):
        # hops h_1 < ... < h_n: stages of input rates fs / h_n, ..., fs / h_1
        factors = tuple(b // a for a, b in zip(hops, hops[1:], strict=False))[::-1] + (hops[0],)
        how = f"searched at multiples of fs / {', fs / '.join(map(str, hops[::-1]))}"
    else:
        factors = (math.lcm(*hops),)
        how = (f"hops {', '.join(map(str, hops))} do not divide one another: searched at "
               f"multiples of fs / {factors[0]}, which hold them all")
    notes.append(f"{names} keep{'s' if len(wrapped) == 1 else ''} the rate at the boundary "
                 "(an analysis and a synthesis, e.g. an STFT then an iSTFT): lines at multiples "
                 f"of the output rate over the hop; {how}")
    return factors


def _first_run(runner: ModelRunner) -> tuple[int, np.ndarray]:
    """The first dry run, at the first of :data:`DRY_RUN_LENGTHS` the model runs on
    (its input channels settled there); the shortest length's error if none."""
    first: InvalidValue | None = None
    for length in DRY_RUN_LENGTHS:
        try:
            return length, runner.first_run(length)
        except InvalidValue as error:
            first = first or error
            if not runner.torch_module:
                raise
    assert first is not None
    lengths = ", ".join(map(str, DRY_RUN_LENGTHS[:-1])) + f" and {DRY_RUN_LENGTHS[-1]}"
    raise InvalidValue(f"at {lengths} input samples alike, {first}") from None


def _second_run(runner: ModelRunner, length: int) -> tuple[int, np.ndarray]:
    """The dry run at ``length + step``, ``step`` the first power of two (up to
    :data:`MAX_LENGTH_STEP`) the model runs on: a module that takes only
    multiples of 8 samples runs on ``length + 8``. An error raised once the
    model's forward returned (the output refused) is not retried."""
    step, error = 1, None
    finished: list[bool] = []
    while step <= MAX_LENGTH_STEP:
        finished.clear()
        handle = (runner.model.register_forward_hook(lambda *_: finished.append(True))
                  if runner.torch_module else None)
        x = np.zeros((runner.in_channels or 1, length + step), dtype=np.float32)
        try:
            return step, runner(x)
        except Exception as caught:  # the user's model: try a longer step
            if finished or not runner.torch_module:
                raise
            error = error or caught
        finally:
            if handle is not None:
                handle.remove()
        step *= 2
    raise InvalidValue(f"the model runs on {length} input samples but fails on {length} + 1, "
                       f"2, 4, ..., {MAX_LENGTH_STEP}: {condense(error)}")


#: A hooked layer's measured rate may differ from its place in the call-order
#: chain by padding (a U-Net pads to a multiple of its strides) by this ratio at
#: most; a layer off the chain is off by a factor of 2 or more.
CHAIN_TOLERANCE = 1.5
