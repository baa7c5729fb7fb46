"""Processing a signal of any length in chunks (what inference, evaluation and
``compare`` do with a long recording), two ways:

* :func:`centre_chunks`, exact: chunks overlap by twice the model's receptive
  field and only each chunk's centre is kept, so a convolutional model gives
  what one whole-signal pass gives, to float rounding. The receptive field is
  computed from the layers (:func:`receptive_field` over :func:`conv_span`,
  :func:`upsampler_span`, :func:`span_union`);
* :func:`overlap_add`, approximate: overlapping chunks cross-faded (weighted
  overlap-add), for models whose outputs read the whole input (a recurrent
  layer), or when a caller asks for an explicit overlap.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .._checks import InvalidValue, check_positive_int
from ..layers import Upsampler

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
    ratio: int = 1,
) -> torch.Tensor:
    """Apply ``fn`` to ``x`` in chunks of ``chunk`` samples overlapping by
    ``overlap``, cross-fading the outputs (weighted overlap-add, normalised by
    the sum of the weights, so ``fn = identity`` returns ``x`` exactly).

    ``fn`` maps ``(N, C, chunk) -> (N, *D, chunk * ratio)``: ``ratio`` output samples
    per input sample (1 unless the model changes the rate; ``chunk`` and
    ``overlap`` count input samples). The signal is zero-padded at the end to a
    whole number of hops.

    Shape: ``(C, T) -> (*D, T * ratio)``.
    """
    ratio = check_positive_int("ratio", ratio)
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
    size = chunk * ratio  # output samples of one chunk
    window = crossfade_window(size, overlap * ratio if count > 1 else 0)
    out: torch.Tensor | None = None
    weight = torch.zeros(padded.shape[-1] * ratio, dtype=torch.float64)
    iterator: Any = range(0, count, batch)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, unit="batch", desc="chunks", leave=False)
    with torch.inference_mode():
        for first in iterator:
            group = starts[first:first + batch]
            y = fn(torch.stack([padded[..., s:s + chunk] for s in group]))
            if y.shape[-1] != size:
                raise ValueError(f"the model returned {y.shape[-1]} samples for {chunk}")
            if out is None:
                out = torch.zeros(*y.shape[1:-1], weight.shape[-1], dtype=torch.float64)
            for s, piece in zip(group, y, strict=True):
                out[..., s * ratio:s * ratio + size] += piece.double() * window
                weight[s * ratio:s * ratio + size] += window
    assert out is not None
    return (out / weight)[..., :length * ratio].float()


# ---- exact chunking: overlap by the receptive field, keep each chunk's centre

#: an inclusive range ``(first, last)`` of sample indices
Span = tuple[int, int]


def conv_span(span: Span, kernel_size: int, *, stride: int = 1, padding: int = 0,
              dilation: int = 1) -> Span:
    """Input samples that the outputs ``span`` of a ``Conv1d`` read (padding
    positions included, as indices below 0 or past the end):
    output ``j`` reads ``j * stride - padding + dilation * [0, kernel_size - 1]``."""
    first, last = span
    return (first * stride - padding,
            last * stride - padding + dilation * (kernel_size - 1))


def upsampler_span(span: Span, factor: int, left: int, kernel_size: int) -> Span:
    """Input samples that the outputs ``span`` of an upsampler read, from its phase
    kernels (:class:`~upsamplers.ops.PhaseKernels`: ``left`` zeros padded before,
    ``kernel_size`` taps): output ``n * factor + i`` reads ``n - left + [0, K - 1]``."""
    first, last = span
    return first // factor - left, last // factor - left + kernel_size - 1


def span_union(a: Span, b: Span) -> Span:
    """The smallest span holding both."""
    return min(a[0], b[0]), max(a[1], b[1])


# layers that read only the sample they write (any channels)
_POINTWISE = (nn.ReLU, nn.LeakyReLU, nn.GLU, nn.Tanh, nn.Identity)


def layer_span(span: Span, module: nn.Module) -> Span:
    """Input samples that the outputs ``span`` of ``module`` read: a ``Conv1d``
    (:func:`conv_span`), an :class:`~upsamplers.layers.Upsampler` (from its phase
    kernels, :func:`upsampler_span`), a ``ReflectionPad1d``, a pointwise layer, an
    an ``nn.Sequential`` of these, or a module with its own ``input_span(span)``
    (the activations of :mod:`upsamplers.activations` have one).
    ``TypeError`` for any other module: a layer whose reach is unknown must not
    be chunked as if it were known."""
    if hasattr(module, "input_span"):
        return module.input_span(span)
    if isinstance(module, nn.Sequential):
        for layer in reversed(module):
            span = layer_span(span, layer)
        return span
    if isinstance(module, nn.Conv1d):
        if not isinstance(module.padding, tuple):
            raise TypeError(f"padding={module.padding!r} has no known reach")
        return conv_span(span, module.kernel_size[0], stride=module.stride[0],
                         padding=module.padding[0], dilation=module.dilation[0])
    if isinstance(module, Upsampler):
        kernels = module.phase_kernels()
        return upsampler_span(span, module.factor, kernels.left, kernels.kernel_size)
    if isinstance(module, nn.ReflectionPad1d):
        return span[0] - module.padding[0], span[1] - module.padding[0]
    if isinstance(module, _POINTWISE):
        return span
    raise TypeError(f"the receptive field of {type(module).__name__} is not known")


def receptive_field(input_span: Callable[[Span], Span], hop: int, ratio: int = 1) -> int:
    """The receptive field of a model that is periodic in time with period ``hop``
    output samples: the most input samples, on either side of an output sample,
    that can change it.

    ``input_span`` maps a span of output samples to the span of input samples they
    read (through every layer: :func:`conv_span`, :func:`upsampler_span`,
    :func:`span_union` for skips). Every phase of one period is asked. ``ratio``:
    output samples per input sample (a model that raises the rate); output
    sample ``t`` sits at input sample ``t // ratio``, and the reach is counted
    from there, in input samples.
    """
    hop = check_positive_int("hop", hop)
    ratio = check_positive_int("ratio", ratio)
    reach = 0
    for t in range(hop):
        first, last = input_span((t, t))
        centre = t // ratio
        reach = max(reach, centre - first, last - centre)
    return reach


def centre_chunks(
    fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    *,
    chunk: int,
    context: int,
    hop: int = 1,
    batch: int = 8,
    pad: bool = True,
    progress: bool = False,
    ratio: int = 1,
) -> torch.Tensor:
    """Apply ``fn`` to ``x`` in chunks of ``chunk`` samples that overlap by
    ``2 * context`` and keep only each chunk's centre: the first ``context`` and
    last ``context`` samples of a chunk are dropped, except at the ends of the
    signal, where the first chunk starts and the last chunk ends (no cross-fade).

    When ``fn`` is a model whose outputs read at most ``context`` input samples on
    either side (its receptive field, padding included) and that is periodic in
    time with period ``hop`` (chunks start at multiples of ``hop``), the result is
    ``fn`` of the whole signal, to float rounding: every sample kept was computed
    from the same inputs as in one whole-signal pass, and the chunks at the ends
    see the same ends. The signal is zero-padded to a multiple of ``hop``; with
    ``pad=False`` it is not: ``fn`` takes every length and pads itself (e.g. after
    normalising), and the last chunk is shorter by what padding would add. A
    signal of at most ``chunk`` samples (padded) is one pass.

    ``fn`` maps ``(N, C, L) -> (N, *D, L * ratio)``: ``ratio`` output samples per
    input sample (1 unless the model raises the rate; ``chunk``, ``context`` and
    ``hop`` count input samples, and the kept centres are the outputs of the
    kept inputs). ``chunk`` and ``context`` must be multiples of ``hop``,
    ``chunk > 2 * context``.

    Shape: ``(C, T) -> (*D, T * ratio)``.
    """
    hop = check_positive_int("hop", hop)
    ratio = check_positive_int("ratio", ratio)
    chunk = check_positive_int("chunk", chunk)
    context = check_positive_int("context", context, minimum=0)
    for name, value in (("chunk", chunk), ("context", context)):
        if value % hop:
            raise InvalidValue(f"{name} must be a multiple of hop={hop}; received "
                               f"{name}={value}")
    if chunk <= 2 * context:
        raise InvalidValue(f"chunk must be longer than twice the context ({2 * context} "
                           f"samples); received chunk={chunk}")
    length = x.shape[-1]
    padded_length = -(-max(length, 1) // hop) * hop
    if pad:
        x = torch.nn.functional.pad(x, (0, padded_length - length))
    with torch.inference_mode():
        if padded_length <= chunk:
            return fn(x[None])[0][..., :length * ratio]
        return _run_centres(fn, x, _centre_pieces(padded_length, chunk, context), chunk,
                            batch, progress, ratio)[..., :length * ratio]


def _run_centres(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                 pieces: list[tuple[int, int, int]], chunk: int, batch: int,
                 progress: bool, ratio: int) -> torch.Tensor:
    """The centres ``pieces`` (of :func:`_centre_pieces`, in input samples) of ``fn``
    over ``x`` ``(C, T)``, joined: ``(*D, T * ratio)``. The last piece is run alone
    on what is left of ``x`` (shorter than ``chunk`` when ``x`` was not padded)."""
    out: torch.Tensor | None = None
    inner = pieces[:-1]
    groups = [inner[i:i + batch] for i in range(0, len(inner), batch)] + [pieces[-1:]]
    iterator: Any = groups
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(groups, unit="batch", desc="chunks", leave=False)
    for group in iterator:
        y = fn(torch.stack([x[..., s:s + chunk] for s, _, _ in group]))
        if y.shape[-1] != min(chunk, x.shape[-1] - group[0][0]) * ratio:
            raise ValueError(f"the model returned {y.shape[-1]} samples for {chunk}")
        if out is None:
            out = y.new_zeros(*y.shape[1:-1], x.shape[-1] * ratio)
        for (start, keep_from, keep_to), piece in zip(group, y, strict=True):
            out[..., keep_from * ratio:keep_to * ratio] = (
                piece[..., (keep_from - start) * ratio:(keep_to - start) * ratio])
    assert out is not None
    return out


def _centre_pieces(length: int, chunk: int, context: int) -> list[tuple[int, int, int]]:
    """``(start, keep_from, keep_to)`` of each chunk of :func:`centre_chunks` over
    ``length > chunk`` samples: starts step by ``chunk - 2 * context``, the last
    chunk ends at ``length``; the kept ranges tile ``[0, length)``."""
    step = chunk - 2 * context
    starts = list(range(0, length - chunk, step)) + [length - chunk]
    pieces, kept = [], 0
    for start in starts:
        end = length if start + chunk == length else start + chunk - context
        pieces.append((start, kept, end))
        kept = end
    return pieces
