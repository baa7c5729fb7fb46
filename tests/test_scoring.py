import math

import numpy as np
import pytest
import torch

from upsamplers.metrics import sdr, si_sdr
from upsamplers.models import Autoencoder, DemucsLike
from upsamplers.scoring import finite_mean, score_model

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
    scores = score_model(model, [("quiet", silent, silent[None])])
    assert math.isnan(scores.tracks[0].si_sdr) and scores.mean["si_sdr"] is None
