import warnings

import pytest
import torch

from upsamplers._checks import InvalidValue, UserFileError
from upsamplers.layers import upsampler_kinds
from upsamplers.models import (
    MODELS,
    Autoencoder,
    DemucsLike,
    MelGANLike,
    ReferenceModel,
    build_model,
    load_model,
    mel_filterbank,
    model_from_checkpoint,
)

KINDS = upsampler_kinds()


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("kind", KINDS)
def test_autoencoder_shapes_for_every_kind(kind):
    model = Autoencoder(kind, widths=(4, 8), length=1024)
    x = torch.randn(2, 1, 1024)
    assert model(x).shape == (2, 1, 1024)
    assert model.encode(x).shape == (2, 8, 64)
    ups = [m for m in model.decoder if type(m).__name__.endswith("1d") and hasattr(m, "factor")]
    assert [u.factor for u in ups] == [4, 4]


def test_default_autoencoder_is_the_articles_shape():
    model = Autoencoder()
    assert model.length == 16384
    assert model.encode(torch.zeros(1, 1, 16384)).shape == (1, 128, 64)
    text = model.summary()
    assert "input 1x1x16384 -> output 1x1x16384" in text
    assert "decoder.6  TransposedUpsample1d  1x1x16384" in text
    assert f"total parameters: {model.num_parameters():,}" in text
    assert text.count("TransposedUpsample1d") == 4


@pytest.mark.parametrize("kind", KINDS)
def test_demucs_like_shapes_any_length(kind):
    model = DemucsLike(kind, sources=3, audio_channels=2, width=4, depth=2, lstm_layers=1)
    for length in (1, 37, 1000):
        assert model(torch.randn(2, 2, length)).shape == (2, 3, 2, length)


def test_demucs_modified_has_no_bias_and_no_first_relu():
    plain = DemucsLike(width=4, depth=2)
    modified = DemucsLike(width=4, depth=2, modified=True)
    assert any(n.endswith("bias") for n, _ in plain.named_parameters())
    assert not [n for n, _ in modified.named_parameters() if "bias" in n]
    assert isinstance(plain.encoder[0][1], torch.nn.ReLU)
    assert not isinstance(modified.encoder[0][1], torch.nn.ReLU)
    assert isinstance(modified.encoder[1][1], torch.nn.ReLU)
    # without biases and input normalisation, silence in gives exact silence out
    quiet = DemucsLike(width=4, depth=2, modified=True, normalize=False)
    assert quiet(torch.zeros(1, 1, 256)).abs().max() == 0


def test_demucs_weight_rescaling_shrinks_initial_weights():
    torch.manual_seed(0)
    rescaled = DemucsLike(width=8, depth=2, lstm_layers=0)
    torch.manual_seed(0)
    raw = DemucsLike(width=8, depth=2, lstm_layers=0, rescale=0)
    w0, w1 = raw.encoder[1][0].weight, rescaled.encoder[1][0].weight
    scale = (w0.std() / 0.1) ** 0.5
    torch.testing.assert_close(w1, w0 / scale)


@pytest.mark.parametrize("kind", KINDS)
def test_melgan_like_shapes(kind):
    model = MelGANLike(kind, hidden=32, residual_blocks=1)
    audio = torch.randn(2, 1, 4096)
    mel = model.mel(audio)
    assert mel.shape == (2, 80, 16)
    assert model(mel).shape == (2, 1, 4096)
    assert model.hop == 256


def test_mel_filterbank_peaks_in_order_and_covers_band():
    fb = mel_filterbank(16000, 1024, 40)
    assert fb.shape == (40, 513) and (fb >= 0).all()
    peaks = fb.argmax(axis=1)
    assert (peaks[1:] >= peaks[:-1]).all()
    assert (fb.sum(0)[5:-5] > 0).all()


@pytest.mark.parametrize("model", [
    Autoencoder("subpixel", widths=(4, 8), length=1024, upsampler_options={"init": "icnr"}),
    DemucsLike("nearest", width=4, depth=2, sources=2, source_names=["a", "b"]),
    MelGANLike("linear", hidden=16, factors=(4, 4), n_fft=64, n_mels=8, length=1024),
])
def test_checkpoint_round_trip_needs_no_user_code(tmp_path, model):
    path = model.save(tmp_path / "m.pt", note="extra")
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temporary left
    again = load_model(path)
    assert type(again) is type(model) and again.config == model.config
    x = model.example_input(2).normal_()
    with torch.no_grad():
        torch.testing.assert_close(again(x), model(x), rtol=0, atol=0)
    assert isinstance(ReferenceModel.load(path), type(model))
    payload = torch.load(path, weights_only=True)
    assert payload["note"] == "extra" and payload["class"] == type(model).__name__


def test_loading_the_wrong_thing_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(UserFileError, match=r"bad.pt cannot be read"):
        load_model(bad)
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(UserFileError, match="not a neural-upsamplers model checkpoint"):
        load_model(tmp_path / "other.pt")
    with pytest.raises(UserFileError, match="does not exist"):
        load_model(tmp_path / "absent.pt")
    path = Autoencoder(widths=(2,), length=64).save(tmp_path / "ae.pt")
    with pytest.raises(UserFileError, match="holds a Autoencoder, not a DemucsLike"):
        DemucsLike.load(path)


@pytest.mark.parametrize(("build", "error", "match"), [
    (lambda: Autoencoder("cubic"), ValueError,
     r"upsampler must be one of .*received upsampler='cubic'"),
    (lambda: Autoencoder(widths=()), TypeError, r"received widths=\(\)"),
    (lambda: Autoencoder(kernel_size=7), ValueError, r"received kernel_size=7, factor=4"),
    (lambda: Autoencoder(length=1000), ValueError, r"multiple of .* 256; received length=1000"),
    (lambda: DemucsLike(depth=0), ValueError,
     r"depth must be a positive integer; received depth=0"),
    (lambda: DemucsLike(sources=2, source_names=["a"]), ValueError, r"source_names must be 2"),
    (lambda: DemucsLike(upsampler_options=[1]), TypeError, r"upsampler_options must be a dict"),
    (lambda: MelGANLike(hidden=20), ValueError,
     r"hidden must be divisible by 2 \*\* len\(factors\)"),
    (lambda: MelGANLike(n_fft=128), ValueError, r"n_fft must be >= the hop"),
    (lambda: build_model("wavenet"), ValueError,
     r"model must be one of .*received model='wavenet'"),
])
def test_bad_constructor_arguments_name_themselves(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_bad_forward_input_is_a_clear_error():
    model = Autoencoder(widths=(2, 2), length=64)
    with pytest.raises(ValueError, match=r"multiple of 16; received shape \(1, 1, 50\)"):
        model(torch.zeros(1, 1, 50))
    with pytest.raises(ValueError, match=r"must have 1 channels"):
        model(torch.zeros(1, 2, 64))
    assert model.valid_length(50) == 64


# --------------------------------------------------------------------- the interface


def test_one_registry_by_name_and_checkpoints_keep_the_class_name(tmp_path):
    assert {name: cls.__name__ for name, cls in MODELS.items()} == {
        "autoencoder": "Autoencoder", "demucs": "DemucsLike", "melgan": "MelGANLike",
        "unet": "BandwidthUNet"}
    for name, cls in MODELS.items():
        assert cls.name == name
    model = build_model("melgan", "nearest", hidden=16, factors=(4, 4), n_fft=64, n_mels=8,
                        length=1024)
    assert torch.load(model.save(tmp_path / "m.pt"), weights_only=True)["class"] == "MelGANLike"


def test_the_interface_answers_what_training_and_inference_ask():
    ae = Autoencoder(widths=(4, 8), length=1024, audio_channels=2)
    demucs = DemucsLike(width=4, depth=2, factor=2, kernel_size=4, sources=2,
                        source_names=["a", "b"], length=1024)
    melgan = MelGANLike(hidden=16, factors=(4, 4), n_fft=64, n_mels=8, length=1024)
    assert (ae.audio_channels, ae.hop, ae.separates, ae.source_names) == (2, 16, False, ())
    assert (demucs.audio_channels, demucs.hop, demucs.separates) == (1, 4, True)
    assert demucs.source_names == ("a", "b") and demucs.dataset_kind == "stems"
    assert (melgan.audio_channels, melgan.hop, melgan.dataset_kind) == (1, 16, "audio")
    assert [m.valid_length(17) for m in (ae, demucs, melgan)] == [32, 20, 32]
    audio = torch.randn(3, 1, 1024)
    inputs, targets = melgan.training_pair(audio)
    assert inputs.shape == (3, 8, 64) and targets is audio and not inputs.requires_grad
    mix, sources = torch.randn(3, 1, 1024), torch.randn(3, 2, 1, 1024)
    assert demucs.training_pair((mix, sources)) == (mix, sources)
    # a long signal, chunked: (C, T) -> (C, T) or (S, C, T); any chunk for a padding model
    assert ae.process_long(torch.randn(2, 3000), chunk=512).shape == (2, 3000)
    assert demucs.process_long(torch.randn(1, 3000), chunk=500).shape == (2, 1, 3000)
    with pytest.raises(InvalidValue, match="chunk must be a multiple of 16 for this model; "
                                           "received chunk=500"):
        melgan.process_long(torch.randn(1, 3000), chunk=500)


def test_process_long_folds_channels_through_a_mono_model():
    model = DemucsLike(width=4, depth=2, sources=2, source_names=["a", "b"], length=256).eval()
    stereo = torch.randn(2, 700)
    folded = model.process_long(stereo, fold_channels=True)  # (S, C, T)
    assert folded.shape == (2, 2, 700)
    for c in range(2):
        alone = model.process_long(stereo[c:c + 1])  # (S, 1, T)
        torch.testing.assert_close(folded[:, c], alone[:, 0], rtol=0, atol=1e-6)


@pytest.mark.parametrize(("build", "old", "new"), [
    (lambda: Autoencoder(widths=(2,), length=64, channels=2), "channels", "audio_channels"),
    (lambda: DemucsLike(channels=4, depth=2, lstm_layers=0), "channels", "width"),
    (lambda: DemucsLike(stride=2, kernel_size=4, width=4, depth=2, lstm_layers=0), "stride",
     "factor"),
])
def test_old_argument_names_warn_and_still_work(build, old, new):
    with pytest.warns(FutureWarning, match=rf"\({old}=\.\.\.\) is deprecated; use {new}") as caught:
        model = build()
    assert caught[0].filename == __file__  # the warning points at the caller
    assert old not in model.config and new in model.config


def test_old_attribute_names_warn():
    with pytest.warns(FutureWarning, match="use audio_channels"):
        assert Autoencoder(widths=(2,), length=64, audio_channels=2).channels == 2
    with pytest.warns(FutureWarning, match="use factor"):
        assert DemucsLike(width=4, depth=2, lstm_layers=0).stride == 4
    with pytest.warns(FutureWarning, match="use MODELS"):
        from upsamplers.models import MODEL_NAMES
    assert MODEL_NAMES == MODELS


def test_both_the_old_and_the_new_name_is_an_error():
    with warnings.catch_warnings(), pytest.raises(InvalidValue, match="not both width and"):
        warnings.simplefilter("ignore", FutureWarning)
        DemucsLike(width=4, channels=4)
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        Autoencoder(colour=1)


@pytest.mark.parametrize(("model", "renames"), [
    (Autoencoder(widths=(4,), length=64, audio_channels=2), {"audio_channels": "channels"}),
    (DemucsLike(width=4, depth=2, lstm_layers=1, factor=2, kernel_size=4),
     {"width": "channels", "factor": "stride"}),
])
def test_checkpoints_with_the_old_config_keys_load(tmp_path, model, renames):
    payload = model.checkpoint()
    payload["config"] = {renames.get(k, k): v for k, v in payload["config"].items()}
    assert set(renames.values()) <= set(payload["config"])
    torch.save(payload, tmp_path / "old.pt")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an old checkpoint loads without a warning
        again = load_model(tmp_path / "old.pt")
    assert again.config == model.config
    x = model.example_input(1).normal_()
    with torch.no_grad():
        torch.testing.assert_close(again(x), model(x), rtol=0, atol=0)
    assert type(model_from_checkpoint(payload)) is type(model)
