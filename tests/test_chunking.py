"""Chunked processing of long signals: exact (receptive-field overlap, centres
kept) for convolutional models, cross-faded where an output reads the whole input."""

import pytest
import torch
from torch import nn

from upsamplers import InvalidValue
from upsamplers.models import Autoencoder, DemucsLike, MelGANLike
from upsamplers.models.chunking import centre_chunks, layer_span, overlap_add

pytestmark = pytest.mark.usefixtures("one_thread")


def _autoencoder(kind="transposed"):
    return Autoencoder(kind, widths=(4, 6), factor=2, kernel_size=4, length=64)


def _demucs():  # normalises by its input's level: chunks get the whole signal's
    return DemucsLike("subpixel", width=4, depth=3, factor=2, kernel_size=4, lstm_layers=0,
                      sources=2, source_names=["a", "b"], length=64)


def _melgan():
    return MelGANLike("nearest", hidden=8, factors=(2, 2), residual_blocks=2, n_fft=8,
                      n_mels=4, length=64)


def _model(build):
    torch.manual_seed(0)
    return build().double().eval()


def _whole(model, x, statistics=None):
    """One pass over the whole signal (C, T), zero-padded to a valid length (by the
    model itself if it pads its input: the level it normalises by is the signal's).
    ``statistics`` of another signal fix that level (for a perturbation test)."""
    length = x.shape[-1]
    padded = x if model.pads_input else nn.functional.pad(
        x, (0, model.valid_length(length) - length))
    with torch.no_grad():
        return model.process(padded[None], statistics=statistics)[0][..., :length]


BUILDS = {"autoencoder": _autoencoder, "demucs": _demucs, "melgan": _melgan,
          **{f"autoencoder-{k}": (lambda k=k: _autoencoder(k))
             for k in ("subpixel", "nearest", "linear", "sinc")}}


@pytest.mark.parametrize("name", BUILDS)
def test_chunked_equals_one_whole_signal_pass(name):
    model = _model(BUILDS[name])
    assert model.exact_chunking and model.receptive_field > 0
    context = model.chunk_context
    assert context % model.hop == 0 and context >= model.receptive_field
    torch.manual_seed(1)
    for length in (5, 61, 64, 333, 1000, 2047):
        x = torch.randn(model.audio_channels, length, dtype=torch.float64)
        whole = _whole(model, x)
        for chunk in (None, 2 * context + model.hop, 4 * context + 3 * model.hop):
            chunked = model.process_long(x, chunk=chunk, batch=3)
            assert chunked.shape == whole.shape and chunked.dtype == torch.float64
            torch.testing.assert_close(chunked, whole, rtol=0, atol=1e-10)


def test_chunked_equals_whole_in_float32_with_the_default_chunk():
    torch.manual_seed(0)
    model = DemucsLike(width=4, depth=2, lstm_layers=0, sources=2, source_names=["a", "b"],
                       length=256).eval()
    x = torch.randn(1, 5000)
    with torch.no_grad():
        whole = model(x[None])[0]
    torch.testing.assert_close(model.process_long(x), whole, rtol=0, atol=1e-5)
    folded = model.process_long(torch.stack([x[0], -2 * x[0]]), fold_channels=True)
    torch.testing.assert_close(folded[:, 0], whole[:, 0], rtol=0, atol=1e-5)
    with torch.no_grad():
        other = model(-2 * x[None])[0, :, 0]
    torch.testing.assert_close(folded[:, 1], other, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", ["autoencoder", "demucs", "melgan"])
def test_a_context_shorter_than_the_receptive_field_is_not_exact(name):
    # the test above can fail: half the context and the chunk edges show
    model = _model(BUILDS[name])
    x = torch.randn(model.audio_channels, 1500, dtype=torch.float64)
    short = model.chunk_context // 2 // model.hop * model.hop
    chunked = centre_chunks(lambda c: model.process(c), x, chunk=2 * short + model.hop,
                            context=short, hop=model.hop)
    assert (chunked - _whole(model, x)).abs().max() > 1e-6


def _measured_reach(model, length=512, trials=3):
    """The farthest output sample (either side) that a change of one input sample
    moves, over one period of input positions in the middle and a few backgrounds."""
    reach = 0
    for trial in range(trials):
        torch.manual_seed(10 + trial)
        x = torch.randn(model.audio_channels, length, dtype=torch.float64)
        level = model.signal_statistics(x[None])  # a bump must not move the level
        base = _whole(model, x, level)
        for p in range(length // 2, length // 2 + model.hop):
            bumped = x.clone()
            bumped[:, p] += 10.0
            changed = (_whole(model, bumped, level) - base).abs().amax(
                dim=tuple(range(base.dim() - 1))) > 1e-12
            where = torch.nonzero(changed)[:, 0]
            reach = max(reach, p - int(where.min()), int(where.max()) - p)
    return reach


@pytest.mark.parametrize("name", ["autoencoder", "autoencoder-linear", "demucs", "melgan"])
def test_the_receptive_field_matches_a_measured_impulse_response(name):
    model = _model(BUILDS[name])
    measured = _measured_reach(model)
    # never too small (chunking would not be exact), and tight to within one hop
    assert model.receptive_field - model.hop < measured <= model.receptive_field


def test_a_melgan_pads_what_its_reflection_paddings_cannot_take():
    model = _model(_melgan)  # the reflection padding of 3 frames needs 4
    assert model.shortest_input == 4 * model.hop
    with pytest.raises(RuntimeError, match="Padding size"):
        model(torch.zeros(1, model.n_mels, 3, dtype=torch.float64))
    x = torch.randn(1, 1, 5, dtype=torch.float64)
    padded = nn.functional.pad(x, (0, 4 * model.hop - 5))
    with torch.no_grad():
        torch.testing.assert_close(model.process(x), model.reconstruct(padded)[..., :4])


def test_a_layer_of_unknown_reach_is_refused():
    with pytest.raises(TypeError, match="receptive field of LSTM is not known"):
        layer_span((0, 0), nn.LSTM(2, 2))


def test_a_model_with_an_lstm_says_so_and_is_cross_faded():
    torch.manual_seed(0)
    model = DemucsLike(width=4, depth=2, lstm_layers=1, sources=2, source_names=["a", "b"],
                       length=256).eval()
    assert model.receptive_field is None and model.chunk_context is None
    assert not model.exact_chunking
    x = torch.randn(1, 1000)
    out = model.process_long(x)
    assert out.shape == (2, 1, 1000)
    torch.testing.assert_close(out, overlap_add(model, x, chunk=256, overlap=64),
                               rtol=0, atol=0)
    with torch.no_grad():  # and it is not the whole-signal pass: the LSTM reads it all
        assert (out - model(x[None])[0]).abs().max() > 1e-4


def test_an_explicit_overlap_keeps_the_cross_fade():
    model = _model(_autoencoder)
    x = torch.randn(1, 700, dtype=torch.float64)
    out = model.process_long(x, chunk=64, overlap=16)
    torch.testing.assert_close(out, overlap_add(model, x, chunk=64, overlap=16))


def test_a_chunk_too_short_for_the_receptive_field_is_refused():
    model = _model(_demucs)
    context = model.chunk_context
    with pytest.raises(InvalidValue, match=f"chunk must be longer than {2 * context} samples"):
        model.process_long(torch.randn(1, 3000, dtype=torch.float64), chunk=2 * context)
    # the default chunk grows past twice the context
    assert model.length <= 2 * context
    assert model.process_long(torch.randn(1, 3000, dtype=torch.float64)).shape == (2, 1, 3000)


def test_centre_chunks_tiles_the_signal_and_checks_its_arguments():
    x = torch.arange(1000.0)[None]
    assert torch.equal(centre_chunks(lambda c: 2 * c, x, chunk=64, context=8, hop=4), 2 * x)
    assert torch.equal(centre_chunks(lambda c: c, x[:, :10], chunk=64, context=8, hop=4),
                       x[:, :10])
    with pytest.raises(InvalidValue, match="context must be a multiple of hop=4"):
        centre_chunks(lambda c: c, x, chunk=64, context=6, hop=4)
    with pytest.raises(InvalidValue, match="chunk must be longer than twice the context"):
        centre_chunks(lambda c: c, x, chunk=16, context=8)
