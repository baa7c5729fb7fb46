import pytest
import torch

from upsamplers.layers import upsampler_kinds
from upsamplers.models import (
    Autoencoder,
    DemucsLike,
    MelGANLike,
    ReferenceModel,
    build_model,
    load_model,
    mel_filterbank,
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
    model = DemucsLike(kind, sources=3, audio_channels=2, channels=4, depth=2, lstm_layers=1)
    for length in (1, 37, 1000):
        assert model(torch.randn(2, 2, length)).shape == (2, 3, 2, length)


def test_demucs_modified_has_no_bias_and_no_first_relu():
    plain = DemucsLike(channels=4, depth=2)
    modified = DemucsLike(channels=4, depth=2, modified=True)
    assert any(n.endswith("bias") for n, _ in plain.named_parameters())
    assert not [n for n, _ in modified.named_parameters() if "bias" in n]
    assert isinstance(plain.encoder[0][1], torch.nn.ReLU)
    assert not isinstance(modified.encoder[0][1], torch.nn.ReLU)
    assert isinstance(modified.encoder[1][1], torch.nn.ReLU)
    # without biases and input normalisation, silence in gives exact silence out
    quiet = DemucsLike(channels=4, depth=2, modified=True, normalize=False)
    assert quiet(torch.zeros(1, 1, 256)).abs().max() == 0


def test_demucs_weight_rescaling_shrinks_initial_weights():
    torch.manual_seed(0)
    rescaled = DemucsLike(channels=8, depth=2, lstm_layers=0)
    torch.manual_seed(0)
    raw = DemucsLike(channels=8, depth=2, lstm_layers=0, rescale=0)
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
    DemucsLike("nearest", channels=4, depth=2, sources=2, source_names=["a", "b"]),
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
    with pytest.raises(ValueError, match=r"bad.pt cannot be read"):
        load_model(bad)
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a neural-upsamplers model checkpoint"):
        load_model(tmp_path / "other.pt")
    with pytest.raises(ValueError, match="does not exist"):
        load_model(tmp_path / "absent.pt")
    path = Autoencoder(widths=(2,), length=64).save(tmp_path / "ae.pt")
    with pytest.raises(ValueError, match="holds a Autoencoder, not a DemucsLike"):
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
