"""Models whose upsampling layers do not set their output rate (issue 23, item 1).

A U-Net that returns its input rate has a decoder of transposed convolutions
whose lines sit at multiples of each layer's own input rate, whatever the
model's overall rate ratio. Before, ``audit`` refused its 4-D output, said "the
model does not upsample" once wrapped, and with ``factors=1`` read "tonal: pass"
while an independent Welch estimate on the same output found lines 10-30 dB
above the floor; ``lint`` called its 4096 the "Total upsampling factor". A tonal
pass now needs every found layer's lines searched.
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from gallery_models import RateKeepingUNet
from scipy import signal as sps
from torch import nn

from upsamplers.analysis import audit, lint
from upsamplers.cli import main

FS = 16000.0
PROBES = ("ones", "silence", "noise")


class BranchUpsampler(nn.Module):
    """Keeps the rate, with a transposed convolution on a branch that pooling
    brings back: the layer runs at twice the output rate, off any chain that
    ends at the output."""

    def __init__(self) -> None:
        super().__init__()
        self.up = nn.ConvTranspose1d(1, 1, 4, 2, padding=1)
        self.down = nn.AvgPool1d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.down(torch.relu(self.up(x)))


def _equal_phase_stack(factors: tuple[int, ...]) -> nn.Sequential:
    """Transposed convolutions with every phase's kernel the same (nearest), no bias:
    no line at all."""
    layers = []
    for r in factors:
        layer = nn.ConvTranspose1d(1, 1, r, r, bias=False)
        nn.init.ones_(layer.weight)
        layers.append(layer)
    return nn.Sequential(*layers)


def _welch_lines_db(y: np.ndarray, fs: float, spacing: float) -> list[float]:
    """An estimate independent of the audit's: the level (dB) of every multiple of
    ``spacing`` below Nyquist over the median of the bins within +-spacing/3."""
    nperseg = int(round(fs / spacing)) * 64
    f, p = sps.welch(y, fs=fs, nperseg=nperseg, window="hann")
    p = p.mean(axis=0) if p.ndim > 1 else p
    out = []
    for k in range(1, int(fs / 2 / spacing) + 1):
        i = int(round(k * spacing / (fs / nperseg)))
        near = np.abs(np.arange(p.size) - i)
        floor = np.median(p[(near > 2) & (near <= nperseg * spacing / fs / 3)])
        out.append(float(10 * np.log10(p[i] / floor)))
    return out


def test_a_unet_at_its_input_rate_is_measured_at_its_layers_rates_and_fails():
    torch.manual_seed(0)
    model = RateKeepingUNet(depth=3, stride=4)
    report = audit(model, FS, inputs=PROBES, seconds=2.0)
    assert report.ratio == 1 and report.factors == (4, 4, 4)
    assert report.input_rate == FS
    assert report.verdicts["tonal"].status == "fail"
    found = {t.frequency for t in report.probes["noise"].tones.found}
    # the last layer's comb (every FS / 4) is in the noise output, as a plain
    # Welch estimate of the same model's output on other noise also shows
    assert FS / 4 in found
    x = torch.randn(1, 2, int(2 * FS), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        y = model(x)[0].reshape(-1, x.shape[-1]).numpy()
    assert _welch_lines_db(y, FS, FS / 4)[0] > 6.0
    assert "output" in report.to_markdown() and "(1, 2, 2, " in " ".join(report.notes)


@pytest.mark.parametrize("factors", [None, 1, (1,)])
def test_given_factors_do_not_hide_the_layers_a_rate_keeping_model_has(factors):
    torch.manual_seed(1)
    report = audit(RateKeepingUNet(depth=2, stride=2), FS, factors=factors, inputs=PROBES,
                   seconds=1.0)
    assert report.factors == (2, 2) and report.ratio == 1
    assert report.verdicts["tonal"].status == "fail"
    assert any("multiply to 4" in n for n in report.notes)


def test_a_layer_off_the_output_chain_cannot_pass():
    torch.manual_seed(2)
    report = audit(BranchUpsampler(), FS, inputs=PROBES, seconds=1.0)
    assert report.unsearched and "`up`" in report.unsearched[0]
    assert report.verdicts["tonal"].status != "pass"


def test_a_comb_finer_than_the_resolution_cannot_pass():
    # no line anywhere, but the first stage's comb (every 8000 / 512 Hz) is not
    # resolved by a quarter-second probe: not searched, so not a pass
    short = audit(_equal_phase_stack((8, 8, 8)), 8000.0, inputs=PROBES, seconds=0.25)
    assert short.verdicts["tonal"].status == "warn"
    assert "finer than the resolution" in short.verdicts["tonal"].message
    full = audit(_equal_phase_stack((8, 8, 8)), 8000.0, inputs=PROBES, seconds=8.0)
    assert full.verdicts["tonal"].status == "pass" and not full.unsearched


def test_a_rate_keeping_model_without_upsampling_layers_is_not_a_pass():
    model = nn.Conv1d(1, 1, 3, padding=1)
    with pytest.raises(ValueError, match="does not upsample"):
        audit(model, FS, inputs=PROBES, seconds=0.5)
    report = audit(model, FS, factors=1, inputs=PROBES, seconds=0.5)
    assert report.verdicts["tonal"].status == "n/a"


@pytest.mark.parametrize("shape", ["2d", "4d", "5d"])
def test_outputs_of_two_to_five_dimensions_are_read_as_channels(shape):
    class Shaped(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.up = nn.ConvTranspose1d(1, 4, 4, 2, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.up(x)
            if shape == "2d":
                return y.sum(dim=1)
            return y.reshape(1, 2, 2, -1) if shape == "4d" else y.reshape(1, 2, 1, 2, -1)

    torch.manual_seed(3)
    report = audit(Shaped(), FS, inputs=PROBES, seconds=0.5)
    assert report.factors == (2,)
    assert report.probes["noise"].tones.spectrum is not None


def test_lint_counts_the_downsampling_of_a_unet():
    report = lint(RateKeepingUNet(depth=6, stride=4), 44100.0)
    assert report.total_factor == 4096 and report.net_factor == 1.0
    assert [d[2] for d in report.downsampling] == [4] * 6
    text = report.to_markdown()
    assert "Total upsampling factor" not in text
    assert "net factor 1" in text and "divide by 4096" in text
    # the last layer outputs at the model's rate: its lines every 44100 / 4
    assert report.findings[-1].tone_spacing == 44100.0 / 4
    assert report.to_dict()["net_factor"] == 1.0


class FunctionalDecoder(nn.Module):
    """HiFi-GAN-like: the activation is a function its forward() calls."""

    def __init__(self) -> None:
        super().__init__()
        self.ups = nn.ModuleList([nn.ConvTranspose1d(8, 8, 8, 4, padding=2) for _ in range(2)])


class LeakyDecoder(FunctionalDecoder):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for up in self.ups:
            x = F.leaky_relu(x, 0.1)
            x = up(x)
        return x


class InlineSnakeDecoder(FunctionalDecoder):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for up in self.ups:
            x = up(x + torch.sin(x) ** 2)
        return x


class GeluMethodDecoder(FunctionalDecoder):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for up in self.ups:
            x = up(torch.nn.functional.gelu(x))
        return x


@pytest.mark.parametrize("decoder", [LeakyDecoder, InlineSnakeDecoder, GeluMethodDecoder])
def test_lint_flags_functional_activations_that_add_an_offset(decoder):
    report = lint(decoder(), 16000.0)
    for f in report.findings:
        assert f.activation_adds_offset and f.activation_functional
        assert f.activation_mean is not None and f.activation_mean > 0.1
        assert any("forward() calls" in a for a in f.advice)


class OddFunctionalDecoder(FunctionalDecoder):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for up in self.ups:
            x = up(torch.tanh(F.softsign(x)))
        return x


def test_lint_does_not_flag_an_odd_functional_activation():
    report = lint(OddFunctionalDecoder(), 16000.0)
    assert all(not f.activation_adds_offset for f in report.findings)


def test_cli_lint_prints_the_net_factor(tmp_path, capsys):
    factory = tmp_path / "unet.py"
    factory.write_text("import torch\nimport torch.nn.functional as F\nfrom torch import nn\n\n"
                       + inspect.getsource(RateKeepingUNet)
                       + "\n\ndef build():\n    return RateKeepingUNet(3, 4)\n")
    assert main(["lint", f"{factory}:build", "--sample-rate", "16000"]) == 0
    out = capsys.readouterr()
    assert "net factor 1" in out.out and "warning" not in out.err


@pytest.mark.parametrize("name", ["autoencoder", "demucs", "unet", "melgan"])
def test_this_packages_reference_models_are_read_layer_by_layer(name):
    """A reference model has an integer ``factor`` (its stages'): it was linted as
    one "upsampler" unit of that factor, hiding its layers; the audit then
    crashed (autoencoder: a length its encoder refuses; demucs: a 4-D output)."""
    from upsamplers.models import build_model

    torch.manual_seed(0)
    model = build_model(name)
    report = lint(model, 44100.0)
    assert report.findings and all(f.name for f in report.findings)  # none is the model
    audited = audit(model, 44100.0, inputs=PROBES, seconds=0.5)
    hooked = tuple(f.factor for f in report.findings)
    assert audited.factors == hooked and math.prod(hooked) >= audited.ratio >= 1
    assert audited.verdicts["tonal"].status in ("fail", "warn")
