"""What :func:`~upsamplers.swap` did: the replaced layers, those left alone and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import nn


@dataclass
class SwapEntry:
    """One replaced layer.

    Attributes:
        name: its qualified name (the first place it is registered).
        also: the other places the same module was registered (all replaced by the
            one new module).
        old: the replaced module's class name.
        factor: its upsampling factor.
        kernel_size: its kernel size, ``None`` when it has none (``nn.Upsample``).
        extra: its output length minus ``T * factor`` (kept by the replacement).
        left, right: samples the :class:`LengthMatched` adds (negative: drops) before
            and after the new layer's ``T * factor``.
        in_channels, out_channels: kept.
        calls: times it was called in the check runs.
        new: the new kind.
    """

    name: str
    old: str
    factor: int
    kernel_size: int | None
    extra: int
    left: int
    right: int
    in_channels: int
    out_channels: int
    calls: int
    new: str
    also: list[str] = field(default_factory=list)


@dataclass
class SwapReport:
    """What :func:`swap` did.

    Attributes:
        model: the swapped model (a deep copy, or the input model itself when
            ``inplace=True``).
        kind, options: the new layers' kind and options.
        replaced: one :class:`SwapEntry` per replaced layer, first registered first.
        skipped: ``(name, reason)`` for every upsampling layer left as it was.
        parameters_before, parameters_after: learnable parameters of the model.
        lengths: input lengths at which both models ran.
        output_shapes: the model's output shapes at those lengths (the same before and after).
        notes: anything else to know.
    """

    model: nn.Module
    kind: str
    options: dict[str, Any]
    replaced: list[SwapEntry] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    parameters_before: int = 0
    parameters_after: int = 0
    lengths: list[int] = field(default_factory=list)
    output_shapes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_markdown(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        lines = [f"# Swap: {type(self.model).__name__} -> {self.kind}"
                 f"{f' ({opts})' if opts else ''}", "",
                 f"Replaced {len(self.replaced)} upsampling layer(s)."]
        if self.replaced:
            lines += ["", "| layer | was | factor | kernel | output length | channels | "
                      "now | left, right |", "|---|---|---:|---:|---|---|---|---|"]
            for e in self.replaced:
                where = f"`{e.name}`" + "".join(f", `{a}`" for a in e.also)
                length = f"{e.factor}T" + (f" {'+' if e.extra > 0 else '-'} {abs(e.extra)}"
                                           if e.extra else "")
                lines.append(f"| {where} | {e.old} | {e.factor} | {e.kernel_size or ''} | "
                             f"{length} | {e.in_channels} -> {e.out_channels} | {e.new} | "
                             f"{e.left:+d}, {e.right:+d} |")
        if self.skipped:
            lines += ["", f"Skipped {len(self.skipped)}:", ""]
            lines += [f"- `{name or '(model)'}`: {why}" for name, why in self.skipped]
        change = self.parameters_after - self.parameters_before
        lines += ["", f"Parameters: {self.parameters_before:,} -> {self.parameters_after:,} "
                  f"({change:+,})."]
        if self.lengths:
            lines.append(f"Checked: the model's output shape is unchanged for input lengths "
                         f"{', '.join(map(str, self.lengths))} "
                         f"({'; '.join(self.output_shapes)}).")
        lines += [f"- note: {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.to_markdown()
