"""The design side of the anti-aliased activations' resampling, numpy only and
shared by the PyTorch and Keras front ends: the low-pass filters (a windowed
sinc, alias-free-torch's Kaiser sinc), the size bound checked before anything
is built (:data:`MAX_TABLE_BYTES`), and the polyphase tables of one oversample
-> decimate pair (:class:`ResampleTables`). The engine that runs them is
:mod:`upsamplers.ops.resample`."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._checks import InvalidValue, check_positive_int, check_real
from .filters import kaiser_beta, kaiser_half_length, kaiser_window

WINDOWS = ("kaiser", "hann", "hamming", "blackman")


def alias_free_kaiser_sinc(cutoff: float, half_width: float, taps: int) -> np.ndarray:
    """The Kaiser-windowed sinc low-pass of alias-free-torch and BigVGAN
    (``kaiser_sinc_filter1d``), computed here in float64: ``taps`` samples,
    centred between two samples for an even length, cut-off and transition
    half-width in cycles per sample, the window's ``beta`` from Kaiser's
    attenuation estimate for that width and length, taps summing to one.

    Shape: ``(taps,)``.
    """
    taps = check_positive_int("taps", taps, minimum=2)
    cutoff = check_real("cutoff", cutoff, low=0.0, high=0.5, low_open=True)
    half_width = check_real("half_width", half_width, low=0.0, high=0.5, low_open=True)
    half = taps // 2
    # alias-free-torch's estimate of the attenuation its width and length reach
    beta = kaiser_beta(2.285 * (half - 1) * math.pi * 4 * half_width + 7.95)
    time = np.arange(-half, half) + 0.5 if taps % 2 == 0 else np.arange(taps) - half
    taps_ = 2 * cutoff * kaiser_window(taps, beta) * np.sinc(2 * cutoff * time)
    return taps_ / taps_.sum()


def window_sinc(taps: int, cutoff: float, *, window: str = "kaiser",
                attenuation_db: float = 80.0) -> np.ndarray:
    """A windowed-sinc low-pass of odd length ``taps``, centred, cut-off
    ``cutoff`` in cycles per sample (its -6 dB point), taps summing to one.
    ``window``: one of :data:`WINDOWS`; the Kaiser window's ``beta`` comes from
    ``attenuation_db`` (Kaiser's formula).

    Shape: ``(taps,)``.
    """
    taps = check_positive_int("taps", taps)
    if taps % 2 == 0:
        raise InvalidValue(f"taps must be odd (a centred filter); received taps={taps}")
    n = np.arange(taps) - taps // 2
    shapes = {
        "kaiser": lambda: kaiser_window(taps, kaiser_beta(attenuation_db)),
        "hann": lambda: np.hanning(taps + 2)[1:-1],
        "hamming": lambda: np.hamming(taps),
        "blackman": lambda: np.blackman(taps + 2)[1:-1],
    }
    if window not in shapes:
        raise InvalidValue(f"window must be one of {', '.join(map(repr, WINDOWS))}; "
                           f"received window={window!r}")
    h = 2 * cutoff * np.sinc(2 * cutoff * n) * shapes[window]()
    return h / h.sum()


#: the most bytes (float64) that the filter, its polyphase tables and the block
#: matrices of one anti-aliased activation may take, checked arithmetically before
#: anything is built (:func:`check_table_size`): the module keeps them twice (numpy
#: and torch) and casts the block matrices to the input's dtype on every call; 128 MiB
#: admits ratio 4096 at the default filter (118 MiB) and 2049 taps at ratio 2 (64 MiB),
#: while ``ratio=10**4`` (288 MiB) took over a minute to build before the tables
#: were vectorised
MAX_TABLE_BYTES = 1 << 27
def default_taps(ratio: int, transition: float, attenuation_db: float) -> int:
    """Odd filter length for a transition band ``transition`` wide (a fraction of
    the input Nyquist frequency) and a stop band ``attenuation_db`` down at the
    high rate ``ratio`` times the input's (Kaiser's estimate,
    :func:`~upsamplers.ops.filters.kaiser_half_length`), arithmetic only."""
    return 2 * kaiser_half_length(ratio, transition, attenuation_db) + 1


def table_bytes(ratio: int, taps: int, up_delay: int, down_delay: int) -> int:
    """Bytes (float64) of the filter, the :class:`ResampleTables` and the
    :class:`BlockMatrices` of ``resample_tables(ratio, h, up_delay, g, down_delay)``
    with ``taps`` taps each, computed from the sizes alone (nothing is built)."""
    r, k = ratio, taps
    # tap k of h sits at offset -floor((k - D) / r), monotone in k; g's at floor((k - D) / r)
    pu = max(abs(-(-up_delay // r)), abs((k - 1 - up_delay) // r))
    pd = max(abs(-down_delay // r), abs((k - 1 - down_delay) // r))
    block = -(-max(8, 2 * pu, -(-(k - r) // r)) // 8) * 8  # as block_matrices
    tables = 2 * k + r * (4 * pu + 1) + r * (2 * pd + 1) + 2 * pd
    blocks = (block + 2 * pu) * r * block + (r * (block - 1) + k) * block
    return 8 * (tables + blocks)


def check_table_size(ratio: int, taps: int, up_delay: int, down_delay: int,
                     received: str) -> None:
    """Refuse, in one line naming ``received`` (the arguments as given), filter tables
    over :data:`MAX_TABLE_BYTES`; arithmetic only, so a refusal takes microseconds."""
    need = table_bytes(ratio, taps, up_delay, down_delay)
    if need > MAX_TABLE_BYTES:
        raise InvalidValue(
            f"ratio and taps must keep the filter tables within {MAX_TABLE_BYTES >> 20} MiB "
            f"(upsamplers.ops.resample_design.MAX_TABLE_BYTES; these would take "
            f"{need / 2 ** 20:.4g} MiB: lower ratio or taps, or widen transition); "
            f"received {received}")


@dataclass(frozen=True)
class ResampleTables:
    """The polyphase tables of one oversample -> decimate pair.

    ``up``: ``(r, 2 * pu + 1)``, row ``p`` the taps of phase ``p`` over
    ``x[m - pu .. m + pu]``; ``down``: ``(r, 2 * pd + 1)``, row ``q`` the taps
    over phase ``q`` at ``m - pd .. m + pd``. ``up_left[p, i]``: the sum of
    phase ``p``'s taps that read before the start for output ``i < pu``;
    ``up_right[p, d]``: those that read past the end for output ``T - 1 - d``;
    ``down_left`` / ``down_right`` the same for the decimation (summed over
    phases: the high-rate signal continues with its first sample, phase 0's
    first, and its last, phase ``r - 1``'s last).
    """

    ratio: int
    up: np.ndarray
    down: np.ndarray
    up_left: np.ndarray
    up_right: np.ndarray
    down_left: np.ndarray
    down_right: np.ndarray

    @property
    def up_padding(self) -> int:
        return (self.up.shape[1] - 1) // 2

    @property
    def down_padding(self) -> int:
        return (self.down.shape[1] - 1) // 2


def _centre(rows: np.ndarray, offsets: np.ndarray, values: np.ndarray, ratio: int
            ) -> np.ndarray:
    """Taps ``values`` at (row, integer offset), summed into rows padded with zeros
    to ``-P .. P``."""
    pad = int(np.abs(offsets).max())
    table = np.zeros((ratio, 2 * pad + 1))
    np.add.at(table, (rows, offsets + pad), values)
    return table


def _edge_sums(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the taps reading before the start for output ``i``
    (``left[:, i] = sum(table[:, : P - i])``) and past the end for output
    ``T - 1 - d`` (``right[:, d] = sum(table[:, P + d + 1:])``)."""
    pad = (table.shape[1] - 1) // 2
    if not pad:
        return np.zeros((table.shape[0], 0)), np.zeros((table.shape[0], 0))
    before = np.cumsum(table[:, :pad], axis=1)  # before[:, j] = sum(table[:, : j + 1])
    after = np.cumsum(table[:, ::-1], axis=1)[:, ::-1]  # after[:, j] = sum(table[:, j:])
    return before[:, ::-1].copy(), after[:, pad + 1:].copy()


def resample_tables(ratio: int, up_filter: np.ndarray, up_delay: int,
                    down_filter: np.ndarray, down_delay: int) -> ResampleTables:
    """The polyphase tables of oversampling by ``ratio`` with ``up_filter``
    (``u[n] = r * sum_k h[k] s[n + up_delay - k]``, ``s`` the zero-stuffed
    input) and decimating with ``down_filter``
    (``y[m] = sum_k g[k] v[r m + k - down_delay]``). For a centred odd filter of
    length ``2 H + 1`` both delays are ``H``; alias-free-torch's even-length
    filters have ``(K - r) // 2`` and ``K // 2 - 1``.
    """
    ratio = check_positive_int("ratio", ratio)
    h = np.asarray(up_filter, dtype=np.float64)
    g = np.asarray(down_filter, dtype=np.float64)
    # tap k of h lands on phase p = (k - D) mod r, at offset (p + D - k) / r
    k = np.arange(len(h))
    phase = (k - up_delay) % ratio
    up_t = _centre(phase, (phase + up_delay - k) // ratio, ratio * h, ratio)
    # tap k of g reads phase q = (k - D) mod r at offset (k - D) // r
    k = np.arange(len(g))
    down_t = _centre((k - down_delay) % ratio, (k - down_delay) // ratio, g, ratio)
    up_left, up_right = _edge_sums(up_t)
    down_left, down_right = _edge_sums(down_t)
    return ResampleTables(ratio, up_t, down_t, up_left, up_right,
                          down_left.sum(axis=0), down_right.sum(axis=0))
