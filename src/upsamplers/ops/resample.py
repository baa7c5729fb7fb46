"""Oversampling and decimation by a fixed low-pass, in polyphase form: the
engine of the anti-aliased activations.

An anti-aliased activation raises the rate by ``r`` (zero stuffing and a
low-pass ``h``), applies an elementwise function, low-passes again (``g``) and
keeps every ``r``-th sample. Written out at the high rate most of that work is
wasted: ``r - 1`` of every ``r`` stuffed samples are zeros and ``r - 1`` of
every ``r`` filtered outputs are thrown away. Here neither is computed:

* :func:`oversample_plain`: ``x (B, C, T) -> phases (B, C * r, T)``; row
  ``c * r + p`` holds high-rate samples ``p, p + r, p + 2r, ...`` of channel ``c``
  (``u[r m + p] = r * sum_k h[k] x[(r m + p + D - k) / r]`` over the ``k`` that
  make the index whole): one grouped convolution of ``r`` short phase filters.
* :func:`decimate_plain`: ``phases (B, C * r, T) -> (B, C, T)``,
  ``y[m] = sum_k g[k] v[r m + k - P]``: one grouped convolution reading the
  ``r`` phases of each channel.

An elementwise function commutes with the phase layout, so an activation runs on
the phases as they are (``(B, C * r, T)`` is ``(B, C, r * T)`` in memory, phase
blocks one after the other); one that reads neighbouring samples (ADAA) gets
them interleaved first (:func:`interleave`).

The ends: the signal is taken as continued by its edge samples (the replicate
padding of alias-free-torch and BigVGAN), at both rates. The convolutions pad
with zeros and the few outputs that read the padding get the edge value times
the taps that read it (:class:`~upsamplers.ops.resample_design.ResampleTables`,
designed in :mod:`upsamplers.ops.resample_design`); nothing is copied to pad.

That phase form is what traced, exported and scripted graphs run. Eager calls
run :func:`resampled_apply`: the same arithmetic as block matrix products
(:class:`BlockMatrices`), tile by tile, with a hand-written backward (the
transposed products); on one CPU thread a matrix product was about 4x faster
than the grouped convolution of the same taps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .resample_design import ResampleTables

# ---- the arithmetic, in plain operations (traced, exported and scripted graphs) ----

def oversample_plain(x: torch.Tensor, up: torch.Tensor, left: torch.Tensor,
                     right: torch.Tensor) -> torch.Tensor:
    """``(B, C, T) -> (B, C * r, T)`` phases, ends continued by the edge samples.
    ``up`` ``(r, 1, E)``, ``left`` / ``right`` ``(r, P)``."""
    channels, time = x.shape[1], x.shape[-1]
    r, pad = up.shape[0], (up.shape[-1] - 1) // 2
    out = F.conv1d(x, up.repeat(channels, 1, 1), padding=pad, groups=channels)
    n = pad if torch.jit.is_tracing() else min(pad, time)
    view = out.view(x.shape[0], channels, r, time)
    view[..., :n] += x[..., :1].unsqueeze(2) * left[:, :n]
    view[..., time - n:] += x[..., time - 1:].unsqueeze(2) * right[:, :n].flip(-1)
    return out


def decimate_plain(v: torch.Tensor, down: torch.Tensor, left: torch.Tensor,
                   right: torch.Tensor) -> torch.Tensor:
    """``(B, C * r, T)`` phases ``-> (B, C, T)``, the high-rate signal continued by
    its first and last samples. ``down`` ``(1, r, E)``, ``left`` / ``right`` ``(P,)``."""
    r, pad = down.shape[1], (down.shape[-1] - 1) // 2
    channels, time = v.shape[1] // r, v.shape[-1]
    out = F.conv1d(v, down.repeat(channels, 1, 1), padding=pad, groups=channels)
    n = pad if torch.jit.is_tracing() else min(pad, time)
    out[..., :n] += v[:, 0::r, :1] * left[:n]
    out[..., time - n:] += v[:, r - 1::r, time - 1:] * right[:n].flip(-1)
    return out


# ---- eager mode: block matrix products, tile by tile ----

PhaseFunction = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class BlockMatrices:
    """Oversampling and decimation as matrix products on blocks of ``block``
    low-rate samples, the form the eager path runs (a matrix product is several
    times faster on CPU than the grouped convolution of the same taps, zeros of the
    band included).

    ``up``: ``(block + 2 * up_pad, r * block)``; row ``i + t``, column ``i * r + p``
    is tap ``t`` of phase ``p`` (the high-rate outputs of a block in time order).
    ``down``: ``(r * (block - 1) + len(g), block)``; row ``r * i + k``, column ``i``
    is ``g[k]``.
    """

    ratio: int
    block: int
    up: np.ndarray
    up_pad: int
    down: np.ndarray
    down_delay: int


def block_matrices(tables: ResampleTables, down_filter: np.ndarray, down_delay: int,
                   block: int | None = None) -> BlockMatrices:
    """:class:`BlockMatrices` for ``tables`` (the up side) and the decimation filter
    ``down_filter`` with ``down_delay`` (as given to :func:`resample_tables`)."""
    r, pad = tables.ratio, tables.up_padding
    g = np.asarray(down_filter, dtype=np.float64)
    if block is None:
        # short blocks waste fewer multiply-adds on the band's zeros (8: 2.3x the taps
        # of BigVGAN's filters); a block spans at least the filters' overlaps
        block = max(8, 2 * pad, -(-(len(g) - r) // r))
        block = -(-block // 8) * 8
    # up[i + t, i * r + p] = tables.up[p, t]; down[r * i + k, i] = g[k]
    i, p, t = np.ix_(np.arange(block), np.arange(r), np.arange(2 * pad + 1))
    up = np.zeros((block + 2 * pad, r * block))
    up[i + t, i * r + p] = tables.up[p, t]
    i, k = np.ix_(np.arange(block), np.arange(len(g)))
    down = np.zeros((r * (block - 1) + len(g), block))
    down[r * i + k, i] = g
    return BlockMatrices(r, block, up, pad, down, int(down_delay))


def _overlap_add(z: torch.Tensor, step: int) -> torch.Tensor:
    """``(N, nb, W)`` windows ``step`` apart -> ``(N, (nb + 1) * step)``, summed where
    they overlap (``W - step <= step``)."""
    n, nb, width = z.shape
    out = z.new_empty(n, (nb + 1) * step)
    blocks = out[:, : nb * step].view(n, nb, step)
    blocks[..., :width].copy_(z[..., :step])
    blocks[..., width:].zero_()
    out[:, nb * step:].zero_()
    if width > step:
        out[:, step:].view(n, nb, step)[..., : width - step] += z[..., step:]
    return out


def _fold_ends(padded: torch.Tensor, left: int, length: int) -> torch.Tensor:
    """The gradient of a replicate padding: ``padded[:, left: left + length]`` with
    everything before added to its first sample and everything after to its last."""
    out = padded[:, left: left + length]
    if left:
        out[:, 0] += padded[:, :left].sum(-1)
    if padded.shape[1] > left + length:
        out[:, -1] += padded[:, left + length:].sum(-1)
    return out


#: high-rate bytes of one tile of the eager path: small enough that the activation's
#: passes over a tile stay in the processor's cache and its temporaries are reused by
#: the allocator instead of mapped afresh (a fresh 32 MiB tensor cost 28 ms of page
#: faults on the 2-core EPYC of benchmarks/results), large enough that the Python work
#: per tile stays small (512 KiB tiles were slower than 2 MiB ones there)
TILE_BYTES = 1 << 21


@dataclass(frozen=True)
class _Tile:
    """Output blocks ``[j0, j1)`` of rows ``[b0, b1)``, the up blocks ``[e0, e1)`` that
    feed them, and the high-rate span ``[lo, hi)`` their windows read."""

    b0: int
    b1: int
    j0: int
    j1: int
    e0: int
    e1: int
    lo: int
    hi: int


def _tiles(batch: int, channels: int, time: int, plan: BlockMatrices, width: int,
           element: int) -> list[_Tile]:
    r, block = plan.ratio, plan.block
    step = r * block
    nb = -(-time // block)
    per_block = channels * step * element
    items = max(1, min(batch, TILE_BYTES // max(1, per_block * nb)))
    blocks = max(1, TILE_BYTES // max(1, per_block * items))
    out = []
    for b0 in range(0, batch, items):
        for j0 in range(0, nb, blocks):
            j1 = min(nb, j0 + blocks)
            lo = step * j0 - plan.down_delay
            hi = step * (j1 - 1) + width - plan.down_delay
            e0 = max(0, (lo - 1) // step)
            e1 = min(nb, -(-hi // step))
            out.append(_Tile(b0, min(batch, b0 + items), j0, j1, e0, e1, lo, hi))
    return out


def _tile_windows(a: torch.Tensor, tile: _Tile, step: int, width: int, end: int
                  ) -> torch.Tensor:
    """The decimation windows of ``tile`` from its activated samples ``a`` (which
    start at ``tile.e0 * step``), the high-rate signal continued by its edge samples
    outside ``[0, end)``."""
    first, last = max(tile.lo, 0), min(tile.hi, end)
    span = a[:, first - tile.e0 * step: last - tile.e0 * step]
    if tile.lo < 0 or tile.hi > end:
        span = F.pad(span.unsqueeze(1), (first - tile.lo, tile.hi - last),
                     mode="replicate").squeeze(1)
    return span.unfold(-1, width, step).reshape(-1, width)


def _tile_gradient(z: torch.Tensor, tile: _Tile, step: int, end: int, length: int
                   ) -> torch.Tensor:
    """The decimation's adjoint for ``tile``: windows' gradients ``z`` (``(N, nb, W)``)
    overlap-added over ``[lo, hi)``, what fell outside ``[0, end)`` added to the edge
    samples, laid over the tile's activated samples (``length`` from ``e0 * step``)."""
    span = _overlap_add(z, step)[:, : tile.hi - tile.lo]
    first, last = max(tile.lo, 0), min(tile.hi, end)
    inner = span[:, first - tile.lo: last - tile.lo]
    if tile.lo < 0:
        inner[:, 0] += span[:, : first - tile.lo].sum(-1)
    if tile.hi > end:
        inner[:, -1] += span[:, last - tile.lo:].sum(-1)
    out = span.new_zeros(span.shape[0], length)
    out[:, first - tile.e0 * step: last - tile.e0 * step] = inner
    return out


def _run_tiles(x: torch.Tensor, up: torch.Tensor, down: torch.Tensor, plan: BlockMatrices,
               fn: PhaseFunction, record: bool, tiles: list[_Tile], out: torch.Tensor | None
               ) -> list[Any]:
    """The forward of :class:`_BlockResampledApply` tile by tile: writes the outputs into
    ``out`` (when given) and returns each tile's ``(v, fn(v))`` (with ``fn``'s graph
    when ``record``)."""
    b, c, time = x.shape
    r, block = plan.ratio, plan.block
    nb = -(-time // block)
    xp = F.pad(x.reshape(b * c, 1, time), (plan.up_pad, plan.up_pad + nb * block - time),
               mode="replicate").view(b, c, -1)
    graphs = []
    for tile in tiles:
        rows = (tile.b1 - tile.b0) * c
        windows = xp[tile.b0: tile.b1].unfold(-1, up.shape[0], block)[:, :, tile.e0: tile.e1]
        v = (windows.reshape(-1, up.shape[0]) @ up).view(tile.b1 - tile.b0, c, -1)
        with torch.set_grad_enabled(record):
            v = v.requires_grad_(record)
            a = fn(v)
        if out is not None:
            w = _tile_windows(a.detach().view(rows, -1), tile, r * block, down.shape[0],
                              r * time)
            out[tile.b0: tile.b1, :, tile.j0 * block: tile.j1 * block] = (w @ down).view(
                tile.b1 - tile.b0, c, -1)
        graphs.append((v, a) if record else None)
    return graphs


def _blocks_differentiable(x: torch.Tensor, up: torch.Tensor, down: torch.Tensor,
                           plan: BlockMatrices, fn: PhaseFunction) -> torch.Tensor:
    """The arithmetic of :class:`_BlockResampledApply` in differentiable operations on
    the whole signal at once (what a backward with ``create_graph=True`` runs)."""
    b, c, time = x.shape
    r, block, width = plan.ratio, plan.block, down.shape[0]
    nb = -(-time // block)
    xp = F.pad(x.reshape(b * c, 1, time), (plan.up_pad, plan.up_pad + nb * block - time),
               mode="replicate")
    v = (xp.unfold(-1, up.shape[0], block) @ up).reshape(b, c, nb * r * block)
    a = fn(v)[..., : r * time].reshape(b * c, 1, r * time)
    # decimation window j reads the high-rate samples from r * block * j - down_delay
    right = max(0, r * block * (nb - 1) + width - plan.down_delay - r * time)
    ap = F.pad(a, (plan.down_delay, right), mode="replicate")
    y = ap.unfold(-1, width, r * block) @ down  # (B C, 1, nb, block)
    return y.reshape(b, c, nb * block)[..., :time]


class _BlockResampledApply(torch.autograd.Function):
    """oversample -> ``fn`` -> decimate as block matrix products, tile by tile (a few
    batch items, a range of blocks, :data:`TILE_BYTES` at the high rate): each tile
    computes the up blocks its windows read, halo included, runs ``fn`` on them and
    keeps ``fn``'s graph for backward, whose products are the forward's transposes.
    A second backward (``retain_graph=True``) records the tiles again; a backward with
    ``create_graph=True`` differentiates :func:`_blocks_differentiable` instead."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, mats: tuple[torch.Tensor, torch.Tensor],  # type: ignore[override]
                plan: BlockMatrices, fn: PhaseFunction, record: bool,
                *params: torch.Tensor) -> torch.Tensor:
        up, down = mats
        b, c, time = x.shape
        block = plan.block
        out = x.new_empty(b, c, -(-time // block) * block)
        tiles = _tiles(b, c, time, plan, down.shape[0], x.element_size())
        ctx.graphs = _run_tiles(x, up, down, plan, fn, record, tiles, out)
        ctx.tiles, ctx.plan, ctx.params, ctx.fn = tiles, plan, params, fn
        ctx.save_for_backward(x, up, down)
        return out[..., :time]

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:  # type: ignore[override]
        x, up, down = ctx.saved_tensors
        graphs, ctx.graphs = ctx.graphs, None  # each backward frees what it used
        wanted = [p for p in ctx.params if p.requires_grad]
        if torch.is_grad_enabled():  # create_graph: a backward that is differentiable too
            return _differentiable_backward(ctx, x, up, down, wanted, grad)
        if graphs is None:  # a backward after one with retain_graph=True
            graphs = _run_tiles(x, up, down, ctx.plan, ctx.fn, True, ctx.tiles, None)
        plan, (b, c, time) = ctx.plan, x.shape
        r, block = plan.ratio, plan.block
        nb = -(-time // block)
        totals = [torch.zeros_like(p) for p in wanted]
        g = F.pad(grad, (0, nb * block - time)) if nb * block > time else grad.contiguous()
        gxp = grad.new_zeros(b, c, (nb + 1) * block + 2 * plan.up_pad)
        for tile, (v, a) in zip(ctx.tiles, graphs, strict=True):
            rows = (tile.b1 - tile.b0) * c
            gy = g[tile.b0: tile.b1, :, tile.j0 * block: tile.j1 * block].reshape(-1, block)
            z = (gy @ down.T).view(rows, tile.j1 - tile.j0, -1)
            ga = _tile_gradient(z, tile, r * block, r * time, a.shape[-1]).view(a.shape)
            found = torch.autograd.grad(a, [v, *wanted], ga, allow_unused=True)
            for total, gp in zip(totals, found[1:], strict=True):
                if gp is not None:
                    total += gp
            z = (found[0].reshape(-1, r * block) @ up.T).view(rows, tile.e1 - tile.e0, -1)
            span = _overlap_add(z, block)[:, : (tile.e1 - tile.e0) * block + 2 * plan.up_pad]
            gxp[tile.b0: tile.b1, :, tile.e0 * block: tile.e0 * block + span.shape[-1]] += \
                span.view(tile.b1 - tile.b0, c, -1)
        gx = _fold_ends(gxp.view(b * c, -1), plan.up_pad, time).reshape(b, c, time)
        it = iter(totals)
        return (gx, None, None, None, None,
                *[next(it) if p.requires_grad else None for p in ctx.params])


def _differentiable_backward(ctx: Any, x: torch.Tensor, up: torch.Tensor, down: torch.Tensor,
                             wanted: list[torch.Tensor], grad: torch.Tensor
                             ) -> tuple[Any, ...]:
    """The gradients of :class:`_BlockResampledApply` as a differentiable graph (for
    ``create_graph=True``: gradient penalties, ``gradgradcheck``)."""
    inputs = [x] if ctx.needs_input_grad[0] else []
    y = _blocks_differentiable(x, up, down, ctx.plan, ctx.fn)
    found = list(torch.autograd.grad(y, [*inputs, *wanted], grad, create_graph=True,
                                     allow_unused=True))
    gx = found.pop(0) if inputs else None
    it = iter(found)
    return (gx, None, None, None, None,
            *[next(it) if p.requires_grad else None for p in ctx.params])


def resampled_apply(x: torch.Tensor, mats: tuple[torch.Tensor, torch.Tensor],
                    plan: BlockMatrices, fn: PhaseFunction,
                    params: tuple[torch.Tensor, ...] = ()) -> torch.Tensor:
    """``decimate(fn(oversample(x)))`` as block matrix products (``mats`` = the
    tensors of ``plan.up`` and ``plan.down``), tile by tile (:data:`TILE_BYTES` of
    high-rate samples: a few batch items and a range of blocks, with the halo the
    filters read recomputed), both ends continued by their edge samples at both
    rates. ``fn`` maps a stretch of the high-rate signal ``(b, C, L)`` in time order
    to the same shape, reading at most one earlier sample (its first output is never
    used unless the stretch starts the signal); its learnable tensors are ``params``.

    Shape: ``(B, C, T) -> (B, C, T)``.
    """
    record = torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad
                                                                  for p in params))
    return _BlockResampledApply.apply(x, mats, plan, fn, record, *params)


def interleave(phases: torch.Tensor, ratio: int) -> torch.Tensor:
    """``(B, C * r, T)`` phases -> ``(B, C, T * r)`` in time order."""
    b, rows, time = phases.shape
    return phases.view(b, rows // ratio, ratio, time).transpose(2, 3).reshape(
        b, rows // ratio, time * ratio)


def deinterleave(signal: torch.Tensor, ratio: int) -> torch.Tensor:
    """``(B, C, T * r)`` -> ``(B, C * r, T)`` phases (inverse of :func:`interleave`)."""
    b, channels, length = signal.shape
    return signal.view(b, channels, length // ratio, ratio).transpose(2, 3).reshape(
        b, channels * ratio, length // ratio)
