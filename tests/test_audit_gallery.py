"""What lint and audit say about look-alikes of the architectures users run
(tests/gallery_models.py, the models of docs/audit-gallery.md), and the general
mechanisms they needed (issue 23): upsampling between modules found from the
lengths the layers see, dry runs that find a length the model runs on.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from gallery_models import GALLERY, SubPixelAudioUNet
from scipy import signal as sps
from torch import nn

from upsamplers.analysis import audit, lint
from upsamplers.analysis.stages import hidden_stages

PROBES = ("ones", "silence", "noise")

#: name -> (factors the audit searches, the model's rate ratio, tonal verdict)
EXPECTED = {
    "hifigan-like": ((8, 8, 2, 2), 256, "fail"),
    "bigvgan-like": ((4, 4, 2, 2, 2, 2), 256, "fail"),
    "encodec-like": ((8, 5, 4, 2), 320, "fail"),
    "dac-like": ((8, 8, 4, 2), 512, "fail"),
    # nearest interpolation has equal phases: no line, whatever the weights
    "wavegrad-like": ((5, 5, 3, 2, 2), 300, "pass"),
    "unet-at-input-rate": ((4, 4, 4, 4), 1, "fail"),
    # the STFT / iSTFT pair (hop 64) keeps the rate: lines every fs / 64 and fs / 4
    "hybrid-spectrogram": ((16, 4), 1, "fail"),
    "vocos-like": ((256,), 256, "fail"),
    "subpixel-audio-unet": ((2, 2, 2), 1, "fail"),
}


def _welch_peak_db(y: np.ndarray, fs: float, hop: int) -> float:
    """An estimate independent of the audit's: the strongest multiple of ``fs / hop``
    below Nyquist, in dB over the median of the bins within a third of the spacing."""
    nperseg = 32 * hop
    f, p = sps.welch(y, fs=fs, nperseg=nperseg, window="hann")
    p = p.mean(axis=0)
    best = -np.inf
    for k in range(1, hop // 2):
        i = 32 * k
        near = np.abs(np.arange(p.size) - i)
        floor = np.median(p[(near > 2) & (near <= 10)])
        best = max(best, float(10 * np.log10(p[i] / floor)))
    return best


def test_every_gallery_model_has_an_expectation():
    assert set(EXPECTED) == set(GALLERY)


@pytest.mark.parametrize("name", sorted(GALLERY))
def test_the_audit_measures_each_gallery_model_at_its_layers_rates(name):
    build, fs, _ = GALLERY[name]
    torch.manual_seed(0)
    model = build()
    report = audit(model, fs, inputs=PROBES, seconds=1.0)  # 0.5 s: vocos' comb unresolved
    factors, ratio, tonal = EXPECTED[name]
    assert (report.factors, report.ratio) == (factors, ratio)
    assert report.verdicts["tonal"].status == tonal
    lines = {round(t.frequency, 6) for p in report.probes.values() for t in p.tones.found}
    spacing = fs / factors[-1]  # the last stage's comb is the coarsest
    if tonal == "fail":
        assert any(abs(f / spacing - round(f / spacing)) < 1e-9 for f in lines)
        return
    # a pass: a plain Welch estimate on the output of other noise agrees
    x = torch.randn(1, report.in_channels, int(2 * fs / ratio),
                    generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        y = model(x)[0].numpy()
    assert _welch_peak_db(y, fs, int(np.prod(factors))) < 6.0


def test_an_stft_istft_pair_is_a_comb_and_a_downsampling_not_an_upsampler():
    build, fs, _ = GALLERY["hybrid-spectrogram"]
    linted = lint(build(), fs)
    assert [f.kind for f in linted.findings] == ["transposed", "istft"]
    assert linted.net_factor == 1.0 and "(its stft) stride 64" in linted.to_markdown()
    report = audit(build(), fs, inputs=PROBES, seconds=1.0)
    assert any("keeps the rate at the boundary" in n and "fs / 64, fs / 4" in n
               for n in report.notes)


def test_lint_reads_the_activations_of_the_transposed_vocoders():
    for name in ("hifigan-like", "bigvgan-like", "encodec-like"):
        build, fs, _ = GALLERY[name]
        report = lint(build(), fs)
        assert report.findings and all(f.activation_adds_offset for f in report.findings), name
    functional = lint(GALLERY["hifigan-like"][0](), 22050.0).findings
    assert all(f.activation_functional and "leaky_relu" in f.activation_before
               for f in functional)


class InterpolateDecoder(nn.Module):
    """Upsamples with ``F.interpolate`` between convolutions, with a bias: nearest
    interpolation keeps an offset DC, the convolutions after it do not make lines,
    but the audit must still know the stages are there."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv1d(1, 4, 3, padding=1)
        self.b = nn.Conv1d(4, 4, 3, padding=1)
        self.c = nn.Conv1d(4, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(torch.relu(self.a(x)), scale_factor=4)
        x = F.interpolate(torch.relu(self.b(x)), scale_factor=2)
        return self.c(x)


def test_hidden_stages_are_read_from_the_lengths_the_layers_see():
    model = InterpolateDecoder()
    x = torch.zeros(1, 1, 50)
    stages = hidden_stages(model, lambda: model(x), 50)
    assert [(s.after, s.before, s.factor) for s in stages] == [("a", "b", 4), ("b", "c", 2)]
    unet = SubPixelAudioUNet(depth=3)
    x = torch.zeros(1, 1, 64)
    stages = hidden_stages(unet, lambda: unet(x), 64)
    assert [s.factor for s in stages] == [2, 2, 2] and stages[-1].before == ""
    report = audit(model, 8000.0, inputs=PROBES, seconds=0.5)
    assert report.factors == (4, 2) and report.ratio == 8
    assert any("x4 after `a`, before `b`" in n for n in report.notes)


def test_lengths_that_do_not_chain_to_the_output_give_no_hidden_stage():
    class PadsThenTrims(nn.Module):  # the padding of a U-Net is not an upsampling
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv1d(1, 1, 3, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(F.pad(x, (0, 3 * x.shape[-1])))[..., :x.shape[-1]]

    model = PadsThenTrims()
    x = torch.zeros(1, 1, 64)
    assert hidden_stages(model, lambda: model(x), 64) == []


class NeedsLongInput(nn.Module):
    """Reflect-pads by 200 samples (an STFT front end): fails below 201 samples."""

    def __init__(self) -> None:
        super().__init__()
        self.up = nn.ConvTranspose1d(1, 1, 4, 2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.pad(x, (200, 200), mode="reflect")
        return self.up(y)[..., 400:-400]


class NeedsMultipleOf16(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.up = nn.ConvTranspose1d(1, 1, 4, 2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % 16:
            raise RuntimeError(f"length {x.shape[-1]} is not a multiple of 16")
        return self.up(x)


@pytest.mark.parametrize("model, step", [(NeedsLongInput(), 1), (NeedsMultipleOf16(), 16)])
def test_the_dry_run_finds_a_length_the_model_runs_on(model, step):
    torch.manual_seed(0)
    report = audit(model, 8000.0, inputs=PROBES, seconds=0.5)
    assert report.factors == (2,)
    assert (f"multiple of {step}" in " ".join(report.notes)) == (step > 1)
    assert report.output_seconds >= 0.5


def test_a_model_that_fails_on_every_length_is_one_line():
    class AlwaysFails(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv1d(1, 1, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise RuntimeError("broken\nsecond line")

    alike = r"^at 64, 1024 and 16384 input samples alike, could not run .* broken;"
    with pytest.raises(ValueError, match=alike):
        audit(AlwaysFails(), 8000.0, inputs=PROBES, seconds=0.5)


def test_odd_lengths_a_model_refuses_are_one_line():
    class EvenOnlyUpTo(nn.Module):  # runs on 64 only
        def __init__(self) -> None:
            super().__init__()
            self.up = nn.ConvTranspose1d(1, 1, 2, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.shape[-1] != 64:
                raise RuntimeError("only 64")
            return self.up(x)

    with pytest.raises(ValueError, match=r"fails on 64 \+ 1, 2, 4, \.\.\., 4096: RuntimeError"):
        audit(EvenOnlyUpTo(), 8000.0, inputs=PROBES, seconds=0.5)


@pytest.mark.parametrize("name", ["hifigan-like", "bigvgan-like", "encodec-like", "dac-like",
                                  "vocos-like", "wavegrad-like"])
def test_lines_finds_the_hop_in_what_the_gallery_decoders_output(name):
    """``find_combs`` on the output alone (what a user who cannot run the model has):
    the hop of every transposed or iSTFT decoder, none for interpolation."""
    from upsamplers.analysis import find_combs

    build, fs, _ = GALLERY[name]
    factors, ratio, tonal = EXPECTED[name]
    torch.manual_seed(0)
    model = build().eval()
    channels = next(m for m in model.modules() if isinstance(m, nn.Conv1d)).in_channels
    generator = torch.Generator().manual_seed(1)
    steps = torch.randn(1, channels, int(6 * fs / ratio), generator=generator)
    with torch.no_grad():  # smooth frames, like a mel or a latent sequence
        y = model(torch.cumsum(0.1 * steps, dim=-1))[0, 0].numpy()
    combs = find_combs(y, fs).combs
    if tonal == "pass":
        assert combs == []
    else:
        assert [c.hop for c in combs] == [ratio], combs


def test_the_audits_aliasing_probe_bounds_a_latent_decoders_output_by_its_own_channels():
    # 1024 latent channels, one output channel, by 512: the probe was refused
    # (1024 x ... x 512 samples counted on the output side)
    build, fs, _ = GALLERY["dac-like"]
    torch.manual_seed(0)
    report = audit(build(), fs, inputs=("aliasing",), seconds=0.25)
    assert report.aliasing is not None and report.aliasing.ratio == (512, 1)


def test_a_model_of_length_multiples_gets_a_note_instead_of_the_aliasing_probe():
    torch.manual_seed(0)
    report = audit(NeedsMultipleOf16(), 8000.0, inputs=("noise", "aliasing"), seconds=0.25)
    assert report.aliasing is None
    assert any(n.startswith("aliasing probe not run: the model runs only on multiples of 16")
               for n in report.notes)
