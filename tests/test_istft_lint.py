"""lint and audit on inverse-STFT heads: this package's ``ISTFTUpsample1d`` and foreign
heads built here as look-alikes of the Vocos / WavTokenizer ``ISTFT`` module (a
module whose forward calls ``torch.istft`` with its ``hop_length``)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from upsamplers import make_upsampler
from upsamplers.analysis import audit, lint

pytestmark = pytest.mark.usefixtures("one_thread")


class ISTFT(nn.Module):
    """``(B, N // 2 + 1, T)`` complex -> ``(B, T * hop)`` by ``torch.istft``."""

    def __init__(self, n_fft: int, hop_length: int) -> None:
        super().__init__()
        self.n_fft, self.hop_length = n_fft, hop_length
        self.register_buffer("window", torch.hann_window(n_fft))

    def forward(self, spec):
        return torch.istft(spec, self.n_fft, self.hop_length, window=self.window, center=True,
                           length=spec.shape[-1] * self.hop_length)


class PolarHead(nn.Module):
    """Vocos' head: a pointwise convolution to log-magnitude and phase, ``exp`` clipped,
    ``cos``/``sin``, then a child ``ISTFT`` (called as ``self.istft(...)``)."""

    def __init__(self, dim: int, n_fft: int, hop: int) -> None:
        super().__init__()
        self.out = nn.Conv1d(dim, n_fft + 2, 1)
        self.istft = ISTFT(n_fft, hop)

    def forward(self, x):
        mag, phase = self.out(x).chunk(2, dim=1)
        spec = torch.exp(mag).clip(max=1e2) * torch.exp(1j * phase)
        return self.istft(spec)[:, None]  # (B, 1, T * hop)


class Decoder(nn.Module):
    """A transposed convolution by ``first`` at the frame rate, then a head whose own
    forward calls ``torch.istft`` with ``self.hop`` (registered first: it is the root)."""

    def __init__(self, first: int, n_fft: int, hop: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose1d(2, 8, 2 * first, stride=first, padding=first // 2)
        self.proj = nn.Conv1d(8, n_fft + 2, 3, padding=1)
        self.n_fft, self.hop = n_fft, hop

    def forward(self, x):
        real, imag = self.proj(torch.tanh(self.up(x))).chunk(2, dim=1)
        spec = torch.complex(real, imag)
        y = torch.istft(spec, self.n_fft, self.hop, window=torch.hann_window(self.n_fft),
                        center=True, length=spec.shape[-1] * self.hop)
        return y[:, None]


class LiteralHop(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Conv1d(1, 18, 1)

    def forward(self, x):
        real, imag = self.proj(x).chunk(2, dim=1)
        return torch.istft(torch.complex(real, imag), 16, 4, window=torch.hann_window(16),
                           length=x.shape[-1] * 4)[:, None]


@pytest.mark.parametrize(("hop", "n_fft"), [(4, 16), (8, 32), (5, 20)])
def test_a_foreign_head_is_an_istft_stage_with_its_hop(hop, n_fft):
    torch.manual_seed(hop)
    model = nn.Sequential(nn.Conv1d(1, 6, 3, padding=1), nn.GELU(), PolarHead(6, n_fft, hop))
    report = lint(model, 16000.0)
    assert [(f.name, f.kind, f.factor) for f in report.findings] == [("2.istft", "istft", hop)]
    assert report.total_factor == hop and report.notes == []
    (finding,) = report.findings
    assert finding.input_rate == 16000 / hop and finding.tone_spacing == 16000 / hop
    audited = audit(model, 16000.0, seconds=0.5, inputs=("silence", "ones"))
    assert audited.factors == (hop,)
    assert not any("no upsampling layer" in note for note in audited.notes)


def test_a_head_in_the_models_own_forward_comes_after_the_layers_inside_it():
    torch.manual_seed(0)
    model = Decoder(2, 16, 4)
    report = lint(model, 16000.0)
    assert [(f.name, f.kind, f.factor) for f in report.findings] == [
        ("up", "transposed", 2), ("", "istft", 4)]
    assert [f.input_rate for f in report.findings] == [2000.0, 4000.0]
    audited = audit(model, 16000.0, seconds=0.5, inputs=("silence", "noise"), in_channels=2)
    assert audited.factors == (2, 4)
    assert {o.stage for o in audited.offsets} == {1, 2}


def test_a_head_without_a_hop_attribute_has_an_unknown_factor():
    report = lint(LiteralHop(), 16000.0)
    assert [(f.kind, f.factor) for f in report.findings] == [("istft", None)]
    assert any("no hop attribute (hop_length, hop, hop_size)" in a
               for a in report.findings[0].advice)
    assert report.notes == ["some factors are unknown, so the tone frequencies are not computed"]


def test_no_upsampler_says_so_and_not_that_factors_are_unknown():
    report = lint(nn.Sequential(nn.Conv1d(1, 1, 3), nn.ReLU()), 16000.0)
    assert report.findings == [] and report.notes == []
    assert "No upsampling layer found." in report.to_markdown()
    assert "unknown" not in report.to_markdown()


def test_this_packages_istft_layer_is_linted_and_audited_with_its_phases():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(1, 4, 3, padding=1),
                          make_upsampler("istft", 4, 1, 4, bias=True))
    report = lint(model, 16000.0)
    (finding,) = report.findings
    assert (finding.kind, finding.factor, finding.bias) == ("istft", 4, True)
    assert finding.phase_spread_db is not None and finding.phase_spread_db > -80
    assert any("no initialiser equalises an iSTFT head" in a for a in finding.advice)
    audited = audit(model[1], 16000.0, seconds=1.0, inputs=("ones",))
    assert audited.factors == (4,)
    assert audited.predicted, "the phase kernels of the layer are readable"
    for comparison in audited.predicted:
        assert abs(comparison.difference_db) <= 1.0, comparison
