"""The statistics behind :func:`~upsamplers.analysis.combs.find_combs`: local
floors and peaks of a spectrum, the significance of every hop's lines, the
checks that a candidate's lines sit on its comb, and the merge of nested combs
(the method is described in :mod:`upsamplers.analysis.combs`).

Spectra here are one-sided power per bin, ``(F,)``; a "line" of hop ``h`` is
bin ``k * nperseg / h`` (``k = 1 .. h // 2``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import ndimage, stats

#: Bins of the running median that is the local floor.
FLOOR_BINS = 129
#: Extra thresholds (dB above ``threshold_db``) at which the lines are tested too.
LADDER_DB = (0.0, 6.0, 12.0, 24.0)
#: ... of a hop's own lines, for it to be reported over a comb it holds.
LOG10_P_STEP = -4.0
#: ... of the chi-square test that a hop's own lines are present alike at every offset.
LOG10_P_EVEN = -3.0
#: Largest median distance (bins) of a comb's peaks from its exact line positions.
MAX_OFFSET_BINS = 0.25
#: Share of a hop's present own lines on one coarser step that makes them a sub-comb.
SUBCOMB_SHARE = 0.8
#: Fewest present lines of a comb.
MIN_LINES = 3


def above_floor(power: np.ndarray, clamp: float) -> tuple[np.ndarray, np.ndarray]:
    """``(level above the local floor in dB, floor)`` per bin.

    Shape:
        ``(F,) -> ((F,), (F,))``.
    """
    logp = np.log(np.maximum(power, clamp))
    floor = np.exp(ndimage.median_filter(logp, size=FLOOR_BINS, mode="reflect"))
    floor = np.maximum(floor, clamp)
    return 10.0 * np.log10(np.maximum(power, clamp) / floor), floor


def near_peaks(excess: np.ndarray, threshold: float, first_bin: int) -> np.ndarray:
    """Bins within one bin of a local maximum at least ``threshold`` dB above the floor
    (bins below ``first_bin``, near DC, are never peaks)."""
    padded = np.concatenate(([-np.inf], excess, [-np.inf]))
    peak = (excess >= threshold) & (excess >= padded[:-2]) & (excess >= padded[2:])
    peak[:first_bin] = False
    return ndimage.binary_dilation(peak, structure=np.ones(3, dtype=bool))


@dataclass(frozen=True)
class Table:
    """Every line ``k * fs / hop`` of every hop searched, as flat arrays."""

    hops: np.ndarray  # (H,) the hops
    owner: np.ndarray  # (L,) index into hops of each line
    bins: np.ndarray  # (L,) nearest bin of each line
    own: np.ndarray  # (L,) bool: k coprime to hop (the line of no coarser comb)


@lru_cache(maxsize=2)
def line_table(nperseg: int, min_hop: int, max_hop: int) -> Table:
    hops = np.arange(min_hop, max_hop + 1, dtype=np.int32)
    counts = hops // 2
    owner = np.repeat(np.arange(len(hops), dtype=np.int32), counts)
    starts = np.cumsum(counts) - counts
    k = np.arange(owner.size, dtype=np.int32) - np.repeat(starts, counts).astype(np.int32) + 1
    hop_of = hops[owner]
    bins = np.rint(k * (nperseg / hop_of)).astype(np.int32)  # line k at k * fs / hop
    return Table(hops, owner, bins, np.gcd(k, hop_of) == 1)


def log10_tail(hits: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """log10 P(X >= hits) for a Poisson X of mean ``expected`` (the number of a
    comb's line positions that fall near a peak by chance)."""
    tail = stats.poisson.logsf(np.maximum(hits, 0) - 1, np.maximum(expected, 1e-12))
    return np.where(hits > 0, tail / math.log(10), 0.0)


def peak_chance(near: np.ndarray) -> np.ndarray:
    """Per bin, the chance that a position there is near a peak: the share of
    near-peak bins among the :data:`FLOOR_BINS` around it, its own peak left out
    (peaks cluster: the sidebands of strong lines, a note's partials), and at
    least the share of the whole band.

    Shape:
        ``(F,) -> (F,)``.
    """
    share = ndimage.uniform_filter1d(near.astype(float), FLOOR_BINS, mode="reflect")
    own = 3.0 * near / FLOOR_BINS  # a peak makes three bins near it
    local = (share - own) * FLOOR_BINS / (FLOOR_BINS - 3)
    return np.clip(local, max(float(near.mean()), 1e-6), 1.0)


def hop_scores(excess: np.ndarray, table: Table, threshold: float,
                first_bin: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per hop: the most significant log10 tail over the ladder of thresholds of
    all its lines and of its own lines, and its lines present at ``threshold``.

    Shape:
        ``(F,) -> ((H,), (H,), (H,))``.
    """
    n = len(table.hops)
    every, mine = np.zeros(n), np.zeros(n)
    present = np.zeros(n)
    own_bins, own_owner = table.bins[table.own], table.owner[table.own]
    bonferroni = math.log10(len(LADDER_DB))
    for step in LADDER_DB:
        near = near_peaks(excess, threshold + step, first_bin)
        chance = peak_chance(near)
        hits = np.bincount(table.owner, weights=near[table.bins], minlength=n)
        expected = np.bincount(table.owner, weights=chance[table.bins], minlength=n)
        every = np.minimum(every, log10_tail(hits, expected) + bonferroni)
        if step == 0.0:
            present = hits
        hits = np.bincount(own_owner, weights=near[own_bins], minlength=n)
        expected = np.bincount(own_owner, weights=chance[own_bins], minlength=n)
        mine = np.minimum(mine, log10_tail(hits, expected) + bonferroni)
    return every, mine, present


def merge(hops: list[int], is_step: Callable[[int, int], bool]) -> list[int]:
    """The combs to report among the candidate ``hops`` (each significant on all
    its lines), smallest first. A hop with kept divisors is kept only when it is
    one prime step ``p`` above a kept hop ``d = hop / p`` and ``is_step(hop, d)``
    (its own lines are lines, not the sidebands of the comb of ``d``). A hop that
    divides a kept hop is left out."""
    kept: list[int] = []
    for h in sorted(hops):
        if not any(h % d == 0 for d in kept):
            kept.append(h)
        elif any(h // p in kept and is_step(h, h // p) for p in primes(h)):
            kept.append(h)
    return [h for h in kept if not any(o != h and o % h == 0 for o in kept)]


def even_step(hop: int, below: int, k: np.ndarray, own_log10_p: float) -> bool:
    """Whether the own lines of ``hop`` (present: ``k``) are significant
    (:data:`LOG10_P_STEP`) and present alike at every offset from the lines of the
    comb ``below`` (a chi-square test over the classes ``k mod (hop / below)``, at
    :data:`LOG10_P_EVEN`): a strong comb's sidebands repeat at a few offsets
    around each of its lines; a finer comb's lines are at all of them."""
    if own_log10_p > LOG10_P_STEP:
        return False
    m = hop // below
    every = np.arange(1, hop // 2 + 1)
    every = every[np.gcd(every, hop) == 1]
    lines = np.bincount(every % m, minlength=m).astype(float)
    hits = np.bincount(k[np.gcd(k, hop) == 1] % m, minlength=m).astype(float)
    used = lines > 0
    if used.sum() < 2 or hits.sum() == 0:
        return True
    expected = lines[used] * hits.sum() / lines[used].sum()
    chi2 = float(np.sum((hits[used] - expected) ** 2 / expected))
    return stats.chi2.logsf(chi2, int(used.sum()) - 1) / math.log(10) > LOG10_P_EVEN


def primes(n: int) -> list[int]:
    """The distinct prime factors of ``n``."""
    out, p = [], 2
    while p * p <= n:
        if n % p == 0:
            out.append(p)
            while n % p == 0:
                n //= p
        p += 1
    return out + ([n] if n > 1 else [])


def present_lines(excess: np.ndarray, hop: int, nperseg: int, threshold: float,
                   first_bin: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The present lines of ``hop``: ``(k, level above floor in dB, offset in bins)``.

    A line's peak is the highest bin within one bin of ``k * nperseg / hop``;
    its offset is the peak's position (refined by a parabola through the dB
    levels of the peak bin and its neighbours) minus that exact position.

    Shape:
        ``(F,) -> ((L,), (L,), (L,))`` for the ``L`` present lines.
    """
    k = np.arange(1, hop // 2 + 1)
    exact = k * (nperseg / hop)
    bins = np.rint(exact).astype(np.int64)
    near = near_peaks(excess, threshold, first_bin)[bins]
    k, exact, bins = k[near], exact[near], bins[near]
    last = len(excess) - 1
    around = np.clip(bins[:, None] + np.arange(-1, 2), 0, last)  # (L, 3)
    peak = around[np.arange(len(bins)), np.argmax(excess[around], axis=1)]
    left, mid = excess[np.maximum(peak - 1, 0)], excess[peak]
    right = excess[np.minimum(peak + 1, last)]
    curve = left - 2 * mid + right
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(curve < 0, 0.5 * (left - right) / curve, 0.0)
    return k, mid, peak + np.clip(delta, -0.5, 0.5) - exact


def is_comb(hop: int, excess: np.ndarray, nperseg: int, threshold: float,
             first_bin: int) -> bool:
    """Whether the present lines of ``hop`` that are its own (``k`` coprime to
    ``hop``) sit on their exact positions (median offset at most
    :data:`MAX_OFFSET_BINS`: not the drifting harmonics of a note, nor the skirts
    of a finer comb's lines) and are not one sub-comb (:func:`one_subcomb`)."""
    k, _, offsets = present_lines(excess, hop, nperseg, threshold, first_bin)
    own = np.abs(offsets[np.gcd(k, hop) == 1])
    return (own.size > 0 and float(np.median(own)) <= MAX_OFFSET_BINS
            and one_subcomb(hop, k) is None)


def one_subcomb(hop: int, k: np.ndarray) -> int | None:
    """The step ``m >= 2`` when at least :data:`SUBCOMB_SHARE` of the present own
    lines of ``hop`` are multiples of ``m`` (their spacing is ``m * fs / hop``,
    ``fs`` over a non-integer: a note's harmonics, not a comb), else ``None``."""
    own = k[np.gcd(k, hop) == 1]
    if own.size == 0:
        return None
    steps = np.arange(2, int(own.max()) + 1)
    share = (own[:, None] % steps[None, :] == 0).mean(axis=0)
    return int(steps[np.argmax(share)]) if share.size and share.max() >= SUBCOMB_SHARE else None


def drop_ambiguous(hops: list[int], present: Callable[[int], np.ndarray],
                   nperseg: int) -> list[int]:
    """``hops`` without the pairs that explain the same peaks: two exact combs share
    only the lines of the comb of their greatest common divisor, so when two
    candidates (neither dividing the other) share half of their other present
    lines (``present(hop)``: their ``k``), those peaks are on neither comb
    exactly (a note's partials, a dense stretch of music) and both are dropped."""
    own: dict[int, np.ndarray] = {}
    bad: set[int] = set()
    for i, a in enumerate(hops):
        for b in hops[i + 1:]:
            if a % b == 0 or b % a == 0:
                continue
            g = math.gcd(a, b)
            pa, pb = (_off_gcd(h, g, own, present, nperseg) for h in (a, b))
            if min(len(pa), len(pb)) < MIN_LINES:
                continue
            at = np.clip(np.searchsorted(pb, pa), 1, len(pb) - 1)
            near = np.minimum(np.abs(pb[at] - pa), np.abs(pb[at - 1] - pa)) <= 1.5
            if near.sum() >= max(MIN_LINES, 0.5 * min(len(pa), len(pb))):
                bad |= {a, b}
    return [h for h in hops if h not in bad]


def _off_gcd(hop: int, g: int, cache: dict[int, np.ndarray],
             present: Callable[[int], np.ndarray], nperseg: int) -> np.ndarray:
    """Sorted exact bins of the present lines of ``hop`` that are not lines of hop ``g``."""
    if hop not in cache:
        cache[hop] = present(hop)
    k = cache[hop]
    k = k[(k * g) % hop != 0]
    return np.sort(k * (nperseg / hop))
