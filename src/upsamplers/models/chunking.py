"""Processing a signal of any length with a model made for fixed-length chunks:
weighted overlap-add of overlapping chunks (what inference, evaluation and
``compare`` do with a long recording)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from .._checks import InvalidValue, check_positive_int

# share of a chunk that overlaps the next one, when not given
DEFAULT_OVERLAP = 0.25


def crossfade_window(length: int, overlap: int) -> torch.Tensor:
    """Weights of one chunk: linear ramps of ``overlap`` samples at both ends
    (never zero), 1 in between. Shape ``(length,)``."""
    w = torch.ones(length, dtype=torch.float64)
    if overlap:
        ramp = torch.arange(1, overlap + 1, dtype=torch.float64) / (overlap + 1)
        w[:overlap] = ramp
        w[length - overlap:] = ramp.flip(0)
    return w


def overlap_add(
    fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    *,
    chunk: int,
    overlap: int,
    batch: int = 8,
    progress: bool = False,
) -> torch.Tensor:
    """Apply ``fn`` to ``x`` in chunks of ``chunk`` samples overlapping by
    ``overlap``, cross-fading the outputs (weighted overlap-add, normalised by
    the sum of the weights, so ``fn = identity`` returns ``x`` exactly).

    ``fn`` maps ``(N, C, chunk) -> (N, *D, chunk)``. The signal is zero-padded at
    the end to a whole number of hops.

    Shape: ``(C, T) -> (*D, T)``.
    """
    chunk = check_positive_int("chunk", chunk)
    overlap = check_positive_int("overlap", overlap, minimum=0)
    if overlap >= chunk:
        raise InvalidValue(f"overlap must be smaller than chunk={chunk}; "
                           f"received overlap={overlap}")
    length = x.shape[-1]
    hop = chunk - overlap
    count = max(1, math.ceil(max(length - chunk, 0) / hop) + 1)
    padded = torch.nn.functional.pad(x, (0, (count - 1) * hop + chunk - length))
    starts = [i * hop for i in range(count)]
    window = crossfade_window(chunk, overlap if count > 1 else 0)
    out: torch.Tensor | None = None
    weight = torch.zeros(padded.shape[-1], dtype=torch.float64)
    iterator: Any = range(0, count, batch)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, unit="batch", desc="chunks", leave=False)
    with torch.inference_mode():
        for first in iterator:
            group = starts[first:first + batch]
            y = fn(torch.stack([padded[..., s:s + chunk] for s in group]))
            if y.shape[-1] != chunk:
                raise ValueError(f"the model returned {y.shape[-1]} samples for {chunk}")
            if out is None:
                out = torch.zeros(*y.shape[1:-1], padded.shape[-1], dtype=torch.float64)
            for s, piece in zip(group, y, strict=True):
                out[..., s:s + chunk] += piece.double() * window
                weight[s:s + chunk] += window
    assert out is not None
    return (out / weight)[..., :length].float()
