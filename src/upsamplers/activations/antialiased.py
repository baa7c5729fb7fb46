"""Anti-aliased activation: oversample, apply the activation, low-pass, decimate,
in polyphase form (:mod:`upsamplers.ops.resample`)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from torch import nn

from .._checks import (
    InvalidType,
    InvalidValue,
    check_choice,
    check_positive_int,
    check_real,
)
from ..ops.convolution import is_symbolic
from ..ops.resample import (
    block_matrices,
    decimate_plain,
    deinterleave,
    interleave,
    oversample_plain,
    resampled_apply,
)
from ..ops.resample_design import (
    WINDOWS,
    ResampleTables,
    alias_free_kaiser_sinc,
    check_table_size,
    default_taps,
    resample_tables,
    window_sinc,
)
from ._input import check_activation_input, working_dtype

__all__ = ["AntiAliasedActivation1d", "default_taps"]


def _check_length(x: torch.Tensor, minimum: int) -> torch.Tensor:
    """``x``, if it has at least ``minimum`` time steps."""
    if x.shape[-1] < minimum:
        raise ValueError(
            f"x must have at least {minimum} time steps in a traced AntiAliasedActivation1d "
            f"(the filters' reach; torch.jit.script takes any length); received "
            f"T={x.shape[-1]}")
    return x


_SCRIPTED: list[Any] = []


def _check_traced_length(x: torch.Tensor, minimum: int) -> torch.Tensor:
    """:func:`_check_length` as a scripted function, so that the check stays in a
    traced graph (whose phase form reads ``minimum`` samples at each end whatever
    the length it was traced at); compiled on first use, not at import."""
    if not _SCRIPTED:
        with warnings.catch_warnings():  # torch.jit.script is deprecated in torch 2.10+
            warnings.simplefilter("ignore", DeprecationWarning)
            _SCRIPTED.append(torch.jit.script(_check_length))
    return _SCRIPTED[0](x, minimum)


class AntiAliasedActivation1d(nn.Module):
    """An elementwise activation applied at ``ratio`` times the rate, between two
    low-pass filters, so that the harmonics it creates above the input's Nyquist
    frequency are removed instead of folding back into the band::

        x (B, C, T) --zero stuffing x r, low-pass h (gain r)--> (B, C, T r)
                    --activation--> --low-pass h, keep every r-th--> (B, C, T)

    Computed in polyphase form: the stuffed zeros are never multiplied and the
    discarded outputs never computed (two grouped convolutions of ``r`` short
    phase filters; the activation runs on the ``r`` phases as they lie in memory,
    or on the interleaved signal for one that reads neighbours, such as ADAA).
    The ends are continued by the edge samples (replicate padding) at both rates.

    The filter ``h``: a windowed sinc of odd length ``taps``, centred (no delay),
    -6 dB at ``cutoff`` times the input Nyquist frequency; with ``taps=None`` its
    length comes from ``transition`` (the width of the transition band, a
    fraction of the input Nyquist frequency) and ``attenuation_db`` (Kaiser's
    estimate; the Kaiser window's ``beta`` comes from ``attenuation_db`` too).
    The defaults (cut-off 0.9, transition 0.4, 80 dB: 53 taps at ``ratio=2``)
    pass sines up to 0.7 of the Nyquist frequency within 0.01 dB and stop
    everything above 1.1 times it by 80 dB at both filters.

    :meth:`bigvgan` builds BigVGAN's configuration (alias-free-torch's
    ``Activation1d``: 12 taps, cut-off 0.5 and half-width 0.6 of the input
    Nyquist frequency, Kaiser window).

    Args:
        activation: a module mapping ``(B, C, L) -> (B, C, L)`` elementwise (per
            channel parameters allowed); one with ``elementwise = False`` (an ADAA
            activation) gets the high-rate signal in time order.
        ratio: oversampling factor ``r >= 1``.
        taps, cutoff, transition, attenuation_db, window: the low-pass (above);
            ``window`` one of ``"kaiser"``, ``"hann"``, ``"hamming"``, ``"blackman"``.

    Shape: ``(B, C, T) -> (B, C, T)``.
    """


    def __init__(self, activation: nn.Module, ratio: int = 2, *, taps: int | None = None,
                 cutoff: float = 0.9, transition: float = 0.4, attenuation_db: float = 80.0,
                 window: str = "kaiser") -> None:
        super().__init__()
        ratio = check_positive_int("ratio", ratio)
        cutoff = check_real("cutoff", cutoff, low=0.0, high=float(ratio), low_open=True)
        transition = check_real("transition", transition, low=0.0, low_open=True)
        attenuation_db = check_real("attenuation_db", attenuation_db, low=21.0, high=300.0)
        window = check_choice("window", window, WINDOWS)
        received = f"ratio={ratio}, taps={taps}"
        if taps is None:
            taps = default_taps(ratio, transition, attenuation_db)
            received = (f"ratio={ratio}, taps=None (estimated {taps} from transition="
                        f"{transition!r}, attenuation_db={attenuation_db!r})")
        taps = check_positive_int("taps", taps)
        if taps % 2 == 0:
            raise InvalidValue(f"taps must be odd (a centred filter; AntiAliasedActivation1d."
                               f"bigvgan builds the even-length one); received taps={taps}")
        check_table_size(ratio, taps, taps // 2, taps // 2, received)
        h = window_sinc(taps, 0.5 * cutoff / ratio, window=window,
                        attenuation_db=attenuation_db)
        half = taps // 2
        self._setup(activation, resample_tables(ratio, h, half, h, half), h, half,
                    dict(ratio=ratio, taps=taps, cutoff=cutoff, transition=transition,
                         attenuation_db=attenuation_db, window=window))

    @classmethod
    def bigvgan(cls, activation: nn.Module, ratio: int = 2,
                taps: int = 12) -> AntiAliasedActivation1d:
        """BigVGAN's anti-aliased activation (alias-free-torch's ``Activation1d``
        with ``up_ratio = down_ratio = ratio``, ``up_kernel_size =
        down_kernel_size = taps``): the Kaiser-windowed sinc of
        :func:`~upsamplers.ops.resample_design.alias_free_kaiser_sinc` with cut-off
        ``0.5 / ratio`` and half-width ``0.6 / ratio`` cycles per high-rate
        sample. Same outputs (to float rounding), ends included."""
        ratio = check_positive_int("ratio", ratio)
        taps = check_positive_int("taps", taps, minimum=2)
        delay = taps // 2 - int(taps % 2 == 0)
        check_table_size(ratio, taps, (taps - ratio) // 2, delay,
                         f"ratio={ratio}, taps={taps} (bigvgan)")
        h = alias_free_kaiser_sinc(0.5 / ratio, 0.6 / ratio, taps)
        self = cls.__new__(cls)
        nn.Module.__init__(self)
        self._setup(activation, resample_tables(ratio, h, (taps - ratio) // 2, h, delay),
                    h, delay, dict(ratio=ratio, taps=taps, preset="bigvgan"))
        return self

    def _setup(self, activation: nn.Module, tables: ResampleTables, down_filter: np.ndarray,
               down_delay: int, config: dict[str, Any]) -> None:
        if not isinstance(activation, nn.Module):
            raise InvalidType(f"activation must be a torch.nn.Module mapping (B, C, L) -> "
                              f"(B, C, L); received {type(activation).__name__}")
        self.activation = activation
        self.ratio = tables.ratio
        self.elementwise = bool(getattr(activation, "elementwise", True))
        self.config = config
        self.tables = tables
        self.blocks = block_matrices(tables, down_filter, down_delay)
        #: the shortest input a traced graph takes (the phase form's ends)
        self.min_traced_length = max(1, tables.up_padding, tables.down_padding)

        r = tables.ratio
        self._tables = {
            "up": (tables.up, (r, 1, -1)), "up_left": (tables.up_left, (r, -1)),
            "up_right": (tables.up_right, (r, -1)), "down": (tables.down, (1, r, -1)),
            "down_left": (tables.down_left, (-1,)), "down_right": (tables.down_right, (-1,)),
            "block_up": (self.blocks.up, self.blocks.up.shape),
            "block_down": (self.blocks.down, self.blocks.down.shape)}
        for name, (value, shape) in self._tables.items():
            self.register_buffer(name, torch.tensor(value, dtype=torch.float64).reshape(shape),
                                 persistent=False)

    def _apply(self, fn: Any, recurse: bool = True) -> AntiAliasedActivation1d:
        """Moves the filter tables with the module but keeps them in float64 (each call
        casts them to the input's dtype), so that ``.float().double()`` loses nothing."""
        super()._apply(fn, recurse)
        for name, (value, shape) in self._tables.items():
            device = self._buffers[name].device
            self._buffers[name] = torch.tensor(value, dtype=torch.float64,
                                               device=device).reshape(shape)
        return self

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.config.items())

    def input_span(self, span: tuple[int, int]) -> tuple[int, int]:
        """The input samples that the outputs ``span`` read (first, last): output ``m``
        reads the high-rate phases at ``m - pd .. m + pd`` (the decimation's), each of
        which reads ``x`` at ``m - pu .. m + pu`` (the oversampling's); an activation
        that reads the previous high-rate sample reaches one low-rate sample further
        back. The continued edges lie within that reach."""
        reach = self.tables.up_padding + self.tables.down_padding
        return span[0] - reach - (0 if self.elementwise else 1), span[1] + reach

    def macs_per_sample(self) -> int:
        """Filter multiply-adds per input sample and channel (both filters, all
        phases; the activation itself not counted)."""
        return int(np.count_nonzero(self.tables.up) + np.count_nonzero(self.tables.down))

    def _activate(self, u: torch.Tensor) -> torch.Tensor:
        b, rows, time = u.shape
        r = self.ratio
        if self.elementwise:  # the phases of a channel lie one after the other
            return self.activation(u.view(b, rows // r, r * time)).view(b, rows, time)
        return deinterleave(self.activation(interleave(u, r)), r)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, T) -> (B, C, T)``, in the input's dtype (float16 and bfloat16
        computed in float32)."""
        if torch.jit.is_scripting():
            return self._plain(x)
        return self._eager(x)

    def _plain(self, x: torch.Tensor) -> torch.Tensor:
        t = torch.promote_types(x.dtype, torch.float32)
        u = oversample_plain(x.to(t), self.up.to(t), self.up_left.to(t), self.up_right.to(t))
        y = decimate_plain(self._activate(u), self.down.to(t), self.down_left.to(t),
                           self.down_right.to(t))
        return y.to(x.dtype)

    @torch.jit.unused
    def _eager(self, x: torch.Tensor) -> torch.Tensor:
        if is_symbolic():  # traced or exported: the phase form
            if torch.jit.is_tracing():
                x = _check_traced_length(x, self.min_traced_length)
            return self._plain(x)
        x = check_activation_input(x)
        work = working_dtype(x.dtype)
        if not bool(torch.isfinite(x).all()):
            # the block products would multiply a non-finite sample by the zeros of
            # whole blocks; the phase form spreads it over input_span's reach only
            return self._plain(x)
        mats = (self.block_up.to(work), self.block_down.to(work))
        y = resampled_apply(x.to(work), mats, self.blocks,
                            self.activation, tuple(self.activation.parameters()))
        return y.to(x.dtype)
