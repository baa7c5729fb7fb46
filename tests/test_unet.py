"""The bandwidth extension task's model (``unet``, :class:`BandwidthUNet`): shapes,
exact chunking with an output rate ``factor`` times the input's, its data
pairing (anti-aliased decimation), its scoring (SNR, LSD) and a tiny
train + evaluate through the command line."""

import json
import math

import numpy as np
import pytest
import soundfile as sf
import torch
from scipy.signal import resample_poly

from upsamplers._checks import InvalidValue
from upsamplers.cli import main
from upsamplers.layers import upsampler_kinds
from upsamplers.metrics import lsd, snr
from upsamplers.models import (
    MODELS,
    BandwidthUNet,
    build_model,
    centre_chunks,
    load_model,
    overlap_add,
)
from upsamplers.models.unet import FixedSincUpsample, antialias_filter
from upsamplers.scoring import METRIC_INFO, primary_metric, score_model

pytestmark = pytest.mark.usefixtures("one_thread")

RATE = 16000


def _tiny(kind="subpixel", **options):
    torch.manual_seed(0)
    options = {"width": 4, "depth": 2, "length": 256, **options}
    return BandwidthUNet(kind, **options).eval()


@pytest.mark.parametrize("kind", upsampler_kinds())
@pytest.mark.parametrize(("factor", "depth"), [(4, 2), (2, 0), (3, 1)])
def test_shapes_and_gradients_for_every_upsampler_factor_and_depth(kind, factor, depth):
    model = _tiny(kind, factor=factor, depth=depth, length=factor * 2 ** depth * 8).train()
    assert (model.rate_ratio, model.hop, model.input_hop) == (factor, factor * 2 ** depth,
                                                              2 ** depth)
    for t in (model.length // factor, 7):  # any input length (padded inside, cropped)
        x = torch.randn(2, 1, t, requires_grad=True)
        y = model(x)
        assert y.shape == (2, 1, t * factor)
        y.square().mean().backward()
        assert x.grad is not None and torch.isfinite(x.grad).all()
    learned = [p for p in model.parameters() if p.requires_grad]
    assert learned and all(p.grad is not None for p in learned)
    assert model.example_input(3).shape == (3, 1, model.length // factor)


@pytest.mark.parametrize(("kind", "factor", "depth"),
                         [("subpixel", 4, 2), ("linear", 4, 3), ("sinc", 2, 1),
                          ("transposed", 3, 0)])
def test_chunked_processing_equals_one_whole_pass(kind, factor, depth):
    length = factor * 2 ** depth * 16
    model = _tiny(kind, factor=factor, depth=depth, audio_channels=2, length=length)
    audio = torch.randn(2, 1203)  # input samples (low rate)
    with torch.inference_mode():
        whole = model(audio[None])[0]
    context = model.chunk_context
    assert context >= model.receptive_field and context % model.input_hop == 0
    for chunk in (2 * context + 48, 2 * context + 240):  # steps of 48 and 240 samples
        chunked = model.process_long(audio, chunk=chunk)
        assert chunked.shape == (2, 1203 * factor)
        torch.testing.assert_close(chunked, whole, rtol=0, atol=1e-5)
    # one channel at a time through a mono model gives the same
    mono = _tiny(kind, factor=factor, depth=depth, length=length)
    folded = mono.process_long(audio, chunk=2 * mono.chunk_context + 96,
                               fold_channels=True)
    with torch.inference_mode():
        alone = mono(audio[:, None])[:, 0]
    torch.testing.assert_close(folded, alone, rtol=0, atol=1e-5)


@pytest.mark.parametrize("kind", ["subpixel", "transposed", "sinc"])
def test_the_receptive_field_matches_the_reach_measured_by_autograd(kind):
    """Independent of the span arithmetic: the input samples whose gradient is not
    zero for each output sample of one period (LeakyReLU: no gradient is exactly
    zero by chance)."""
    model = _tiny(kind).double()
    x = torch.randn(1, 1, 300, dtype=torch.float64, requires_grad=True)
    y = model(x)[0, 0]
    reach = 0
    for t in range(150 * 4, 150 * 4 + model.hop):
        (grad,) = torch.autograd.grad(y[t], x, retain_graph=True)
        read = grad[0, 0].nonzero().flatten()
        reach = max(reach, t // 4 - int(read.min()), int(read.max()) - t // 4)
    assert model.receptive_field - model.input_hop <= reach <= model.receptive_field


def test_rate_changing_chunking_against_a_plain_interpolation():
    """centre_chunks and overlap_add with ratio: a sample-and-hold x3 (no context
    needed) comes back exactly, whatever the chunking."""
    x = torch.randn(2, 101)

    def hold(z):
        return z.repeat_interleave(3, dim=-1)

    expected = hold(x)
    for chunk, context in ((10, 2), (20, 0), (200, 4)):
        got = centre_chunks(hold, x, chunk=chunk, context=context, ratio=3)
        torch.testing.assert_close(got, expected, rtol=0, atol=0)
    torch.testing.assert_close(overlap_add(hold, x, chunk=16, overlap=4, ratio=3), expected)
    # the other models keep ratio 1 (their chunked == whole tests: tests/test_chunking.py)
    ae = build_model("autoencoder", "nearest", widths=(4,), length=64)
    assert ae.rate_ratio == 1 and ae.input_hop == ae.hop
    assert ae.process_long(torch.randn(1, 300), chunk=64, overlap=16).shape == (1, 300)


def test_training_pair_decimates_behind_an_anti_alias_filter():
    model = _tiny(factor=4, depth=2, length=1024, sample_rate=RATE)
    t = torch.arange(8192, dtype=torch.float64) / RATE
    low = torch.sin(2 * math.pi * 1000 * t)  # below the input's Nyquist frequency (2 kHz)
    high = torch.sin(2 * math.pi * 2600 * t) + torch.sin(2 * math.pi * 7000 * t)
    batch = torch.stack([low, high, low + high])[:, None].float()  # (B, C, T)
    inputs, targets = model.training_pair(batch)
    assert inputs.shape == (3, 1, 2048) and targets is batch and not inputs.requires_grad
    middle = slice(256, -256)  # away from the zero padding at the ends
    # the band above fs / (2 * factor) is gone: 80 dB down (the filter's stop band)
    leak = inputs[1, 0, middle].double().pow(2).mean().sqrt() / math.sqrt(2 * 0.5)
    assert 20 * math.log10(leak) < -79
    # the band below passes unchanged and undelayed: sample n is the signal at 4n
    np.testing.assert_allclose(inputs[0, 0, middle], low[::4][middle], atol=2e-4)
    np.testing.assert_allclose(inputs[2, 0, middle], low[::4][middle], atol=3e-4)


def test_degrade_is_scipy_resample_poly_with_the_anti_alias_filter():
    model = _tiny(factor=4)
    audio = torch.randn(2, 3, 1001, dtype=torch.float64)
    fir = antialias_filter(4)
    assert fir.shape[0] % 2 == 1 and fir.sum() == pytest.approx(1.0)
    expected = resample_poly(audio.numpy(), 1, 4, axis=-1, window=fir)
    got = model.degrade(audio)
    assert got.shape == (2, 3, 251)
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-12)
    with pytest.raises(InvalidValue, match="floating-point"):
        model.degrade(torch.zeros(4, dtype=torch.int64))


def test_the_fixed_residual_path_is_a_sinc_interpolation_of_the_input():
    """With its learned part silenced, the model returns the input interpolated:
    a tone below the input's Nyquist frequency comes back at the full rate."""
    model = _tiny(factor=4, depth=2, sample_rate=RATE)
    with torch.no_grad():
        for p in model.output.parameters():
            p.zero_()
    t = torch.arange(16384, dtype=torch.float64) / RATE
    tone = torch.sin(2 * math.pi * 700 * t)[None].float()
    with torch.inference_mode():
        out = model(model.degrade(tone)[None])[0]
    middle = slice(2048, -2048)
    assert snr(out[:, middle], tone[:, middle]).item() > 40
    assert not any(p.requires_grad for p in model.residual.parameters())
    assert all(not name.startswith(("residual", "antialias")) for name in model.state_dict())


def test_configuration_errors_name_the_argument():
    with pytest.raises(InvalidValue, match="kernel_size must be odd"):
        BandwidthUNet(kernel_size=8)
    with pytest.raises(InvalidValue, match="factor"):
        BandwidthUNet(factor=1)
    with pytest.raises(InvalidValue, match="length must be a multiple of factor \\* 2 \\*\\* "
                                           "depth = 32; received length=100"):
        BandwidthUNet(length=100)


def test_checkpoint_round_trip_and_the_audited_upsampling_part(tmp_path):
    model = _tiny("transposed", factor=4, depth=2)
    again = load_model(model.save(tmp_path / "u.pt")).eval()
    x = torch.randn(1, 1, 64)
    with torch.inference_mode():
        torch.testing.assert_close(again(x), model(x), rtol=0, atol=0)
    probe = model.upsampling_part()
    assert probe(torch.randn(1, 16, 5)).shape == (1, 1, 5 * 4 * 4)


def test_it_declares_its_metrics_and_is_scored_on_the_degraded_signal():
    model = _tiny(sample_rate=RATE)
    assert model.metrics == ("snr", "lsd", "lsd_high") and primary_metric(model) == "snr"
    assert primary_metric(build_model("autoencoder", widths=(4,), length=64)) == "si_sdr"
    for metric in model.metrics + ("si_sdr", "sdr"):
        info = METRIC_INFO[metric]
        assert info.unit and info.description.endswith(".")
    assert not METRIC_INFO["lsd"].higher_is_better and METRIC_INFO["snr"].higher_is_better
    assert all(set(cls.metrics) <= set(METRIC_INFO) for cls in MODELS.values())
    g = torch.Generator().manual_seed(1)
    audio = [torch.randn(2, 3001, generator=g), torch.randn(1, 50, generator=g)]
    with pytest.warns(UserWarning, match="s1: 50 samples at 16000 Hz is shorter than"):
        scores = score_model(model, [(f"s{i}", x, x[None]) for i, x in enumerate(audio)])
    assert scores.metrics == model.metrics and set(scores.mean) == set(model.metrics)
    assert [t.track for t in scores.tracks] == ["s0"] and len(scores.skipped) == 1
    for track, x in zip(scores.tracks, audio[:1], strict=True):
        estimate = model(model.degrade(x)[:, None])[:, 0, :x.shape[-1]].detach()
        assert track.values["snr"] == pytest.approx(float(np.mean(snr(estimate, x))), abs=1e-4)
        assert track.values["lsd_high"] == pytest.approx(
            float(np.mean(lsd(estimate, x, sample_rate=RATE, band=(2000, 8000)))), abs=1e-3)
        assert math.isnan(track.si_sdr)
    assert scores.mean["lsd"] == pytest.approx(np.mean([t.values["lsd"] for t in scores.tracks]))
    assert scores.track_mean("snr") == pytest.approx(scores.mean["snr"])
    level = scores.output_level()
    assert level.finite


def test_train_then_evaluate_a_folder_through_the_command_line(tmp_path, capsys):
    rng = np.random.default_rng(0)
    data = tmp_path / "audio"
    data.mkdir()
    t = np.arange(4096) / RATE
    for i in range(3):
        tone = 0.3 * np.sin(2 * np.pi * (300 + 200 * i) * t) + 0.1 * np.sin(2 * np.pi * 3000 * t)
        sf.write(data / f"f{i}.wav", tone + 0.02 * rng.standard_normal(t.size), RATE)
    sf.write(data / "stereo_44k.wav", 0.1 * rng.standard_normal((2205, 2)), 44100)
    run = tmp_path / "run"
    assert main(["train", "--model", "unet", "--upsampler", "subpixel", "--model-option",
                 "width=4", "--model-option", "depth=2", "--steps", "2", "--batch-size", "2",
                 "--crop", "1024", "--data", str(data), "--out", str(run),
                 "--no-progress"]) == 0
    report = tmp_path / "eval.json"
    capsys.readouterr()
    assert main(["evaluate", "--checkpoint", str(run / "model.pt"), "--data", str(data),
                 "--audit-seconds", "0.25", "--out", str(report), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "BandwidthUNet (subpixel): mean SNR" in out and "LSD high" in out
    result = json.loads(report.read_text())
    assert result["metrics"] == ["snr", "lsd", "lsd_high"]
    assert result["metric_info"]["lsd"]["unit"] == "log10 power"
    assert len(result["tracks"]) == 4
    for track in result["tracks"]:
        assert all(np.isfinite(track[m]) for m in ("snr", "lsd", "lsd_high")), track
    assert all(np.isfinite(result["mean"][m]) for m in result["metrics"])


def test_reconstruct_gives_the_full_band_estimate_of_the_degraded_file(tmp_path):
    model = _tiny(sample_rate=RATE)
    checkpoint = model.save(tmp_path / "u.pt")
    audio = np.random.default_rng(2).standard_normal((1001, 2)) * 0.1
    sf.write(tmp_path / "in.wav", audio, RATE, subtype="FLOAT")
    assert main(["reconstruct", "--checkpoint", str(checkpoint), str(tmp_path / "in.wav"),
                 str(tmp_path / "out.wav"), "--no-progress"]) == 0
    out, rate = sf.read(tmp_path / "out.wav", dtype="float32")
    assert rate == RATE and out.shape == (1001, 2)
    x = torch.from_numpy(audio.T.astype(np.float32))
    with torch.inference_mode():
        expected = model(model.degrade(x)[:, None])[:, 0, :1001]
    np.testing.assert_allclose(out.T, expected.numpy(), atol=1e-4)  # written as 16-bit PCM


def test_fixed_sinc_upsample_converts_with_half_and_double():
    # its half length was an attribute named `half`, which hid nn.Module.half
    # ("'int' object is not callable")
    layer = FixedSincUpsample(2)
    x = torch.randn(1, 2, 9)
    want = layer(x)
    assert layer.double()(x.double()).dtype == torch.float64
    assert torch.equal(layer.float()(x), want)
    assert layer.half() is layer and layer(x.half()).dtype == torch.float16
    assert layer.half_length == (layer.taps.shape[0] - 1) // 2
