"""The inverse-STFT head (Vocos, iSTFTNet, WavTokenizer): a convolution to spectral
coefficients at the frame rate, then an inverse STFT whose hop is the factor."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._checks import InvalidValue, check_bool, check_choice, check_positive_int
from ..ops.istft import ISTFT_WINDOWS, istft_tables
from ..ops.kernels import PhaseKernels
from .base import Upsampler, cached_table, check_factor_limit, format_bytes
from .interpolation import MAX_TABLE_BYTES


def check_istft_options(factor: int, n_fft: int | None) -> int:
    """``n_fft`` (``None``: ``4 * factor``) checked, after ``factor``; refused when its
    fixed tables (the basis and the phase tables, about ``2 N**2`` float64 numbers)
    pass :data:`~upsamplers.layers.interpolation.MAX_TABLE_BYTES`."""
    factor = check_factor_limit(check_positive_int("factor", factor))
    n = 4 * factor if n_fft is None else check_positive_int("n_fft", n_fft)
    need = 8 * n * (2 * n + 3 * factor)
    if need > MAX_TABLE_BYTES:
        raise InvalidValue(
            f"n_fft={n} needs about {format_bytes(need)} of fixed iSTFT tables, more than "
            f"the limit of {format_bytes(MAX_TABLE_BYTES)} (upsamplers.layers.interpolation."
            f"MAX_TABLE_BYTES); use a smaller n_fft or factor; received n_fft={n}")
    return n


class ISTFTUpsample1d(Upsampler):
    """An inverse-STFT head: a learnable convolution from ``C_in`` channels to ``N =
    n_fft`` real spectral coefficients per output channel at the input (frame) rate,
    then a fixed inverse STFT with hop ``factor``::

        x (B, C_in, T) --conv1d, K taps, "same"--> S (B, C_out * N, T)  spectra per frame
          --windowed inverse real DFT, overlap-add with hop r--> (B, C_out, T * r)
          / env[phase] + bias

    **Coefficients.** Real and imaginary parts (not Vocos' log-magnitude and phase):
    the layer is then linear, an upsampler in the sense of
    ``docs/architecture.md``, with exact :meth:`phase_kernels`. Of output channel
    ``c``'s ``N`` conv channels ``c * N + j``, ``j < N // 2 + 1`` is the real part of
    bin ``j`` and the rest the imaginary parts of bins ``1 .. (N - 1) // 2`` (those of
    DC and Nyquist, which ``irfft`` ignores, are not made). A polar head (``exp`` of a
    log-magnitude, clipped, times ``cos``/``sin`` of a phase) is a nonlinearity in
    front of this one.

    **Length.** Frame ``t`` is centred on output sample ``t * r`` (frame sample ``n``
    lands on ``t * r + n - N // 2``, as ``torch.istft(center=True)``); the
    overlap-add of the ``T`` frames is cropped (or completed with zeros) to output
    samples ``0 .. T * r - 1``: exactly ``T * factor``, the input zero-extended past
    both ends (frames outside ``0 .. T - 1`` are absent).

    **Normalisation** (``normalize=True``): each output phase ``i`` is divided by the
    steady-state window-square envelope ``env[i] = sum w[n]**2`` over ``n = i + N // 2
    (mod r)``, as ``torch.istft`` and Vocos do; the STFT (same window, hop) of any
    signal comes back as the signal, whatever the window and hop. Without it the
    overlap-add has gain ``env[i]``: where ``w**2`` does not add up to a constant at
    hop ``r`` (the constant-overlap-add condition; the square of a Hann window holds it
    at ``n_fft = k * factor`` for ``k >= 3``, not at ``k = 2``) a steady spectrum
    comes out modulated with period ``r``, lines at multiples of ``fs_out / r``.
    Either way a learned spectrum gives each phase its own kernel
    (:attr:`learned_phases`): a frame that is not itself the window times a constant
    puts lines at the frame rate on a constant input, as subpixel convolution does.

    Args:
        in_channels: ``C_in``.
        out_channels: ``C_out``.
        factor: hop and upsampling factor ``r >= 1``.
        kernel_size: taps of the convolution at the frame rate (default 3).
        n_fft: frame length ``N`` (default ``4 * factor``); the window's non-zero
            samples must number at least ``factor``.
        window: ``"hann"`` (default), ``"sqrt_hann"``, ``"hamming"`` or
            ``"rectangular"``, periodic.
        normalize: divide by the window-square envelope (default ``True``).
        bias: a learnable offset per output channel added after the overlap-add
            (default ``False``; a spectral bias would put one fixed waveform in every
            frame, a learned tone at the frame rate).

    Shape:
        ``(B, C_in, T) -> (B, C_out, T * factor)``

    Attributes:
        conv: ``nn.Conv1d(in_channels, out_channels * n_fft, kernel_size, bias=False)``.
        bias: ``(C_out,)`` or ``None``.
        tables: the fixed float64 tables (:class:`~upsamplers.ops.istft.ISTFTTables`).
    """

    kind = "istft"
    learned_phases = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        factor: int,
        kernel_size: int = 3,
        *,
        n_fft: int | None = None,
        window: str = "hann",
        normalize: bool = True,
        bias: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        self.n_fft = check_istft_options(factor, n_fft)
        super().__init__(in_channels, out_channels, factor, kernel_size)
        self.window: str = check_choice("window", window, ISTFT_WINDOWS)
        self.normalize = check_bool("normalize", normalize)
        check_bool("bias", bias)
        self.tables = istft_tables(self.n_fft, self.factor, self.window)
        self.conv = nn.Conv1d(self.in_channels, self.out_channels * self.n_fft,
                              self.kernel_size, bias=False, device=device, dtype=dtype)
        self.bias: nn.Parameter | None
        self.register_parameter("bias", nn.Parameter(torch.zeros(
            self.out_channels, device=device, dtype=dtype)) if bias else None)
        # (r,): what each phase is multiplied by
        self._scale = 1 / self.tables.envelope if self.normalize else np.ones(self.factor)
        self._basis = self.tables.basis[:, None, :]  # (N, 1, L), one group per channel
        self._converted: dict[tuple[int, torch.dtype, torch.device], torch.Tensor] = {}

    def _weight_count(self) -> int:
        return self.in_channels * self.out_channels * self.n_fft * self.kernel_size

    def _table(self, table, like: torch.Tensor) -> torch.Tensor:
        return cached_table(self._converted, table, like)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, T) -> (B, C_out, T * factor)``."""
        self._check_input(x)
        k, r, c_out = self.kernel_size, self.factor, self.out_channels
        # the spectra at every step the zero-extended input reaches: steps -a .. T - 1 +
        # left, a = K - 1 - left (the full convolution; a "same" one would drop frames
        # that reach into the output near the ends)
        before = k - 1 - (k - 1) // 2
        spectra = F.conv1d(F.pad(x, (k - 1, k - 1)), self.conv.weight)  # (B, C_out N, T + K - 1)
        basis = self._table(self._basis, spectra).repeat(c_out, 1, 1)  # (C_out N, 1, L)
        # overlap-add: frame t's sample q lands on t r + q - start; the first frame is
        # step -a, so output 0 is sample start + a r of the (T + K - 2) r + L
        y = F.conv_transpose1d(spectra, basis, stride=r, groups=c_out)
        first = self.tables.start + before * r
        length = self.tables.basis.shape[1]
        y = y[..., first:] if first > 0 else F.pad(y, (-first, 0))
        extra = first - length - (k - 2) * r  # samples missing (> 0) or over (< 0) at the end
        y = F.pad(y, (0, extra)) if extra > 0 else (y[..., :extra] if extra < 0 else y)
        # (B, C, T r) -> (B, C, T, r): each phase times its scale, and back
        y = (y.unflatten(-1, (-1, r)) * self._table(self._scale, y)).flatten(-2)
        return y if self.bias is None else y + self.bias[:, None]

    @property
    def has_bias(self) -> bool:
        return self.bias is not None

    def phase_kernels(self) -> PhaseKernels:
        """Phase ``i`` is the convolution's kernel convolved (fully) with the synthesis
        table of phase ``i`` (:attr:`ISTFTTables.phases`, scaled by the phase's
        normalisation): ``K + D - 1`` taps; exact, ends included; differentiable in
        ``conv.weight``."""
        w = self.conv.weight  # (C_out N, C_in, K)
        n, r, k = self.n_fft, self.factor, self.kernel_size
        c_in = self.in_channels
        table = torch.as_tensor(self.tables.phases * self._scale[:, None, None],
                                dtype=w.dtype, device=w.device)  # (r, N, D)
        depth = table.shape[-1]
        # full convolution over time, summed over the N coefficients: correlation with
        # the flipped table, one batch row per (c, c') pair
        rows = w.reshape(self.out_channels, n, c_in, k).transpose(1, 2).reshape(-1, n, k)
        full = F.conv1d(rows, table.flip(-1), padding=depth - 1)  # (C_out C_in, r, K + D - 1)
        weight = full.reshape(self.out_channels, c_in, r, -1).permute(2, 0, 1, 3)
        bias = None if self.bias is None else self.bias.expand(r, self.out_channels)
        return PhaseKernels(weight, self.tables.left + (k - 1) // 2, bias)

    def phase_taps(self) -> int:
        """Taps of the phase kernels that can be non-zero, summed over the phases:
        each phase's span of frames plus ``K - 1``."""
        total = 0
        for phase in self.tables.phases:
            used = (phase != 0).any(axis=0).nonzero()[0]
            total += int(used[-1] - used[0] + 1) + self.kernel_size - 1
        return total

    def macs_per_input_sample(self) -> int:
        """Multiply-adds per input step of the form that runs: the convolution
        (``C_in C_out N K``) and the overlap-add (``C_out N L``, ``L`` the window's
        non-zero samples). Not ``C_in C_out phase_taps()``: the synthesis is applied
        per output channel, not folded into every channel pair."""
        n, length = self.n_fft, self.tables.basis.shape[1]
        return (self.in_channels * self.out_channels * n * self.kernel_size
                + self.out_channels * n * length)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, factor={self.factor}, "
                f"kernel_size={self.kernel_size}, n_fft={self.n_fft}, "
                f"window={self.window!r}, normalize={self.normalize}, "
                f"bias={self.bias is not None}")
