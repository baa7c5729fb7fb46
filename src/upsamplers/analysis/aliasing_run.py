"""Running a module on the aliasing test signals (for :mod:`.aliasing`): the dry run
that settles its input channels and finds its rate ratio, the layout of the input
around the analysed window, and the batched calls.

Layouts. The analysed window is ``q`` input periods (``M = p N`` output samples)
of a periodic input ``x[n] = period[(n - lead) mod N]``. Two layouts:

* *whole periods* (``context=None``): ``pre = q * ceil(warmup / q)`` periods
  before the window, the window, the next window (``q`` periods, compared with it
  in full) and ``pre`` periods after: ``2 * pre + 2 q`` periods in all;
* *context* ``c`` (input samples, a multiple of ``q``, ``c < pre * N``)::

      | c | window: q N | check: c | tail: c |

  the first ``c`` input samples of the window (the output nearest the leading
  edge) are compared with the ``c`` after it (one window later, nearest the
  trailing edge): ``q N + 3 c`` input samples. A module whose memory (and
  look-ahead) is shorter than ``c`` gives the same window as with whole periods,
  to rounding; one whose memory is longer differs there first, where the
  transient is largest.

The contexts tried are ``FIRST_CONTEXT * q * 2**k`` while their input stays
shorter than the whole-period layout's; that layout ends the schedule, so a
module that never settles is measured exactly as with whole periods.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from .._checks import InvalidType, InvalidValue
from ._validate import check_audio
from .channels import settle_in_channels

#: Input samples (times channels) per call of a module.
MAX_BATCH_SAMPLES = 1 << 22
#: Output samples (per output channel) per call of a module. The 20 M-parameter
#: decoder look-alike (tests/lookalikes.py) on the 2-core test machine, 32 signals
#: of 85 frames (21,760 output samples each), CPU seconds user + system: 51.7 + 23.7
#: in batches of 32, 63.8 + 4.4 in batches of 8, 76.8 + 1.1 in batches of 4 (large
#: batches page-fault their large activations in): about 8 to 12 such signals.
MAX_BATCH_OUTPUT = 1 << 18
#: Length of the fallback dry run that finds the rate ratio (divisible by 1 .. 8).
DRY_RUN_LENGTH = 840
#: Length of the first, short dry run (divisible by 1 .. 6 and 8, and above 64:
#: two ratios of denominators <= 8 differ by at least 1/64, so a length ratio of
#: such a denominator read at more than 64 input samples is the module's own).
SHORT_DRY_RUN_LENGTH = 120
#: The largest decimation ``q`` of a rate ratio ``p / q``.
MAX_DECIMATION = 8
#: The first context tried, in units of ``q`` input samples.
FIRST_CONTEXT = 4


class _Model:
    """Calls the module on ``(B, C, T)`` float64 numpy input (already rounded to
    :attr:`dtype`), returns ``(B, C_out, T_out)`` float64; counts its calls."""

    def __init__(self, module: Any, channels: int | None, dtype: str | None) -> None:
        self.module = module
        self.torch = _is_torch_module(module)
        if not self.torch and not callable(module):
            raise InvalidType("module must be a torch.nn.Module or a callable mapping a numpy "
                              f"array to a numpy array; received {type(module).__name__}")
        self.channels: int | None = channels  # a module's: settled by settle()
        self.dry_lengths: dict[int, int] = {}  # input length -> output length, on zeros
        self.calls = 0
        self.seconds = 0.0  # time spent in the module, and the output samples it gave
        self.output_samples = 0
        self.out_channels: int | None = None
        if self.torch:
            self.dtype = dtype or _module_dtype(module)
            self.name = type(module).__name__
        else:
            self.dtype = dtype or "float64"
            self.name = getattr(module, "__name__", type(module).__name__)

    def settle(self, length: int = DRY_RUN_LENGTH) -> None:
        """A module's input channels, from a dry run on zeros of ``length`` samples
        (:func:`~upsamplers.analysis.channels.settle_in_channels`: the user's count
        as given, else the guesses from its layers in turn); the output length is
        kept for :func:`rate_ratio`."""
        if not self.torch:
            return
        self.channels, y = settle_in_channels(
            self.module, self.channels, lambda c: self(np.zeros((1, c, length))),
            name="channels")
        self.dry_lengths[length] = y.shape[-1]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.calls += 1
        start = time.perf_counter()
        y = self._torch(x) if self.torch else self._callable(x)
        self.seconds += time.perf_counter() - start
        self.output_samples += y.shape[0] * y.shape[-1]
        self.out_channels = y.shape[1]
        return y

    @property
    def seconds_per_sample(self) -> float | None:
        """Measured time per output sample (a batch's samples counted once per
        channel group, i.e. per ``(B, T)``), ``None`` before any call."""
        return self.seconds / self.output_samples if self.output_samples else None

    def _callable(self, x: np.ndarray) -> np.ndarray:
        out = []
        for signal in x:
            arg = signal[0] if self.channels is None else signal
            with np.errstate(over="ignore", invalid="ignore"):  # non-finite output: refused
                y = np.asarray(self.module(arg))
            out.append(check_audio("module output", y))
        return np.stack(out)

    def _torch(self, x: np.ndarray) -> np.ndarray:
        import torch

        first = next(iter([*self.module.parameters(), *self.module.buffers()]), None)
        device = first.device if first is not None else torch.device("cpu")
        training = self.module.training
        self.module.eval()
        try:
            with torch.no_grad():
                y = self.module(torch.as_tensor(x, dtype=getattr(torch, self.dtype),
                                                device=device))
        finally:
            self.module.train(training)
        if not isinstance(y, torch.Tensor) or y.dim() < 2 or y.shape[0] != x.shape[0]:
            shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
            raise InvalidValue(f"the module must return a tensor (B, C, T) (or (B, T), or "
                               f"(B, sources, C, T)) with B={x.shape[0]}; received {shape}")
        y = y.reshape(y.shape[0], -1, y.shape[-1])  # (B, ..., T) -> (B, C, T)
        y = y.detach().cpu().double().numpy()
        if not np.all(np.isfinite(y)):
            raise InvalidValue("module output must be finite; received NaN or infinite samples")
        return y


def _is_torch_module(module: Any) -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return isinstance(module, torch.nn.Module)


def _module_dtype(module: Any) -> str:
    import torch

    for t in list(module.parameters()) + list(module.buffers()):
        if t.is_floating_point():
            return str(t.dtype).removeprefix("torch.")
    return str(torch.get_default_dtype()).removeprefix("torch.")


def settle_channels(model: _Model, ratio: Fraction | None) -> None:
    """Settle a module's input channels on a short dry run (a multiple of ``q``
    when the ratio is given), else, when it fails there, on :data:`DRY_RUN_LENGTH`
    samples (a module that needs a longer input). A given ratio is checked against
    the output length."""
    q = 1 if ratio is None else ratio.denominator
    short = q * -(-SHORT_DRY_RUN_LENGTH // q)
    try:
        model.settle(short)
    except InvalidValue:
        model.settle(DRY_RUN_LENGTH)
    for n, out in model.dry_lengths.items():  # none for a callable (not run)
        if ratio is not None and Fraction(out, n) != ratio:
            raise InvalidValue(f"ratio must be the module's rate ratio (output samples per "
                               f"input sample): {n} input samples gave {out}, not {n} x "
                               f"{ratio} = {n * ratio}; received ratio={ratio}")


def rate_ratio(model: _Model) -> Fraction:
    """Output samples per input sample, from dry runs on zeros: at
    :data:`SHORT_DRY_RUN_LENGTH` and twice that when those agree on a ratio
    ``p / q`` with ``q <= MAX_DECIMATION``, else at :data:`DRY_RUN_LENGTH` and twice
    that (a ratio whose ``q`` does not divide the short length)."""
    for n in (SHORT_DRY_RUN_LENGTH, DRY_RUN_LENGTH):
        lengths = (n, 2 * n)
        try:
            out = [model.dry_lengths.get(t) or model(np.zeros((1, model.channels or 1, t))
                                                     ).shape[-1] for t in lengths]
        except Exception:  # the user's module, maybe too short an input: the long run
            if n == DRY_RUN_LENGTH:  # says why, as before the short one existed
                raise
            continue
        ratio = Fraction(out[0], lengths[0])
        if out[0] > 0 and out[1] == 2 * out[0] and ratio.denominator <= MAX_DECIMATION:
            return ratio
    raise InvalidValue(f"the module changes the length unexpectedly: {lengths[0]} and "
                       f"{lengths[1]} input samples gave {out[0]} and {out[1]}; it must "
                       f"give T * p / q samples for T input samples (p, q integers, q <= "
                       f"{MAX_DECIMATION})")


@dataclass(frozen=True)
class _Plan:
    """One layout of the input (module docstring): the analysed window starts at
    input sample :attr:`lead` (output sample :attr:`start`) and holds
    :attr:`window` output samples (``q`` periods); the :attr:`check` input
    samples after it are compared with the window's first ones."""

    length: int
    ratio: Fraction
    warmup: int
    context: int | None = None

    @property
    def pre(self) -> int:
        q = self.ratio.denominator
        return q * math.ceil(self.warmup / q)

    @property
    def lead(self) -> int:
        return self.pre * self.length if self.context is None else self.context

    @property
    def check(self) -> int:
        return self.ratio.denominator * self.length if self.context is None else self.context

    @property
    def input_length(self) -> int:
        return 2 * self.lead + self.ratio.denominator * self.length + self.check

    @property
    def periods(self) -> int:
        """Whole-period layout: input periods."""
        return 2 * self.pre + 2 * self.ratio.denominator

    @property
    def window(self) -> int:
        return self.ratio.numerator * self.length

    @property
    def start(self) -> int:
        return int(self.lead * self.ratio)

    @property
    def check_out(self) -> int:
        return int(self.check * self.ratio)

    @property
    def output_length(self) -> int:
        return int(self.input_length * self.ratio)

    def tile(self, period: np.ndarray) -> np.ndarray:
        """``(input_length,)``: ``period[(n - lead) mod N]``."""
        return np.take(period, (np.arange(self.input_length) - self.lead) % self.length)


def schedule(length: int, ratio: Fraction, warmup: int) -> list[_Plan]:
    """The layouts tried in turn: contexts ``FIRST_CONTEXT * q * 2**k`` shorter
    than the warm-up and cheaper than whole periods, then whole periods."""
    full = _Plan(length, ratio, warmup)
    q = ratio.denominator
    plans = []
    c = FIRST_CONTEXT * q
    while c < full.lead and _Plan(length, ratio, warmup, c).input_length < full.input_length:
        plans.append(_Plan(length, ratio, warmup, c))
        c *= 2
    return [*plans, full]


def batches(count: int, plan: _Plan, channels: int) -> list[range]:
    """Signal indices ``0 .. count - 1`` in batches of at most
    :data:`MAX_BATCH_SAMPLES` input and :data:`MAX_BATCH_OUTPUT` output samples."""
    size = max(1, min(MAX_BATCH_SAMPLES // (channels * plan.input_length),
                      MAX_BATCH_OUTPUT // max(plan.output_length, 1)))
    return [range(i, min(i + size, count)) for i in range(0, count, size)]
