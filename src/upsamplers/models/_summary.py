"""The layer table of :meth:`ReferenceModel.summary`."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def _upsampler_base() -> type[nn.Module]:
    from .. import layers

    # the public base when the layers have one, else the shared private one
    return getattr(layers, "Upsampler", None) or layers._Upsampler


def _is_unit(module: nn.Module, upsampler: type[nn.Module]) -> bool:
    """Shown as one row: an upsampler, an LSTM, a module that asks for it, a leaf."""
    return (isinstance(module, (upsampler, nn.LSTM))
            or getattr(module, "summary_unit", False) or not any(module.children()))


def _collect(model: nn.Module, batch: int
             ) -> tuple[list[tuple[str, str, str, int]], torch.Tensor, torch.Tensor]:
    """Rows ``(name, type, output shape, parameters)`` from one forward pass of
    ``model.example_input(batch)``, and that input and output."""
    upsampler = _upsampler_base()
    rows: list[tuple[str, str, str, int]] = []
    hooks = []

    def record(name: str) -> Any:
        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            out = output[0] if isinstance(output, tuple) else output
            shape = "x".join(str(s) for s in out.shape)
            rows.append((name, type(module).__name__, shape,
                         sum(p.numel() for p in module.parameters())))
        return hook

    def visit(prefix: str, module: nn.Module) -> None:
        for name, child in module.named_children():
            full = f"{prefix}.{name}" if prefix else name
            if _is_unit(child, upsampler):
                hooks.append(child.register_forward_hook(record(full)))
            else:
                visit(full, child)

    visit("", model)
    try:
        with torch.no_grad():
            x = model.example_input(batch)  # type: ignore[operator]
            y = model(x)
    finally:
        for h in hooks:
            h.remove()
    return rows, x, y


def summary_table(model: nn.Module, batch: int = 1) -> str:
    """A table of the layers of ``model``, their output shapes and parameter
    counts, for ``model.example_input(batch)``."""
    rows, x, y = _collect(model, batch)
    out_shape = "x".join(str(s) for s in y.shape)
    in_shape = "x".join(str(s) for s in x.shape)
    width = max([len(r[0]) for r in rows] + [5])
    twidth = max([len(r[1]) for r in rows] + [4])
    swidth = max([len(r[2]) for r in rows] + [12])
    lines = [f"{type(model).__name__}: input {in_shape} -> output {out_shape}",
             f"{'layer':<{width}}  {'type':<{twidth}}  {'output shape':<{swidth}}  "
             f"{'parameters':>10}"]
    lines.append("-" * len(lines[-1]))
    for name, kind, shape, params in rows:
        lines.append(f"{name:<{width}}  {kind:<{twidth}}  {shape:<{swidth}}  {params:>10,}")
    lines.append(f"total parameters: {sum(p.numel() for p in model.parameters()):,}")
    return "\n".join(lines)
