"""The fixed low-pass of the resampling upsampler (:class:`~upsamplers.layers.
ResampleUpsample1d` and its Keras twin): its design, its block table and the
multiply-adds of its two orders; numpy only, shared by both front ends."""

from __future__ import annotations

import numpy as np

from .._checks import InvalidValue, check_real
from .filters import kaiser_beta, kaiser_half_length, stopband_level_db
from .interpolation import InterpolationPhases, sinc_phases

RESAMPLE_IMPLS = ("auto", "mix_first", "filter_first")
#: Most points of the FFT that checks a designed filter's stop band (the check grows
#: with the factor: above factor 4096 it is made with fewer than 512 points per band).
_DESIGN_POINTS = 1 << 22
#: Most taps of the longest low-pass a sinc or resampling layer may design or hold
#: (``2 H + 1``; a designed one counted at its longest, ``H`` lengthened by half):
#: checked from the arithmetic of the design before any of it runs. The design checks
#: the stop band of every candidate length by an FFT of about 8 times the filter's
#: length: at this limit its worst case (9 candidates, attenuation 300) took 4.5 s
#: (factor 4096, transition 0.24; 2-core EPYC, load 0.9), where factor 65536 at the
#: defaults (3.7 M taps) took minutes before the phase sums were vectorised and would
#: take 20-30 s in the worst case after. With the defaults (``transition=0.3,
#: attenuation=90``) it admits factors up to about 18000.
MAX_LOWPASS_TAPS = 1 << 20
#: Input steps per block of the low-pass's block form (:func:`block_table`): forward +
#: backward of the low-pass alone, one thread, B=4 C=128 T=2048 x4 (D=40), took 65 /
#: 60 / 99 / 108 ms at blocks of 16 / 32 / 64 / 128 steps, against 150-310 ms for the
#: same filter as a grouped convolution (2-core EPYC, load 1.1-2.0).
BLOCK = 32
#: Largest factor with the block form (its table is ``(BLOCK + D - 1, BLOCK r)``, 1.2 MB
#: of float64 at factor 64); larger factors run the low-pass as convolutions.
BLOCK_MAX_FACTOR = 64


def block_table(phases: InterpolationPhases, block: int) -> np.ndarray:
    """The low-pass on ``block`` input steps as one matrix: ``(block + D - 1, block r)``,
    ``u[s block + p, j]`` (output sample ``(s block + p) r + j``) ``= sum_i window[i]
    M[i, p r + j]`` where ``window`` holds the ``block + D - 1`` input samples from
    step ``s block + o`` on, so ``M[p + d, p r + j] = A[j, d]`` (a banded Toeplitz
    table: ``(block + D - 1) r`` multiply-adds a step instead of ``D r``, run as one
    matrix product, at its rate, instead of a grouped convolution)."""
    taps = phases.taps  # (r, D)
    r, depth = taps.shape
    table = np.zeros((block + depth - 1, block, r))
    for p in range(block):
        table[p: p + depth, p, :] = taps.T
    return table.reshape(block + depth - 1, block * r)


def check_filter_options(cutoff: float, transition: float,
                         attenuation: float) -> tuple[float, float, float]:
    """``(cutoff, transition, attenuation)`` checked: ``cutoff`` in ``(0, 1]``,
    ``transition`` in ``(0, 2 * cutoff]``, ``attenuation`` in ``[21, 300]`` dB (the
    PyTorch and Keras layers alike)."""
    cutoff = check_real("cutoff", cutoff, low=0.0, high=1.0, low_open=True)
    transition = check_real("transition", transition, low=0.0, high=2 * cutoff, low_open=True)
    return cutoff, transition, check_real("attenuation", attenuation, low=21.0, high=300.0)


def form_macs(in_channels: int, out_channels: int, factor: int, kernel_size: int,
              depth: int) -> dict[str, int]:
    """Multiply-adds per input time step (per batch item) of each form of the
    resampling upsampler (``I``, ``O``: input and output channels, ``r`` the factor,
    ``K`` the kernel, ``D`` the low-pass's taps per phase): ``"mix_first"``
    ``I O K + O r D``, ``"filter_first"`` ``I r D + I O K r``."""
    i, o, r, k = in_channels, out_channels, factor, kernel_size
    return {"mix_first": i * o * k + o * r * depth, "filter_first": i * r * depth + i * o * k * r}


def cheaper_form(macs: dict[str, int]) -> str:
    """The form of :func:`form_macs` with fewer multiply-adds (``"mix_first"`` on a tie)."""
    return min(macs, key=lambda name: (macs[name], name != "mix_first"))


def lowpass_taps(half: int, *, designed: bool) -> int:
    """Taps of the longest low-pass a layer of half length ``half`` (Kaiser's estimate,
    or the length itself) may hold: ``2 H + 1``, with ``H`` lengthened by half when
    the length is ``designed`` (:func:`lengthen_to_attenuation`)."""
    longest = half + half // 2 if designed else half
    return 2 * longest + 1


def check_lowpass_size(factor: int, half: int, *, designed: bool, hint: str,
                       **named: object) -> None:
    """Refuse a low-pass longer than :data:`MAX_LOWPASS_TAPS` (:func:`lowpass_taps`)
    in one line naming ``factor`` and ``named`` (the options that set its length),
    before it is designed or built."""
    taps = lowpass_taps(half, designed=designed)
    if taps > MAX_LOWPASS_TAPS:
        options = "".join(f", {key}={value!r}" for key, value in named.items())
        raise InvalidValue(
            f"factor={factor}{options} need a low-pass of up to {taps:,} taps, more than "
            f"the limit of {MAX_LOWPASS_TAPS:,} (upsamplers.ops.lowpass.MAX_LOWPASS_TAPS); "
            f"{hint}")


def design_points(factor: int, most: int) -> int:
    """Points per input Nyquist band of the FFT that checks a designed stop band:
    ``most``, fewer above the factor where ``2 factor most`` passes
    :data:`_DESIGN_POINTS` (the FFT is at least 8 times the filter's length anyway)."""
    return max(8, min(most, _DESIGN_POINTS // (2 * factor)))


def lengthen_to_attenuation(factor: int, cutoff: float, beta: float, half: int,
                            attenuation: float, stopband_edge: float,
                            points_per_band: int = 4096) -> int:
    """``half`` (Kaiser's estimate of a windowed sinc's half length, which can fall
    short by a fraction of a dB), lengthened by 5 % steps (at most by half) until
    the stop band from ``stopband_edge`` up is ``attenuation`` dB below DC after
    the phase normalisation of :func:`~upsamplers.ops.sinc_filter` (the sinc and
    resampling upsamplers' designs)."""
    longest = half + half // 2
    while half < longest:
        phases = sinc_phases(factor, cutoff=cutoff, beta=beta, half=half)
        level = stopband_level_db(phases.taps, phases.offset, stopband_edge=stopband_edge,
                                  points_per_band=points_per_band)
        if level <= -attenuation:
            break
        half = min(longest, half + max(1, half // 20))
    return half


def design_resample_filter(factor: int, cutoff: float, transition: float,
                           attenuation: float) -> tuple[int, InterpolationPhases]:
    """``(H, phases)`` of the fixed low-pass: Kaiser's estimate of the half length
    ``H`` for ``transition`` and ``attenuation`` (:func:`~upsamplers.ops.filters.
    kaiser_half_length`), lengthened until the whole stop band from ``cutoff +
    transition / 2`` up is ``attenuation`` dB down (:func:`lengthen_to_attenuation`)."""
    beta = kaiser_beta(attenuation)
    points = design_points(factor, 512)
    half = lengthen_to_attenuation(factor, cutoff, beta,
                                   kaiser_half_length(factor, transition, attenuation),
                                   attenuation, cutoff + transition / 2, points)
    return half, sinc_phases(factor, cutoff=cutoff, beta=beta, half=half)


