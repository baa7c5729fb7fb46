"""The :class:`Upsampler` interface that every upsampling layer implements.

Conversion, lint, the analysis, the initialisers, bench and the models ask this
interface; none of them names a layer class. A new upsampler kind is one class
that derives from :class:`Upsampler`, implements :meth:`~Upsampler.forward`,
:meth:`~Upsampler.phase_kernels` and :meth:`~Upsampler.phase_taps`, and is
registered by name in :mod:`upsamplers.layers.registry`.
"""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

import torch
from torch import nn

from .._checks import InvalidType, InvalidValue, check_positive_int, check_signal
from ..ops.convolution import is_exporting
from ..ops.kernels import PhaseKernels

#: Largest upsampling factor of one layer (a chain of layers reaches larger totals).
MAX_FACTOR = 2 ** 16
#: Most learnable weights of one layer (4 GiB in float32): more is refused at
#: construction instead of failing in the allocator.
MAX_WEIGHTS = 2 ** 30


def format_bytes(n: float) -> str:
    """``n`` bytes as a short human-readable figure, e.g. ``43.7 TiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.3g} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    raise AssertionError  # pragma: no cover


def check_factor_limit(factor: int) -> int:
    """Refuse a factor over :data:`MAX_FACTOR` (before any table is built)."""
    if factor > MAX_FACTOR:
        raise InvalidValue(f"factor must be at most {MAX_FACTOR} (upsamplers.layers.base."
                           f"MAX_FACTOR; chain layers for a larger total); received "
                           f"factor={factor}")
    return factor


def cached_table(cache: dict[Any, torch.Tensor], array: Any, like: torch.Tensor
                 ) -> torch.Tensor:
    """``array`` (one of a layer's fixed numpy tables) in ``like``'s dtype and device,
    converted once and kept in ``cache``. Always an ordinary tensor: one first made
    under ``torch.inference_mode`` (a model evaluated on a new device or dtype before
    it trains there) could not be saved for backward by the training steps after.
    Not kept while traced or exported: ``torch.jit.trace`` runs forward twice and
    checks that both runs record the same graph; ``torch.export`` warns of a cache
    write."""
    key = (id(array), like.dtype, like.device)
    if key not in cache:
        with torch.inference_mode(False):
            tensor = torch.as_tensor(array, dtype=like.dtype, device=like.device)
        if torch.jit.is_tracing() or is_exporting():
            return tensor
        cache[key] = tensor
    return cache[key]


class ArtifactWarning(UserWarning):
    """A layer was configured in a way known to cause audible artifacts."""


#: The deployment paths that export every upsampler with a dynamic length, tested in
#: ``tests/test_deploy.py`` (see ``docs/deployment.md``).
SUPPORTED_EXPORTS = ("torch.export.export", "torch.onnx.export(..., dynamo=True)",
                     "torch.jit.trace", "torch.onnx.export(..., dynamo=False)")


class UnsupportedExportError(NotImplementedError):
    """A deployment path that the layers do not support (``torch.jit.script``),
    raised where the path starts instead of deep inside torch. The message names
    the layer, the path and the supported alternatives."""


def refuse_script(module: nn.Module) -> NoReturn:
    """What ``__prepare_scriptable__`` of a layer does: ``torch.jit.script`` calls it
    on the module it is given and on every module inside, before compiling anything,
    so a model holding one of the layers is refused at once, by name. (The layers
    build tables with numpy, take keyword-only arguments and call
    ``autograd.Function``s, none of which TorchScript compiles.)"""
    raise UnsupportedExportError(
        f"{module!r} cannot be compiled by torch.jit.script (its forward runs Python that "
        f"TorchScript does not support); export it with {', '.join(SUPPORTED_EXPORTS[:-1])} "
        f"or {SUPPORTED_EXPORTS[-1]} instead (see docs/deployment.md)")


class Upsampler(nn.Module):
    """Base class of every upsampler: maps ``(B, C_in, T)`` to exactly
    ``(B, C_out, T * factor)`` for every ``T >= 1``.

    Before any nonlinearity an upsampler by ``r = factor`` is ``r`` low-rate phase
    kernels plus an interleave (``docs/architecture.md``); the interface exposes
    them and what follows from them.

    Attributes:
        kind: the family's name, as :func:`~upsamplers.layers.make_upsampler` takes
            it (``"subpixel"``, ``"transposed"``, ``"nearest"``, ``"linear"``,
            ``"sinc"``, ``"resample"``, ``"istft"``).
        in_channels: ``C_in``.
        out_channels: ``C_out``.
        factor: upsampling factor ``r``.
        kernel_size: taps of the layer's learnable kernel.
        learned_phases: ``True`` when every phase has its own learnable kernel
            (subpixel, transposed, istft): the phases can drift apart in training, and a
            default initialisation starts them unequal (tonal artifacts).
        overlap: the overlap regime of a transposed convolution (``"none"``,
            ``"full"``, ``"partial"``), ``None`` for other kinds.
        end_effects: ``None`` when :meth:`phase_kernels` run by
            :func:`~upsamplers.ops.polyphase_forward` reproduce the layer's output
            exactly, ends included; otherwise why the first and last samples differ.
    """

    kind: ClassVar[str] = ""
    learned_phases: ClassVar[bool] = False
    overlap: str | None = None
    end_effects: str | None = None

    in_channels: int
    out_channels: int
    factor: int
    kernel_size: int

    def __init__(self, in_channels: int, out_channels: int, factor: int,
                 kernel_size: int) -> None:
        super().__init__()
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.out_channels = check_positive_int("out_channels", out_channels)
        self.factor = check_positive_int("factor", factor)
        self.kernel_size = check_positive_int("kernel_size", kernel_size)
        check_factor_limit(self.factor)
        weights = self._weight_count()
        if weights > MAX_WEIGHTS:
            raise InvalidValue(
                f"in_channels={self.in_channels}, out_channels={self.out_channels}, "
                f"kernel_size={self.kernel_size} (factor={self.factor}) give {weights:,} "
                f"weights, more than the limit of {MAX_WEIGHTS:,} "
                f"(upsamplers.layers.base.MAX_WEIGHTS); use fewer channels or taps")

    def _weight_count(self) -> int:
        """Learnable weights the layer will hold (checked against :data:`MAX_WEIGHTS`
        before they are allocated): ``C_in * C_out * kernel_size`` unless overridden."""
        return self.in_channels * self.out_channels * self.kernel_size

    @property
    def has_bias(self) -> bool:
        """Whether the layer adds a learnable bias (whose replicas become tones)."""
        raise NotImplementedError

    def output_length(self, length: int) -> int:
        """Number of output samples for ``length`` input samples: ``length * factor``."""
        return check_positive_int("length", length) * self.factor

    def phase_kernels(self) -> PhaseKernels:
        """The ``factor`` low-rate kernels of the layer's linear part, as a
        differentiable function of its weights (see :class:`~upsamplers.ops.PhaseKernels`)."""
        raise NotImplementedError

    def phase_taps(self) -> int:
        """Taps of the low-rate convolution that computes the layer, summed over its
        phases, counting only taps that can be non-zero (per input/output channel
        pair). A property of the function, not of how it is executed."""
        raise NotImplementedError

    def macs_per_input_sample(self) -> int:
        """Multiply-adds per input time step (per batch item) at the arithmetic
        floor: ``C_in * C_out * phase_taps()``."""
        return self.in_channels * self.out_channels * self.phase_taps()

    def _check_input(self, x: torch.Tensor) -> torch.Tensor:
        """Check ``x`` is ``(B, C_in, T)`` and in the layer's dtype (every layer, one
        place): torch's own error ("expected scalar type ...") names neither. Under
        ``torch.autocast`` the dtypes may differ: autocast casts them."""
        x = check_signal("x", x, channels=self.in_channels)
        param = next(self.parameters(), None)
        if param is None or x.dtype == param.dtype:
            return x
        if not x.is_complex() and torch.is_autocast_enabled(x.device.type):
            return x
        name = type(self).__name__
        fix = (f"upsamplers layers take real input; pass x.real or x.abs() as {param.dtype}"
               if x.is_complex() else
               f"convert one of them: x.to({param.dtype}) or layer.to({x.dtype})")
        raise InvalidType(f"x has dtype {x.dtype} but {name} computes in {param.dtype}; {fix}")

    def __prepare_scriptable__(self) -> NoReturn:
        """``torch.jit.script`` is refused here (:func:`refuse_script`)."""
        refuse_script(self)

    def __repr__(self) -> str:
        # one line: the wrapped convolution is an implementation detail
        return f"{type(self).__name__}({self.extra_repr()})"
