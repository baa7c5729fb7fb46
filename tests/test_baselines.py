"""The baselines: the simplest non-learned answer of every reference model,
checked against independent references (scipy's resampler, the mixture itself,
physical properties of Griffin-Lim), and scored by the same scorer as a model."""

import numpy as np
import pytest
import torch
from scipy.signal import firwin, resample_poly

from upsamplers.metrics import lsd, si_sdr, spectral_snr
from upsamplers.models import build_model
from upsamplers.models.baselines import griffin_lim, mel_to_magnitude, sinc_resample
from upsamplers.scoring import improvement, score_baseline

RATE = 16000


def sine(freq, seconds=1.0, rate=RATE):
    t = np.arange(int(seconds * rate)) / rate
    return np.sin(2 * np.pi * freq * t)


@pytest.mark.parametrize("up, down", [(4, 1), (1, 2), (3, 2), (2, 4)])
def test_sinc_resample_is_scipys_with_its_long_kaiser_filter(up, down):
    rng = np.random.default_rng(up * 10 + down)
    x = rng.standard_normal((2, 1, 777))
    g = np.gcd(up, down)
    u, d = up // g, down // g
    rate = max(u, d)
    taps = firwin(2 * 32 * rate + 1, 1.0 / rate, window=("kaiser", 9.0))
    expected = resample_poly(x, u, d, axis=-1, window=taps)
    got = sinc_resample(torch.from_numpy(x), up, down)
    assert got.shape == (2, 1, -(-777 * u // d))
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-12)


def test_the_bandwidth_baseline_keeps_the_low_band_and_adds_nothing_above():
    model = build_model("unet", "transposed", factor=4, width=4, depth=2, kernel_size=5)
    low = sine(700.0, 2.0) + 0.5 * sine(1500.0, 2.0)  # below the input's 2 kHz Nyquist
    full = torch.from_numpy(low + 0.3 * sine(5000.0, 2.0)).float()[None]
    estimate = model.baseline(model.degrade(full))
    assert estimate.shape == full.shape
    middle = slice(2000, -2000)  # away from the ends' transients
    error = estimate[0, middle].double().numpy() - low[middle]
    assert 10 * np.log10(np.mean(error ** 2) / np.mean(low[middle] ** 2)) < -60
    # nothing above the input's Nyquist: the 5 kHz line is gone
    spectrum = np.abs(np.fft.rfft(estimate[0, middle].double().numpy()))
    freqs = np.fft.rfftfreq(estimate[0, middle].shape[-1], 1 / RATE)
    assert spectrum[freqs > 2100].max() < 1e-3 * spectrum.max()


def test_the_separator_baseline_is_the_mixture_for_every_source():
    model = build_model("demucs", "transposed", width=4, depth=2, lstm_layers=0, sources=3,
                        source_names=["a", "b", "c"])
    rng = np.random.default_rng(0)
    sources = torch.from_numpy(rng.standard_normal((3, 1, 4000))).float()
    mixture = sources.sum(0)
    estimate = model.baseline(mixture)
    assert estimate.shape == (3, 1, 4000)
    for s in range(3):
        assert torch.equal(estimate[s], mixture)
    # scored by the scorer: the mean over sources of the mixture's SI-SDR against each
    scores = score_baseline(model, [("t", mixture, sources)])
    expected = np.mean([si_sdr(mixture.double().numpy(), sources[s].double().numpy())
                        for s in range(3)])
    assert scores.mean["si_sdr"] == pytest.approx(expected, abs=1e-4)


def test_the_autoencoder_baseline_is_a_code_as_large_as_its_bottleneck():
    model = build_model("autoencoder", "transposed", widths=[4, 8, 16], factor=4)
    # 16 channels at 1/64 of the rate for 1 audio channel: 1/4 of the numbers
    assert model.code_decimation() == 4
    assert build_model("autoencoder", "transposed", widths=[4, 64], factor=4
                       ).code_decimation() == 1
    passed, removed = sine(1000.0, 1.0), sine(3000.0, 1.0)  # code Nyquist 2 kHz
    estimate = model.baseline(torch.from_numpy(passed + removed)[None])
    middle = slice(2000, -2000)
    error = estimate[0, middle].numpy() - passed[middle]
    assert 10 * np.log10(np.mean(error ** 2) / np.mean(passed[middle] ** 2)) < -60
    identity = build_model("autoencoder", "transposed", widths=[4, 64], factor=4)
    x = torch.randn(1, 256)
    assert torch.equal(identity.baseline(x), x)


def test_mel_magnitudes_are_non_negative_and_fit_the_mel_better_than_their_start():
    model = build_model("melgan", "transposed", factors=[4, 4, 4], hidden=8,
                        residual_blocks=1, n_fft=256, n_mels=40)
    x = torch.from_numpy(sine(440.0) + 0.3 * sine(1320.0) + 0.01 * np.random.default_rng(1)
                         .standard_normal(RATE)).float()[None, None]
    log_mel = model.mel(x)
    a = model.mel.filters
    mel = torch.exp(log_mel)
    start = torch.clamp(torch.linalg.pinv(a) @ mel, min=0.0)
    mag = mel_to_magnitude(log_mel, a)
    assert mag.shape == (1, 129, log_mel.shape[-1]) and bool((mag >= 0).all())
    assert float((a @ mag - mel).norm()) < float((a @ start - mel).norm())


def test_griffin_lim_rebuilds_a_signal_whose_spectrum_matches():
    rng = np.random.default_rng(2)
    x = (sine(300.0) + 0.5 * sine(1250.0) + 0.2 * sine(3100.0)
         + 0.01 * rng.standard_normal(RATE)).astype(np.float32)
    n_fft, hop, pad = 256, 64, 96
    padded = torch.nn.functional.pad(torch.from_numpy(x)[None, None], (pad, pad),
                                     mode="reflect")[:, 0]
    magnitude = torch.stft(padded, n_fft, hop, window=torch.hann_window(n_fft), center=False,
                           return_complex=True).abs()
    frames = magnitude.shape[-1]
    y = griffin_lim(magnitude, n_fft, hop, pad=pad, length=frames * hop)
    assert y.shape == (1, frames * hop)
    assert torch.equal(y, griffin_lim(magnitude, n_fft, hop, pad=pad, length=frames * hop))
    # the magnitudes come back (phase-blind), far better than random phase alone
    again = spectral_snr(y.numpy(), x[None, :frames * hop]).item()
    first = spectral_snr(griffin_lim(magnitude, n_fft, hop, pad=pad, length=frames * hop,
                                     iterations=0).numpy(), x[None, :frames * hop]).item()
    assert again > 12 and again > first + 10  # 14.9 dB against 1.6 (random phase)


def test_the_vocoder_baseline_is_griffin_lim_from_its_mel():
    model = build_model("melgan", "transposed", factors=[4, 4, 4], hidden=8,
                        residual_blocks=1, n_fft=256, n_mels=40)
    x = torch.from_numpy(sine(440.0) + 0.3 * sine(880.0)).float()[None]
    estimate = model.baseline(x[..., :16000 - 7])
    assert estimate.shape == (1, (16000 - 7) // 64 * 64)
    assert spectral_snr(estimate.numpy(), x[..., :estimate.shape[-1]].numpy()).item() > 8


def test_improvement_is_signed_so_that_positive_is_better():
    assert improvement("si_sdr", 3.0, 1.0) == 2.0
    assert improvement("lsd", 1.0, 3.0) == 2.0  # lower is better
    assert improvement("snr", None, 1.0) is None
    assert improvement("snr", float("inf"), 1.0) is None
    # on a bandwidth baseline, the LSD is lower-is-better: the model's improvement is
    # the baseline's LSD minus its own
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal(4096), rng.standard_normal(4096)
    assert improvement("lsd", float(lsd(a, a + 0.01 * b, sample_rate=RATE)),
                       float(lsd(a, b, sample_rate=RATE))) > 0
