"""audit() and lint(): messages that read right (issue 23, item 11).

Each test builds a small model of the shape that produced a wrong message and
checks the message against what the model does: no "(())" for no layers, no DC
share of an all-zero output, no empty list after a colon, tones counted as
distinct lines, lint advice that agrees with its phase column, and filtering and
replica verdicts that say they assume a waveform input."""

from __future__ import annotations

import json
import math

import torch

from upsamplers.analysis import audit, lint
from upsamplers.analysis.linting import EQUAL_PHASES_DB

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


class _Stack(torch.nn.Module):
    """Two transposed convolutions with biases and a ReLU, ``in_channels`` in."""

    def __init__(self, in_channels: int = 1) -> None:
        super().__init__()
        self.a = torch.nn.ConvTranspose1d(in_channels, 8, 8, stride=4, padding=2)
        self.act = torch.nn.ReLU()
        self.b = torch.nn.ConvTranspose1d(8, 1, 4, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.act(self.a(x)))


def test_no_layer_found_is_said_in_words_not_as_an_empty_tuple() -> None:
    for factor in (2, 3):
        report = audit(_Repeat(factor), 8000.0 * factor, inputs=("ones",), seconds=0.25)
        text = report.to_markdown()
        assert "(())" not in text and "()" not in " ".join(report.notes)
        assert any("no upsampling layer was found" in n and f"one stage of {factor}" in n
                   for n in report.notes), report.notes


def test_all_zero_output_has_no_dc_share() -> None:
    for factor in (2, 4):
        report = audit(_Repeat(factor, gain=0.0), 4000.0 * factor, inputs=PROBES,
                       seconds=0.25)
        assert report.zero_outputs == list(PROBES)
        text = report.to_markdown()
        assert "dB re total" not in text
        assert text.count("The output is all zero") == 3
        # no nan/inf figures from a response over zero
        assert "nan" not in text and " inf " not in text
        assert report.verdicts["filtering"].status == "fail"
        assert "all zero" in report.verdicts["filtering"].message
        assert report.verdicts["replicas"].status == "n/a"
        assert "all zero" in report.verdicts["tonal"].message
        d = json.loads(report.to_json())
        assert d["zero_output_probes"] == list(PROBES)
        assert all(p["dc_db_re_total"] is None or p["dc_db_re_total"] == "-inf"
                   or p["dc_db_re_total"] == -math.inf for p in d["probes"].values())


def test_filtering_verdict_has_no_empty_list_after_a_colon() -> None:
    # factors (1,) (a model at its input rate): the only stage's input rate is the
    # output rate, above Nyquist, so no rate is listed; factor 2 and 3 list one
    for factor, gain in ((1, 1.0), (1, 0.5), (2, 1.0), (3, 1.0)):
        report = audit(_Repeat(factor, gain), 1000.0 * factor, inputs=("noise",),
                       seconds=0.5, factors=(factor,))
        message = report.verdicts["filtering"].message
        assert not message.rstrip().endswith(":"), message
        notches = report.filtering.notch_frequencies
        assert bool(notches) == (factor > 1)
        assert ("at the stage input rates" in message) == bool(notches), message


def test_tone_count_is_distinct_lines_and_names_the_probes() -> None:
    torch.manual_seed(0)
    report = audit(_Stack(), 16000.0, inputs=("ones", "silence", "noise"), seconds=0.5)
    verdict = report.verdicts["tonal"]
    assert verdict.status == "fail"
    found = {}
    for name, p in report.probes.items():
        for t in p.tones.found:
            if t.power > 0:
                found.setdefault(round(t.frequency, 6), set()).add(name)
    pairs = sum(len(v) for v in found.values())
    assert verdict.message.startswith(f"{len(found)} distinct tone"), verdict.message
    if pairs > len(found):
        probes = set().union(*found.values())
        assert f"seen {pairs} times over {len(probes)} probes" in verdict.message


def _equal_phase_stack(factor: int) -> torch.nn.Module:
    """A ReLU (offset) then a transposed convolution whose phases are equal (kernel =
    stride, all taps 1) with a bias."""
    up = torch.nn.ConvTranspose1d(1, 1, factor, stride=factor)
    with torch.no_grad():
        up.weight.fill_(1.0)
        up.bias.fill_(0.1)
    return torch.nn.Sequential(torch.nn.Conv1d(1, 1, 3, padding=1), torch.nn.ReLU(), up)


def test_lint_advice_agrees_with_the_phase_column() -> None:
    for factor in (2, 3, 4):
        report = lint(_equal_phase_stack(factor), 16000.0)
        (finding,) = report.findings
        assert finding.phase_spread_db is not None
        assert finding.phase_spread_db < EQUAL_PHASES_DB
        assert "| equal |" in report.to_markdown()
        advice = " ".join(finding.advice)
        assert "its unequal phases" not in advice and "unless the phases" not in advice
        assert "unequal DC gains" not in advice
        assert "its phases are equal" in advice
    torch.manual_seed(0)
    report = lint(_Stack(), 16000.0)
    for finding in report.findings:
        assert finding.phase_spread_db >= EQUAL_PHASES_DB
        advice = " ".join(finding.advice)
        assert "its unequal phases turn it into tones" in advice
        assert "its phases are equal" not in advice


def test_latent_decoder_filtering_and_replicas_say_they_assume_a_waveform() -> None:
    torch.manual_seed(0)
    for channels in (3, 64):
        report = audit(_Stack(channels), 16000.0, inputs=("noise", "tones"), seconds=0.5)
        for key in ("filtering", "replicas"):
            v = report.verdicts[key]
            assert v.status == "n/a", (channels, key, v)
            assert "assumes a waveform input" in v.message
            assert f"{channels} input channels" in v.message
            assert "measured:" in v.message
    # a mono or stereo waveform model keeps its verdicts
    for channels in (1, 2):
        report = audit(_Stack(channels), 16000.0, inputs=("noise", "tones"), seconds=0.5)
        for key in ("filtering", "replicas"):
            assert report.verdicts[key].status in ("pass", "warn", "fail")
            assert "waveform" not in report.verdicts[key].message
