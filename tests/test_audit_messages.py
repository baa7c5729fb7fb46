"""audit() and lint(): messages that read right (issue 23, item 11).

Each test builds a small model of the shape that produced a wrong message and
checks the message against what the model does: no "(())" for no layers, no DC
share of an all-zero output, no empty list after a colon, tones counted as
distinct lines, lint advice that agrees with its phase column, and filtering and
replica verdicts that say they assume a waveform input."""

from __future__ import annotations

import torch

from upsamplers.analysis import audit

PROBES = ("ones", "silence", "noise", "tones")


class _Repeat(torch.nn.Module):
    """Upsamples by ``factor`` with no upsampling layer (``repeat_interleave``),
    times ``gain``: 0 gives an all-zero output."""

    def __init__(self, factor: int, gain: float = 1.0) -> None:
        super().__init__()
        self.factor, self.gain = factor, gain
        self.conv = torch.nn.Conv1d(1, 1, 1)  # an input channel count to read

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gain * x.repeat_interleave(self.factor, dim=-1)


def test_no_layer_found_is_said_in_words_not_as_an_empty_tuple() -> None:
    for factor in (2, 3):
        report = audit(_Repeat(factor), 8000.0 * factor, inputs=("ones",), seconds=0.25)
        text = report.to_markdown()
        assert "(())" not in text and "()" not in " ".join(report.notes)
        assert any("no upsampling layer was found" in n and f"one stage of {factor}" in n
                   for n in report.notes), report.notes
