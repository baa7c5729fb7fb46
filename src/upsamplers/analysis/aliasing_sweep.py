"""How many signals a default ``aliasing`` run can afford: the quick sweep.

The default sweep (:data:`~.aliasing.DEFAULT_F0S` at every amplitude, and the
sawtooth and triangle waves: 63 signals, a period of 4099 input samples) takes
seconds on an activation, and an hour on a 20 M-parameter decoder by 256, whose
every input sample costs 256 output samples of a deep network. When the caller
left every signal argument at its default and the sweep, estimated from the time
the dry runs took per output sample, would exceed :data:`SWEEP_BUDGET_S`, the
*quick sweep* measures what the audit's verdict needs: sines at
:data:`QUICK_F0S` of the input rate at the audit's amplitude, with the shortest
prime period that keeps ``k0 = f0 N`` above half the rate ratio ``p`` (below it,
images of the fundamental fall on harmonic bins and the AHR reads low). A note
says what was measured, the full sweep's estimate, and how to ask for it
(``sweep="full"``, ``--sweep full``, or any explicit signal argument).
"""

from __future__ import annotations

import math
from fractions import Fraction

#: Estimated seconds of the default sweep above which "auto" takes the quick one.
SWEEP_BUDGET_S = 60.0
#: Sine fundamentals of the quick sweep, fractions of the input rate: the upper
#: band, where harmonics fold soonest, and a period short enough for a decoder.
QUICK_F0S = (0.2, 0.3, 0.4)
#: Sweeps a caller may ask for.
SWEEPS = ("auto", "full")


def sweep_seconds(signals: int, length: int, ratio: Fraction, seconds_per_sample: float
                  ) -> float:
    """The time ``signals`` measures of period ``length`` would take at least: two
    analysed periods each (the shortest steady layout), ``ratio`` output samples
    per input sample, at ``seconds_per_sample`` per output sample."""
    return signals * 2 * length * float(max(ratio, Fraction(1))) * seconds_per_sample


def quick_length(ratio: Fraction, f0s: tuple[float, ...], minimum: int) -> int:
    """The smallest period (before rounding up to a prime) in which every one of
    ``f0s`` makes ``k0 = round(f0 N) > p / 2`` cycles: the image of the fundamental
    at ``k0`` times the input rate (bin ``k0 (N - 1)``, a harmonic bin) is then
    above the output Nyquist. At least ``minimum``."""
    return max(minimum, math.ceil((ratio.numerator // 2 + 0.5) / min(f0s)))
