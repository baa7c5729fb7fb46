import math

import numpy as np
import pytest
import torch

from upsamplers.data import SkippedFileWarning
from upsamplers.metrics import sdr, si_sdr
from upsamplers.models import Autoencoder, DemucsLike
from upsamplers.scoring import NonFiniteScoreWarning, finite_mean, score_model

pytestmark = pytest.mark.usefixtures("one_thread")


def test_a_reconstruction_is_scored_against_its_input_over_chunks():
    torch.manual_seed(0)
    model = Autoencoder(widths=(4,), length=256).eval()
    inputs = [torch.randn(1, 1000), torch.randn(1, 300)]
    signals = [(f"t{i}", x, x[None]) for i, x in enumerate(inputs)]
    scores = score_model(model, signals)
    assert [t.track for t in scores.tracks] == ["t0", "t1"]
    for track, (_, x, _) in zip(scores.tracks, signals, strict=True):
        estimate = model.process_long(x)  # == one whole pass (tests/test_chunking.py)
        assert track.si_sdr == float(np.mean(si_sdr(estimate, x)))
        assert track.sdr == float(np.mean(sdr(estimate, x)))
        assert track.sources is None
    assert scores.mean["si_sdr"] == pytest.approx(np.mean([t.si_sdr for t in scores.tracks]))
    assert scores.mean == {m: scores.track_mean(m) for m in ("si_sdr", "sdr")}
    assert scores.audio_seconds == pytest.approx(1300 / 16000)
    assert scores.real_time_factor > 0


def test_a_separator_is_scored_per_source_and_averaged_over_sources():
    torch.manual_seed(0)
    model = DemucsLike(width=4, depth=2, lstm_layers=0, sources=2, source_names=["lo", "hi"],
                       length=256).eval()
    sources = torch.randn(2, 1, 900)
    sources2 = torch.randn(2, 1, 700)
    scores = score_model(model, [("a", sources.sum(0), sources), ("b", sources2.sum(0),
                                                                      sources2)])
    estimate = model.process_long(sources.sum(0))  # (S, C, T), exact chunking
    first = scores.tracks[0]
    assert first.sources["hi"]["si_sdr"] == float(si_sdr(estimate[1], sources[1]).mean())
    assert first.si_sdr == float(np.mean(si_sdr(estimate, sources)))
    for name in ("lo", "hi"):
        assert scores.per_source[name]["sdr"] == pytest.approx(
            np.mean([t.sources[name]["sdr"] for t in scores.tracks]))
    assert scores.mean["sdr"] == pytest.approx(np.mean([v["sdr"]
                                                        for v in scores.per_source.values()]))
    assert scores.track_mean("sdr") == pytest.approx(scores.mean["sdr"])


def test_undefined_scores_are_left_out_of_the_means():
    assert finite_mean([1.0, math.nan, 3.0, None]) == 2.0
    assert finite_mean([math.nan]) is None
    model = Autoencoder(widths=(4,), length=256).eval()
    silent = torch.zeros(1, 512)
    with pytest.warns(SkippedFileWarning) as caught:
        scores = score_model(model, [("quiet", silent, silent[None])])
    assert scores.tracks == [] and scores.mean["si_sdr"] is None
    assert scores.skipped == [str(w.message) for w in caught] == [
        "skipping quiet: its reference is silent (every sample 0 at 16000 Hz), against which "
        "no metric is defined; not scored"]


def _with_output(model, make):
    """``model`` whose processing gives ``make(input)`` (an exact or a silent output)."""
    model.process_long = lambda x, device=None, fold_channels=False: make(x)
    return model


@pytest.mark.parametrize("length", [1, 2, 17, 100, 255])
@pytest.mark.parametrize("kind", ["autoencoder", "separator"])
def test_a_track_shorter_than_its_metrics_need_is_skipped_naming_it(length, kind):
    torch.manual_seed(0)
    model = (Autoencoder(widths=(4,), length=256) if kind == "autoencoder" else
             DemucsLike(width=4, depth=2, lstm_layers=0, sources=2, length=256)).eval()
    sources = torch.randn(2 if kind == "separator" else 1, 1, 4000)
    short = torch.randn(sources.shape[0], 1, length)
    with pytest.warns(SkippedFileWarning) as caught:
        scores = score_model(model, [("long", sources.sum(0), sources),
                                     ("tiny", short.sum(0), short)])
    assert [t.track for t in scores.tracks] == ["long"]
    assert scores.skipped == [str(w.message) for w in caught] == [
        f"skipping tiny: {length} samples at 16000 Hz is shorter than the 256 its metrics "
        "need; not scored"]
    for metric, value in scores.mean.items():  # over the long track only
        assert value == pytest.approx(scores.tracks[0].values[metric])
        assert math.isfinite(value)


@pytest.mark.parametrize(("make", "reason"), [
    (lambda x: x.clone(), "SI-SDR is inf (the output equals the reference exactly)"),
    (torch.zeros_like, "SI-SDR is nan (the output is silent or holds nothing of the "
                       "reference)"),
])
def test_a_figure_the_output_makes_infinite_is_left_out_of_the_mean_naming_it(make, reason):
    # the output's doing, not the data's: the track stays scored (its level counts
    # for the health check, which fails a silent model), the figure is null in JSON
    # and out of the mean, with one line naming the track, the figure and why
    torch.manual_seed(0)
    model = _with_output(Autoencoder(widths=(4,), length=256).eval(), make)
    x = torch.randn(1, 1000)
    with pytest.warns(NonFiniteScoreWarning) as caught:
        scores = score_model(model, [("t", x, x[None])])
    assert [t.track for t in scores.tracks] == ["t"] and scores.skipped == []
    assert not math.isfinite(scores.tracks[0].si_sdr)
    assert scores.tracks[0].finite_values()["si_sdr"] is None
    assert scores.mean["si_sdr"] is None  # no finite figure: no mean
    lines = [str(w.message) for w in caught]
    assert lines[0] == f"t: {reason}: left out of the mean SI-SDR"
    assert scores.left_out == lines
    assert scores.output_level().output_rms == pytest.approx(
        0.0 if make is torch.zeros_like else float(x.pow(2).mean().sqrt()), rel=1e-6)
    model.baseline = make  # the baseline's figures by the same rule, named as its
    with pytest.warns(NonFiniteScoreWarning, match=f"t: the baseline's {reason[:9]}"):
        assert len(score_model(model, [("t", x, x[None])], baseline=True).tracks) == 1


def test_a_mean_is_over_the_finite_figures_and_says_which_it_left_out():
    torch.manual_seed(0)
    model = Autoencoder(widths=(4,), length=256).eval()
    run = model.process_long
    model.process_long = lambda x, device=None, fold_channels=False: (
        torch.zeros_like(x) if float(x[0, 0]) == 0.0 else run(x, fold_channels=fold_channels))
    good = [(f"g{i}", x, x[None]) for i, x in enumerate(torch.randn(3, 1, 1000))]
    dead = torch.randn(1, 1000)
    dead[0, 0] = 0.0  # the model is silent on this track only
    with pytest.warns(NonFiniteScoreWarning, match="dead: SI-SDR is"):
        scores = score_model(model, [*good, ("dead", dead, dead[None])])
    alone = score_model(model, good)
    assert scores.mean["si_sdr"] == pytest.approx(alone.mean["si_sdr"])
    assert len(scores.tracks) == 4 and len(scores.left_out) == 2  # SI-SDR and SDR


def test_a_silent_channel_or_stem_is_left_out_of_its_track_not_the_track():
    torch.manual_seed(0)
    model = Autoencoder(widths=(4,), length=256).eval()
    stereo = torch.randn(2, 1000)
    stereo[1] = 0.0  # one silent channel, through a mono model channel by channel
    track = score_model(model, [("s", stereo, stereo[None])]).tracks[0]
    estimate = model.process_long(stereo, fold_channels=True)
    assert track.si_sdr == pytest.approx(float(si_sdr(estimate[0], stereo[0])))
    sep = DemucsLike(width=4, depth=2, lstm_layers=0, sources=2, source_names=["a", "b"],
                     length=256).eval()
    stems = torch.randn(2, 1, 1000)
    stems[1] = 0.0
    scores = score_model(sep, [("m", stems.sum(0), stems)])
    first = scores.tracks[0]
    assert first.sources["b"] == {"si_sdr": None, "sdr": None}
    assert first.si_sdr == first.sources["a"]["si_sdr"] and math.isfinite(first.si_sdr)
    assert scores.per_source["b"] == {"si_sdr": None, "sdr": None}
    assert scores.mean["si_sdr"] == pytest.approx(first.si_sdr)
