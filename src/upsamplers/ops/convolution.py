"""Execution: "same" convolutions and the fused low-rate convolution + shuffle.

:func:`polyphase_conv` runs an upsampler in polyphase form: one low-rate
convolution to ``C_out * r`` channels and a periodic shuffle in which each phase
may start at its own column (so each phase kernel keeps only the taps it needs),
a batch chunk at a time, with a hand-written backward.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from .._checks import InvalidValue


def same_padding(kernel_size: int) -> tuple[int, int]:
    """Zero padding ``(left, right)`` that keeps a stride-1 convolution's length.

    ``left = (kernel_size - 1) // 2`` and ``right = kernel_size - 1 - left``: for an
    even kernel the extra sample goes on the right, as in PyTorch's ``padding="same"``.
    """
    left = (kernel_size - 1) // 2
    return left, kernel_size - 1 - left


def conv1d_same(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """Stride-1 convolution with zero padding :func:`same_padding`.

    Shape:
        ``(B, C_in, T) -> (B, C_out, T)`` with ``weight`` of shape ``(C_out, C_in, K)``.
    """
    left, right = same_padding(weight.shape[-1])
    if left == right:
        return F.conv1d(x, weight, bias, padding=left)
    return F.conv1d(F.pad(x, (left, right)), weight, bias)


def _phase_groups(starts: Sequence[int]) -> list[tuple[int, int, int]]:
    """Runs of consecutive phases with the same start: ``(first, end, start)``."""
    groups: list[tuple[int, int, int]] = []
    for i, o in enumerate(starts):
        if groups and groups[-1][2] == o:
            groups[-1] = (groups[-1][0], i + 1, o)
        else:
            groups.append((i, i + 1, o))
    return groups


# Work on batches of about this many bytes of low-rate convolution output at a
# time: the intermediate stays in cache and is recycled by the allocator instead
# of being page-faulted in afresh on every call (large allocations are mmapped).
# Measured on a 2-core machine (B=8, C=64, T=4096, x4): 4 and 8 MB equally fast
# on one thread, 8 MB better on two (fewer parallel regions); unchunked ~1.4-1.9x slower.
CHUNK_BYTES = 1 << 23


def _chunks(batch: int, per_item: Any) -> list[tuple[int, int]]:
    if not isinstance(per_item, int) or torch.compiler.is_compiling():
        return [(0, batch)]  # traced with a symbolic length: one chunk, no shape guard
    step = max(1, min(batch, CHUNK_BYTES // max(1, per_item)))
    return [(b, min(batch, b + step)) for b in range(0, batch, step)]


def is_exporting() -> bool:
    """Whether ``torch.export`` is tracing (``False`` on a torch without the query)."""
    query = getattr(torch.compiler, "is_exporting", None)
    return bool(query()) if query is not None else False


def is_symbolic() -> bool:
    """Whether the call is traced (``torch.jit.trace``), exported or compiled: shapes
    may be symbolic, so a layer runs the form it chose for long inputs."""
    return torch.jit.is_tracing() or is_exporting() or torch.compiler.is_compiling()


class _PolyphaseConv(torch.autograd.Function):
    """Low-rate convolution, optional additions at two column ranges, and
    a periodic shuffle with per-phase starts, batch chunk by batch chunk, with a
    hand-written backward."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor,  # type: ignore[override]
                bias: torch.Tensor | None, head: torch.Tensor, tail: torch.Tensor,
                meta: tuple[Any, ...]) -> torch.Tensor:
        padding, starts, length, head_at, tail_at, groups = meta
        r = len(starts)
        batch = x.shape[0]
        rows = weight.shape[0]
        columns = x.shape[-1] + 2 * padding - weight.shape[-1] + 1
        out = x.new_empty(batch, rows // r, length, r)
        runs = _phase_groups(starts)
        spans = _chunks(batch, rows * columns * x.element_size())
        for b0, b1 in spans:
            z = F.conv1d(x[b0:b1], weight, bias, padding=padding, groups=groups)  # (b, C r, N)
            if head.shape[-1]:
                z[..., head_at: head_at + head.shape[-1]] += head[b0:b1]
            if tail.shape[-1]:
                z[..., tail_at: tail_at + tail.shape[-1]] += tail[b0:b1]
            z4 = z.view(b1 - b0, rows // r, r, columns)  # (b, C * r, N) -> (b, C, r, N)
            for first, end, start in runs:
                # (b, C, p, T) -> (b, C, T, p): phase i of block s is column s + starts[i]
                out[b0:b1, :, :, first:end].copy_(
                    z4[:, :, first:end, start: start + length].transpose(2, 3))
        ctx.save_for_backward(x, weight)
        ctx.meta = (meta, columns, bias is not None, head.shape[-1], tail.shape[-1], spans)
        return out.view(batch, rows // r, length * r)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:  # type: ignore[override]
        x, weight = ctx.saved_tensors
        meta, columns, has_bias, n_head, n_tail, spans = ctx.meta
        padding, starts, length, head_at, tail_at, groups = meta
        r = len(starts)
        batch, rows = x.shape[0], weight.shape[0]
        need_x, need_w, need_b, need_h, need_t = ctx.needs_input_grad[:5]
        g4 = grad.reshape(batch, rows // r, length, r)
        gx = torch.empty_like(x) if need_x else None
        gw = torch.zeros_like(weight) if need_w else None
        gb = weight.new_zeros(rows) if (need_b and has_bias) else None
        gh = grad.new_empty(batch, rows, n_head) if need_h else None
        gt = grad.new_empty(batch, rows, n_tail) if need_t else None
        runs = _phase_groups(starts)
        for b0, b1 in spans:
            gz = grad.new_empty(b1 - b0, rows // r, r, columns)
            for first, end, start in runs:
                gz[:, :, first:end, :start].zero_()
                gz[:, :, first:end, start + length:].zero_()
                gz[:, :, first:end, start: start + length].copy_(
                    g4[b0:b1, :, :, first:end].transpose(2, 3))
            gz = gz.view(b1 - b0, rows, columns)
            if gh is not None:
                gh[b0:b1] = gz[..., head_at: head_at + n_head]
            if gt is not None:
                gt[b0:b1] = gz[..., tail_at: tail_at + n_tail]
            if need_x or need_w or (need_b and has_bias):
                gx_c, gw_c, gb_c = torch.ops.aten.convolution_backward(
                    gz, x[b0:b1], weight, [rows] if has_bias else None, [1], [padding], [1],
                    False, [0], groups, [need_x, need_w, need_b and has_bias])
                if gx is not None:
                    gx[b0:b1] = gx_c
                if gw is not None:
                    gw += gw_c
                if gb is not None:
                    gb += gb_c
        return gx, gw, gb, gh, gt, None


def polyphase_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, *,
                   padding: int, starts: Sequence[int], length: int,
                   head: torch.Tensor | None = None, head_at: int = 0,
                   tail: torch.Tensor | None = None, tail_at: int = 0,
                   groups: int = 1) -> torch.Tensor:
    """Low-rate convolution and shuffle in one pass: with
    ``z = conv1d(x, weight, bias, padding=padding, groups=groups)``, then
    ``z[..., head_at:][..., :a] += head`` and ``z[..., tail_at:][..., :b] += tail`` (the
    ranges may overlap), the result is the periodic shuffle in which each phase starts
    at its own column,
    ``y[b, c, s * r + i] = z[b, c * r + i, s + starts[i]]`` for ``0 <= s < length``
    (with ``starts`` all zero and ``length = N`` it is
    :func:`~upsamplers.ops.periodic_shuffle`). Computed a batch chunk at a time
    (see :data:`CHUNK_BYTES`) so that ``z`` never exists in full; differentiable
    with respect to ``x``, ``weight``, ``bias``, ``head`` and ``tail``.

    Shape:
        ``x`` ``(B, C_in, T)``, ``weight`` ``(C_out * r, C_in / groups, E)`` (row ``c * r + i``;
        with ``groups = C_out`` each output channel's ``r`` phases read its own ``C_in / C_out``
        input channels),
        ``head`` ``(B, C_out * r, a)``, ``tail`` ``(B, C_out * r, b)``
        ``-> (B, C_out, length * r)`` with ``r = len(starts)``.
    """
    starts = tuple(int(o) for o in starts)
    columns = x.shape[-1] + 2 * int(padding) - weight.shape[-1] + 1
    if weight.shape[0] % len(starts) != 0:
        raise InvalidValue(f"the rows of weight must be divisible by {len(starts)} (the number "
                           f"of starts); received weight of shape {tuple(weight.shape)}")
    # a symbolic length (torch.export) or a traced one (torch.jit.trace) is not checked
    if not isinstance(length, (torch.SymInt, torch.Tensor)) and (
            min(starts) < 0 or max(starts) + length > columns):
        raise InvalidValue(f"starts + length must lie within the {columns} columns of the "
                           f"low-rate convolution; received starts={starts}, length={length}")
    meta = (int(padding), starts, length, head_at, tail_at, int(groups))
    if torch.jit.is_tracing() or is_exporting():
        # torch.jit.trace (and the legacy ONNX exporter, which traces) records no
        # autograd.Function; the same function in plain operations traces, with T dynamic.
        # torch.export (and the ONNX exporter of torch 2.x) takes it too: the Function's
        # copies into slices of one output become scatters, which onnxruntime runs slowly.
        return _polyphase_plain(x, weight, bias, head, tail, meta)
    empty = x.new_zeros(x.shape[0], weight.shape[0], 0)
    head = empty if head is None else head
    tail = empty if tail is None else tail
    return _PolyphaseConv.apply(x, weight, bias, head, tail, meta)


def _polyphase_plain(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                     head: torch.Tensor | None, tail: torch.Tensor | None,
                     meta: tuple[Any, ...]) -> torch.Tensor:
    """:func:`polyphase_conv` in plain differentiable operations, the whole batch at
    once (the same convolution and additions, so the same numbers): what
    ``torch.jit.trace`` records."""
    padding, starts, length, head_at, tail_at, groups = meta
    r = len(starts)
    rows = weight.shape[0]
    z = F.conv1d(x, weight, bias, padding=padding, groups=groups)  # (B, C * r, N)
    # added out of place: an in-place add into a slice exports as a scatter with
    # transposes of the whole of z (3x slower in onnxruntime, measured)
    if head is not None:
        z = _add_at(z, head, head_at)
    if tail is not None:
        z = _add_at(z, tail, tail_at)
    z4 = z.reshape(x.shape[0], rows // r, r, z.shape[-1])  # (B, C * r, N) -> (B, C, r, N)
    parts = [z4[:, :, first:end, start: start + length]
             for first, end, start in _phase_groups(starts)]
    # (B, C, r, T) -> (B, C, T, r) -> (B, C, T * r)
    out = torch.cat(parts, dim=2).transpose(2, 3)
    return out.reshape(x.shape[0], rows // r, -1)


def _add_at(z: torch.Tensor, terms: torch.Tensor, at: Any) -> torch.Tensor:
    """``z`` with ``terms`` added to columns ``at .. at + n - 1``:
    ``(B, R, N) + (B, R, n) -> (B, R, N)``."""
    end = at + terms.shape[-1]
    return torch.cat([z[..., :at], z[..., at:end] + terms, z[..., end:]], dim=-1)
