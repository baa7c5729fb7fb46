"""Upsampling that no module does: found from the lengths the layers see.

``lint`` finds upsampling *modules* (``ConvTranspose1d``, ``nn.Upsample``, this
package's layers). Foreign code also upsamples between modules: a subpixel
shuffle written with ``reshape``/``permute`` (Kuleshov et al.'s audio U-Net), an
``F.interpolate`` or ``repeat_interleave`` in a ``forward``, an iSTFT head
called as ``torch.istft``. Such a stage still leaves lines at multiples of its
input rate, and an audit that does not know it is there measures nothing there.

:func:`hidden_stages` runs the model once with every ``Conv1d`` /
``ConvTranspose1d`` hooked, in call order, and reads the jumps: a layer whose
input is ``r`` times (``r >= 2``, an integer) the output of the layer before it,
or a model output ``r`` times the last layer's, had a stage of factor ``r`` in
between. The stages are returned only when they form a chain that ends at the
model's output (every stage's input length times the factors after it is the
output length); otherwise there is no chain to search combs on.

Shape: the caller's ``run()`` takes the model's input ``(1, C_in, T)`` and returns
its output ``(1, C_out, T_out)``; lengths are read along the last axis.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class HiddenStage:
    """An upsampling by ``factor`` between layer ``after`` (``""``: the input) and
    layer ``before`` (``""``: the model's output); ``input_length`` samples in."""

    after: str
    before: str
    factor: int
    input_length: int

    def where(self) -> str:
        after = f"after `{self.after}`" if self.after else "at the input"
        before = f"before `{self.before}`" if self.before else "before the output"
        return f"x{self.factor} {after}, {before}"


def hidden_stages(model: Any, run: Callable[[], Any], input_length: int) -> list[HiddenStage]:
    """The upsampling stages between the 1-D convolutions of ``model`` (a
    ``torch.nn.Module``) in one call of ``run()`` on an input of ``input_length``
    samples, first first; ``[]`` when there is none or they do not chain to the
    output (see the module docstring)."""
    from torch import nn

    calls: list[tuple[str, int, int]] = []

    def hook(name: str) -> Callable[..., None]:
        def record(module: Any, inputs: Any, output: Any) -> None:
            if inputs and hasattr(inputs[0], "shape") and hasattr(output, "shape"):
                calls.append((name, int(inputs[0].shape[-1]), int(output.shape[-1])))
        return record

    handles = [m.register_forward_hook(hook(n)) for n, m in model.named_modules()
               if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d))]
    try:
        out = run()
    finally:
        for h in handles:
            h.remove()
    if not calls:  # no layer to place a stage by: the caller's one stage of the ratio
        return []
    out_len = int(out.shape[-1])
    seen = [("", input_length, input_length), *calls, ("", out_len, out_len)]
    stages = []
    for (after, _, prev_out), (before, next_in, _) in zip(seen, seen[1:], strict=False):
        if prev_out > 0 and next_in >= 2 * prev_out and next_in % prev_out == 0:
            stages.append(HiddenStage(after, before, next_in // prev_out, prev_out))
    for i, stage in enumerate(stages):
        if stage.input_length * math.prod(s.factor for s in stages[i:]) != out_len:
            return []
    return stages
