"""The vocoder task of ``compare``: a MelGAN-like generator with plain and
anti-aliased activations, scored on STFT magnitudes, with the AHR of each trained
model in the report."""

import json
import math

import numpy as np
import pytest
import soundfile as sf
import torch
from tiny_runs import RATE, audio_folder
from torch import nn

from upsamplers import make_upsampler
from upsamplers._checks import InvalidType, InvalidValue, UserFileError
from upsamplers.activations import AntiAliasedActivation1d, SnakeBeta1d
from upsamplers.cli import get_parser, main
from upsamplers.compare import TASKS, VARIANTS, CompareConfig, compare
from upsamplers.compare.aliasing import _measure_ahr, ahr_f0_bins, model_aliasing
from upsamplers.compare.pipeline import _collected_config, _variant_of
from upsamplers.metrics import snr, spectral_snr
from upsamplers.models import MelGANLike, load_model, model_from_checkpoint
from upsamplers.train import Task

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = dict(factors=(2, 2), hidden=8, residual_blocks=2, n_fft=8, n_mels=4, length=64)


# ---- the model


class _StackBefore(nn.Module):
    """MelGAN's residual stack as it was written: LeakyReLU(0.2) throughout."""

    def __init__(self, width, blocks):
        super().__init__()
        self.blocks = nn.ModuleList(nn.Sequential(
            nn.LeakyReLU(0.2), nn.ReflectionPad1d(3 ** i),
            nn.Conv1d(width, width, 3, dilation=3 ** i), nn.LeakyReLU(0.2),
            nn.Conv1d(width, width, 1)) for i in range(blocks))

    def forward(self, x):
        for block in self.blocks:
            x = x + block(x)
        return x


def _melgan_before(upsampler, factors, hidden, residual_blocks, n_mels):
    """The generator as MelGANLike built it before its activations could change:
    LeakyReLU(0.2) before each upsampler, in the residual stacks and the last."""
    layers = [nn.ReflectionPad1d(3), nn.Conv1d(n_mels, hidden, 7)]
    width = hidden
    for factor in factors:
        layers += [nn.LeakyReLU(0.2), make_upsampler(upsampler, width, width // 2, factor)]
        width //= 2
        layers.append(_StackBefore(width, residual_blocks))
    return nn.Sequential(*layers, nn.LeakyReLU(0.2), nn.ReflectionPad1d(3),
                         nn.Conv1d(width, 1, 7), nn.Tanh())


def test_the_defaults_build_the_generator_as_before():
    torch.manual_seed(3)
    model = MelGANLike("transposed", **SMALL)
    torch.manual_seed(3)
    before = _melgan_before("transposed", (2, 2), 8, 2, 4)
    kinds = [type(m).__name__ for m in model.generator.modules()]
    assert kinds == [type(m).__name__.replace("_StackBefore", "ResidualStack")
                     for m in before.modules()]
    slopes = [m.negative_slope for m in model.generator.modules() if isinstance(m, nn.LeakyReLU)]
    assert slopes == [0.2] * 11  # before 2 upsamplers, 2 per block of 2 stacks, the last
    state = model.generator.state_dict()
    assert state.keys() == before.state_dict().keys()
    for key, value in before.state_dict().items():  # same draws: bit-for-bit the same weights
        torch.testing.assert_close(state[key], value, rtol=0, atol=0, msg=key)
    mel = torch.randn(2, 4, 9)
    with torch.no_grad():
        torch.testing.assert_close(model(mel), before(mel), rtol=0, atol=0)


def test_a_checkpoint_without_the_activation_keys_loads_as_melgan():
    model = MelGANLike("nearest", **SMALL)
    payload = model.checkpoint()
    for key in ("activation", "activation_options", "anti_aliased"):
        payload["config"].pop(key)
    loaded = model_from_checkpoint(payload)
    assert loaded.config["activation"] == "leaky_relu" and loaded.config["anti_aliased"] is None
    mel = torch.randn(1, 4, 6)
    with torch.no_grad():
        torch.testing.assert_close(loaded(mel), model(mel), rtol=0, atol=0)


@pytest.mark.parametrize("activation, anti_aliased", [
    ("snakebeta", "bigvgan"), ("snakebeta_adaa", "default"), ("leaky_relu", "default")])
def test_activations_are_built_per_channel_and_rebuilt_from_the_checkpoint(
        activation, anti_aliased, tmp_path):
    torch.manual_seed(0)
    model = MelGANLike("transposed", activation=activation, anti_aliased=anti_aliased, **SMALL)
    wrappers = [m for m in model.generator.modules() if isinstance(m, AntiAliasedActivation1d)]
    assert len(wrappers) == 2 + 2 * 2 * 2 + 1  # before each upsampler, 2 per block, the last
    # each activation sees the channels of the layer before it: 8, 4 (stack, then next
    # upsampler), 2 (stack, last)
    snakes = [w.activation for w in wrappers if isinstance(w.activation, SnakeBeta1d)]
    if activation.startswith("snakebeta"):
        assert [s.channels for s in snakes] == [8, 4, 4, 4, 4, 4, 2, 2, 2, 2, 2]
        assert {s.adaa for s in snakes} == {activation == "snakebeta_adaa"}
    else:
        assert {w.activation.negative_slope for w in wrappers} == {0.2}
    taps = {w.config["taps"] for w in wrappers}
    assert taps == ({12} if anti_aliased == "bigvgan" else {53})
    with torch.no_grad():
        model.generator[-2].weight.add_(0.1)  # any change the checkpoint must carry
    model.save(tmp_path / "m.pt")
    loaded = load_model(tmp_path / "m.pt")
    mel = torch.randn(1, 4, 12)
    with torch.no_grad():
        out = model(mel)
        assert out.shape == (1, 1, 48)
        torch.testing.assert_close(loaded(mel), out, rtol=0, atol=0)


@pytest.mark.parametrize("options, message", [
    ({"activation": "swish"}, "activation must be one of"),
    ({"anti_aliased": "yes"}, "anti_aliased must be one of"),
    ({"activation": "snake", "activation_options": {"slope": 1}}, "snake takes no option slope"),
    ({"activation_options": [1]}, "activation_options must be a dict"),
])
def test_bad_activation_options_name_the_argument(options, message):
    with pytest.raises((InvalidValue, InvalidType), match=message):
        MelGANLike(**SMALL, **options)


@pytest.mark.parametrize("activation, anti_aliased", [
    ("snakebeta_adaa", None), ("leaky_relu", "default"), ("snakebeta", "bigvgan"),
    ("snakebeta_adaa", "default")])
def test_anti_aliased_generators_are_chunked_exactly(activation, anti_aliased):
    torch.manual_seed(0)
    model = MelGANLike("nearest", activation=activation, anti_aliased=anti_aliased,
                       **SMALL).double().eval()
    assert model.exact_chunking
    x = torch.randn(1, 1500, dtype=torch.float64)
    with torch.no_grad():
        whole = model.process(x[None])[0]  # 1500 samples: a whole number of hops
    context = model.chunk_context
    chunked = model.process_long(x, chunk=2 * context + model.hop, batch=3)
    torch.testing.assert_close(chunked, whole, rtol=0, atol=1e-10)
    # the activations' reach is needed: the context of the same generator with pointwise
    # activations shows the chunk edges
    from upsamplers.models.chunking import centre_chunks
    short = MelGANLike("nearest", **SMALL).chunk_context
    assert short < context
    edges = centre_chunks(lambda c: model.process(c), x, chunk=2 * short + model.hop,
                          context=short, hop=model.hop)
    assert (edges - whole).abs().max() > 1e-6


# ---- the measures


def test_spectral_snr_is_blind_to_phase_and_exact_on_a_scaled_copy():
    t = np.arange(RATE) / RATE
    x = np.sin(2 * np.pi * 440 * t) + 0.3 * np.sin(2 * np.pi * 1250 * t)
    # magnitudes scale with the signal: |S - 0.5 S| / |S| = 0.5, -20 log10 0.5 = 6.02 dB
    assert spectral_snr(0.5 * x, x) == pytest.approx(20 * math.log10(2), abs=1e-9)
    shifted = np.sin(2 * np.pi * 440 * t + 1.0) + 0.3 * np.sin(2 * np.pi * 1250 * t - 2.0)
    assert float(snr(shifted, x)) < 3.0  # a waveform figure calls it noise
    assert float(spectral_snr(shifted, x)) > 30.0  # the same spectrum
    assert np.isnan(spectral_snr(x, np.zeros_like(x)))


def test_ahr_of_closed_form_cases():
    # identity: no component off the harmonic bins, down to float64 rounding
    assert _measure_ahr(lambda a: a, float(RATE))["ahr_db"] < -200
    # x + c x^3: amplitude A + 3cA^3/4 at f0, cA^3/4 at 3 f0; aliased (off a harmonic bin)
    # exactly when 3 f0 is above the Nyquist frequency
    a, c = 0.8, 0.3
    result = _measure_ahr(lambda x: x + c * x ** 3, float(RATE))
    expected = 20 * math.log10((c * a ** 3 / 4) / (a + 3 * c * a ** 3 / 4))
    for line, k0 in zip(result["per_f0"], ahr_f0_bins(), strict=True):
        if 3 * k0 > 509 / 2:
            assert line["ahr_db"] == pytest.approx(expected, abs=1e-6)
        else:
            assert line["ahr_db"] < -200
    # a system periodic in time (hop 2): x (1 + m (-1)^n) adds the image fs/2 - f0 of
    # amplitude m A, never on a harmonic bin
    m = 0.1

    def modulate(x):
        return x * (1 + m * (-1.0) ** torch.arange(x.shape[-1], dtype=torch.float64))

    result = _measure_ahr(modulate, float(RATE), hop=2)
    assert [line["ahr_db"] for line in result["per_f0"]] == pytest.approx(
        [20 * math.log10(m)] * len(ahr_f0_bins()), abs=1e-6)
    assert result["ahr_db"] == pytest.approx(20 * math.log10(m), abs=1e-6)


def test_the_f0_grid_keeps_low_harmonics_away_from_nyquist():
    bins = ahr_f0_bins()
    assert len(set(bins)) == len(bins) == 15
    assert 0.045 < bins[0] / 509 and bins[-1] / 509 < 0.405
    for k0 in bins:
        for h in range(2, 6):
            folded = min(h * k0 % 509, 509 - h * k0 % 509)
            assert abs(folded - 254.5) >= 3


# ---- the task and its variants


def test_vocoder_variants_build_their_activations(tmp_path):
    root = audio_folder(tmp_path / "audio")
    config = CompareConfig(task="vocoder", data=str(root))
    assert config.variants == TASKS["vocoder"].variants
    assert config.validate().model == "melgan"
    expect = {"melgan": (nn.LeakyReLU, None), "melgan-aa": (nn.LeakyReLU, 53),
              "bigvgan": (SnakeBeta1d, 12), "snakebeta-adaa-aa": (SnakeBeta1d, 53)}
    for name in config.variants:
        model = Task(config.variant_training(VARIANTS[name], 1, root)).build_model()
        assert model.config["factors"] == [4, 4, 4] and model.config["hidden"] == 32
        modules = list(model.generator.modules())
        acts = ([m for m in modules if isinstance(m, AntiAliasedActivation1d)]
                or [m for m in modules if isinstance(m, nn.LeakyReLU)])
        assert len(acts) == 3 + 3 * 2 + 1
        cls, taps = expect[name]
        for act in acts:
            inner = act.activation if taps else act
            assert type(inner) is cls and (taps is None or act.config["taps"] == taps)
        if cls is SnakeBeta1d:
            assert {a.activation.adaa for a in acts} == {name == "snakebeta-adaa-aa"}


def test_bad_variant_and_task_names_are_one_line_errors(tmp_path, capsys):
    with pytest.raises(InvalidValue, match="unknown variant 'bigvgan-x'"):
        CompareConfig(task="vocoder", variants=("bigvgan-x",)).validate()
    with pytest.raises(InvalidValue, match="variant 'melgan-aa' belongs to the vocoder task "
                                           r".*; the separate task \(model='demucs'\) takes "
                                           "the variants transposed, "):
        CompareConfig(task="separate", variants=("melgan-aa",)).validate()
    with pytest.raises(InvalidValue, match="model must be one of .*received model='melgan'"):
        CompareConfig(task="separate", model="melgan").validate()
    assert main(["compare", "--task", "vocoder", "--variants", "bigvgan-x", "--out",
                 str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unknown variant 'bigvgan-x'" in err
    with pytest.raises(SystemExit):
        get_parser().parse_args(["compare", "--task", "vocodr", "--out", str(tmp_path)])
    assert "invalid choice: 'vocodr'" in capsys.readouterr().err


def test_the_command_takes_the_tasks_variants_unless_named(tmp_path):
    from upsamplers.cli.compare import _config

    args = get_parser().parse_args(["compare", "--task", "vocoder", "--out", str(tmp_path)])
    assert _config(args).variants == TASKS["vocoder"].variants
    args = get_parser().parse_args(["compare", "--task", "vocoder", "--variants", "melgan",
                                    "--out", str(tmp_path)])
    assert _config(args).variants == ("melgan",)


def test_collect_knows_a_vocoder_run_by_its_model_options():
    saved = [{"upsampler": "transposed", "upsampler_options": {}, "model": "melgan",
              "model_options": {"hidden": 32, **VARIANTS[v].model_overrides}, "seed": 0,
              "steps": 4, "batch_size": 2, "crop": 2048, "lr": 1e-3, "stft_weight": 1.0,
              "sample_rate": RATE} for v in ("melgan", "melgan-aa")]
    assert [_variant_of(None, s) for s in saved] == ["melgan", "melgan-aa"]
    plain = {**saved[0], "model_options": {"hidden": 32}}  # `upsamplers train` defaults
    assert _variant_of(None, plain) == "transposed"
    config = _collected_config(saved, ["melgan", "melgan-aa"], CompareConfig())
    # the variants' own options are not shared settings; the runs' shared ones are kept
    assert config.task == "vocoder" and config.model_options["hidden"] == 32
    assert not {"activation", "anti_aliased"} & set(config.model_options)
    other = [saved[0], {**saved[1], "model_options": {"hidden": 16,
                                                      **VARIANTS["melgan-aa"].model_overrides}}]
    with pytest.raises(UserFileError, match="differ in model_options"):
        _collected_config(other, ["melgan", "melgan-aa"], CompareConfig())


def test_a_tiny_vocoder_compare_reports_the_ahr_of_every_trained_variant(tmp_path):
    data = audio_folder(tmp_path / "audio")
    out = tmp_path / "cmp"
    report = compare(CompareConfig(
        task="vocoder", data=str(data), variants=("melgan", "bigvgan"), steps=3, crop=1024,
        batch_size=2, timing_steps=1, timing_warmup=0, audit_seconds=1.0, clip_seconds=0.5,
        seeds=1, lr=1e-2, eval_every=3, eval_seconds=0.5, min_steps=3, plateau_db=1000.0,
        jobs=1, naive_timing=False), out, progress=False, echo=lambda m: None)
    assert report["metric"] == "spectral_snr"
    assert list(report["metric_info"]) == ["spectral_snr", "lsd", "si_sdr"]
    assert "prime" in report["aliasing"]
    val, _ = sf.read(data / "validation" / "clip0.wav", dtype="float32")
    x = torch.from_numpy(val)[None]  # (1, T)
    md = (out / "report.md").read_text()
    header = next(line for line in md.splitlines() if line.startswith("| variant | status"))
    titles = [c.strip() for c in header.strip("|").split("|")]
    column = titles.index("AHR (dB, lower is better)")
    saved = json.loads((out / "report.json").read_text())
    for name in ("melgan", "bigvgan"):
        model = load_model(out / "runs" / name / "seed-0" / "model.pt").eval()
        seed = report["variants"][name]["seeds"][0]
        # the score is the spectral SNR of the whole model's output on the validation clip
        est = model.process_long(x)[..., : x.shape[-1]]
        assert seed["metrics"]["spectral_snr"] == pytest.approx(
            float(spectral_snr(est, x)[0]), abs=1e-6)
        # the AHR is that of sines through the mel spectrogram and back, measured again
        again = _measure_ahr(lambda a, m=model: m.reconstruct(a.float()).double(), float(RATE),
                             hop=model.hop, settle=model.receptive_field)
        assert seed["aliasing"]["ahr_db"] == pytest.approx(again["ahr_db"], abs=1e-6)
        assert model_aliasing(model)["ahr_db"] == pytest.approx(again["ahr_db"], abs=1e-9)
        row = next(r for r in saved["rows"] if r["variant"] == name)
        assert row["model_options"] == VARIANTS[name].model_overrides
        assert row["status"] != "failed"  # seeded: both runs end above the failure level
        assert row["ahr_db"]["mean"] == pytest.approx(again["ahr_db"], abs=1e-6)
        line = next(line for line in md.splitlines() if line.startswith(f"| {name} |"))
        cell = [c.strip() for c in line.strip("|").split("|")][column]
        assert cell == f"{again['ahr_db']:.2f}"
    assert "lower is better" in md and "bigvgan: BigVGAN's activations" in md


# ---- the Vocos-like layout and the istft variant


def test_the_istft_variant_is_a_vocos_like_head_at_the_frame_rate(tmp_path):
    from upsamplers import ISTFTUpsample1d, Upsampler
    from upsamplers.analysis import lint

    root = audio_folder(tmp_path / "audio")
    config = CompareConfig(task="vocoder", data=str(root), variants=("istft",)).validate()
    model = Task(config.variant_training(VARIANTS["istft"], 1, root)).build_model()
    assert model.config["layout"] == "vocos" and model.config["upsampler"] == "istft"
    ups = [m for m in model.modules() if isinstance(m, Upsampler)]
    # one upsampler, by the whole hop, to the waveform; everything before it at the
    # frame rate (lint finds no other change of rate); Vocos' n_fft = 4 hop
    assert len(ups) == 1 and isinstance(ups[0], ISTFTUpsample1d)
    assert (ups[0].factor, ups[0].out_channels, ups[0].n_fft) == (model.hop, 1, 4 * model.hop)
    assert model.generator[-1] is ups[0]  # linear output: no tanh after the head
    assert [(f.kind, f.factor) for f in lint(model).findings] == [("istft", 64)]
    mel = model.example_input(2)
    assert model(mel).shape == (2, 1, model.length)
    # the variant is the vocoder's: the other tasks' models take no layout
    with pytest.raises(InvalidValue, match="variant 'istft' belongs to the vocoder task"):
        CompareConfig(task="separate", variants=("istft",)).validate()


def test_the_vocos_layout_is_chunked_exactly_and_rebuilt_from_its_checkpoint(tmp_path):
    torch.manual_seed(0)
    model = MelGANLike("istft", layout="vocos", **SMALL).double().eval()
    assert model.exact_chunking
    x = torch.randn(1, 1500, dtype=torch.float64)
    with torch.no_grad():
        whole = model.process(x[None])[0]
    chunked = model.process_long(x, chunk=2 * model.chunk_context + model.hop, batch=3)
    torch.testing.assert_close(chunked, whole, rtol=0, atol=1e-10)
    model.float().save(tmp_path / "m.pt")
    loaded = load_model(tmp_path / "m.pt")
    assert loaded.config["layout"] == "vocos"
    mel = torch.randn(1, 4, 7)
    with torch.no_grad():
        torch.testing.assert_close(loaded(mel), model(mel), rtol=0, atol=0)
    with pytest.raises(InvalidValue, match="received layout='hifigan'"):
        MelGANLike(layout="hifigan", **SMALL)


def test_the_istft_variant_learns_on_the_embedded_data(tmp_path):
    """30 steps of the vocoder task's model in the istft variant (hidden 32, one block
    per stack, hop 64): the running loss and the loss of one fixed batch fall."""
    from tiny_runs import fixed_batch_learning, tiny

    config = tiny("melgan", upsampler="istft", steps=30, crop=4096, batch_size=4,
                  checkpoint_every=100, model_options={
                      "hidden": 32, "residual_blocks": 1, "factors": [4, 4, 4],
                      "n_fft": 256, "n_mels": 40, "layout": "vocos"})
    losses, before, after, rebuilt = fixed_batch_learning(config, tmp_path)
    assert len(losses) == 30 and all(np.isfinite(losses))
    assert np.mean(losses[-3:]) < 0.95 * losses[0], losses
    assert after < 0.95 * before and rebuilt.config["layout"] == "vocos"
