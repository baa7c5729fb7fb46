"""Line measures (upsamplers.analysis.lines) against references computed by hand:
a line of known amplitude, a layer's phase biases, the phase kernels' DC gains,
the Welch bin of white noise; and no figure where only a clamp or rounding exists."""

import json
import math

import numpy as np
import pytest
import torch
from scipy import signal as sps
from torch import nn

from upsamplers._checks import InvalidValue
from upsamplers.analysis import (
    ToneMeasures,
    choose_nperseg,
    find_tones,
    line_frequencies,
    predicted_constant_tones,
    tone_measures,
)
from upsamplers.analysis.lines import MIN_SEGMENTS, lines_above_floor
from upsamplers.layers import make_upsampler

FS = 16000


class LineModule(nn.Module):
    """Nearest upsampling by ``ratio`` (``ratio = 1``: identity) plus the line
    ``amplitude * cos(2 pi k n / hop + phase)``, ``n`` the output sample index."""

    def __init__(self, channels, ratio, hop, k, amplitude, phase=0.3):
        super().__init__()
        self.in_channels = channels
        self.ratio, self.hop, self.k = ratio, hop, k
        self.amplitude, self.phase = amplitude, phase

    def forward(self, x):  # (1, C, T) -> (1, C, T * ratio)
        y = x.double().repeat_interleave(self.ratio, dim=-1)
        n = torch.arange(y.shape[-1], dtype=torch.float64)
        return (y + self.amplitude * torch.cos(2 * math.pi * self.k * n / self.hop
                                               + self.phase)).float()


def test_line_frequencies_are_the_multiples_of_fs_over_hop_up_to_nyquist():
    assert line_frequencies(FS, 4) == [4000.0, 8000.0]
    assert line_frequencies(FS, 5) == [3200.0, 6400.0]
    assert line_frequencies(FS, 1) == []
    with pytest.raises(InvalidValue):
        line_frequencies(FS, 0)


def test_silence_line_in_dbfs_of_a_known_sine_and_of_a_nyquist_line():
    m = tone_measures(LineModule(1, 4, 4, 1, 0.25), FS, 4, seconds=0.5)
    assert m.silence_dbfs.db == pytest.approx(20 * math.log10(0.25), abs=1e-5)  # -12.04 dBFS
    assert m.silence_dbfs.frequency_hz == 4000.0 and m.silence_dbfs.note is None
    # at fs / 2 the line is A cos(phase) (-1)^n: its power A^2 cos^2(phase) over 1/2
    m = tone_measures(LineModule(1, 4, 4, 2, 0.5, phase=0.4), FS, 4, seconds=0.5)
    expected = 10 * math.log10((0.5 * math.cos(0.4)) ** 2 / 0.5)
    assert m.silence_dbfs.db == pytest.approx(expected, abs=1e-5)
    assert m.silence_dbfs.frequency_hz == 8000.0


def test_constant_line_in_db_re_the_output_power_by_hand():
    a, level = 0.1, 0.5
    m = tone_measures(LineModule(2, 4, 8, 3, a), FS, 8, seconds=0.5, level=level)
    line = a * a / 2
    assert m.constant_db_re_rms.db == pytest.approx(10 * math.log10(line / (level**2 + line)),
                                                    abs=1e-4)  # -16.99 dB
    assert m.constant_db_re_rms.frequency_hz == 3 * FS / 8
    assert m.constant_level == level


def test_subpixel_phase_biases_give_the_silence_line_of_their_dft_by_hand():
    torch.manual_seed(0)
    up = make_upsampler("subpixel", 3, 1, 4, bias=True)
    v = up.phase_kernels().bias[:, 0].detach().double().numpy()  # the output on zeros, one period
    r = len(v)
    lines = [(2 / r) ** 2 * abs(sum(v[i] * np.exp(-2j * np.pi * 1 * i / r) for i in range(r))) ** 2
             / 2, (sum(v[i] * (-1) ** i for i in range(r)) / r) ** 2]  # powers at fs/4, fs/2
    k = int(np.argmax(lines))
    m = tone_measures(up, FS, 4, seconds=0.5)
    assert m.silence_dbfs.db == pytest.approx(10 * math.log10(lines[k] / 0.5), abs=1e-4)
    assert m.silence_dbfs.frequency_hz == (k + 1) * FS / 4


def test_transposed_constant_line_matches_the_phase_kernels_dc_gains():
    torch.manual_seed(1)
    up = make_upsampler("transposed", 2, 1, 4, bias=True)
    predicted = predicted_constant_tones(up.phase_kernels(), FS, level=1.0)  # DC and lines
    total = sum(t.power for t in predicted)
    strongest = max((t for t in predicted if t.frequency > 0), key=lambda t: t.power)
    m = tone_measures(up, FS, 4, seconds=0.5)
    assert m.constant_db_re_rms.db == pytest.approx(10 * math.log10(strongest.power / total),
                                                    abs=1e-3)
    assert m.constant_db_re_rms.frequency_hz == strongest.frequency
    # its bias is the same on every phase: on silence only DC, no line above rounding
    assert m.silence_dbfs.db is None and "float rounding" in m.silence_dbfs.note


@pytest.mark.parametrize("kind", ["nearest", "linear"])
def test_clean_layers_give_reasons_not_numbers(kind):
    up = make_upsampler(kind, 2, 1, 4)
    m = tone_measures(up, FS, 4, seconds=0.5)
    assert m.silence_dbfs.db is None and m.silence_dbfs.note == "output exactly zero"
    assert m.silence_dbfs.frequency_hz is None
    # equal phases: a constant gives lines at float rounding only, not a number
    assert m.constant_db_re_rms.db is None and "float rounding" in m.constant_db_re_rms.note
    # interpolation puts notches at the lines: below the floor, and below the input's
    assert m.noise_db_above_floor.db < -10 and m.noise_excess_db.db < -10


def test_identity_adds_nothing_on_noise_and_on_a_clip():
    m = tone_measures(LineModule(1, 1, 8, 1, 0.0), FS, 8, seconds=1.0,
                      clip=torch.randn(2, FS) * 0.1)
    assert m.noise_excess_db.db == pytest.approx(0.0, abs=1e-9)
    assert m.audio_excess_db.db == pytest.approx(0.0, abs=1e-9)
    assert abs(m.noise_db_above_floor.db) < 3.0  # white noise: no line stands out
    assert m.silence_dbfs.note == "output exactly zero"


def test_an_added_line_on_noise_stands_above_the_welch_floor_by_hand():
    hop, a, length = 8, 0.3, 1 << 18
    x = np.random.default_rng(0).standard_normal((1, length))
    n = np.arange(length)
    y = x + a * np.cos(2 * np.pi * 1 * n / hop + 0.7)
    above, excess = lines_above_floor(y, FS, hop, reference=x)
    # per-bin power of unit white noise, one-sided "spectrum" scaling: 2 sum(w^2) / sum(w)^2
    w = sps.get_window("blackmanharris", choose_nperseg(length, multiple_of=hop,
                                                       min_segments=MIN_SEGMENTS,
                                                       max_nperseg=2**16))
    noise_bin = 2 * np.sum(w**2) / np.sum(w) ** 2
    expected = 10 * math.log10(1 + a * a / 2 / noise_bin)  # 19.7 dB
    assert expected > 15
    assert above.db == pytest.approx(expected, abs=0.3) and above.frequency_hz == FS / hop
    assert excess.db == pytest.approx(expected, abs=1.0) and excess.frequency_hz == FS / hop
    # upsampled by 4 (nearest, lines then at fs / 4 multiples), through tone_measures
    # (nearest puts a null at the lines: without the line it adds nothing there)
    m = tone_measures(LineModule(1, 4, 4, 1, 0.05), FS, 4, seconds=4.0)
    assert m.noise_excess_db.frequency_hz == 4000.0 and m.noise_excess_db.db > 10
    assert tone_measures(LineModule(1, 4, 4, 1, 0.0), FS, 4, seconds=4.0).noise_excess_db.db < 0


def test_a_separators_sources_are_channels_and_an_added_line_shows_on_the_clip():
    clip = torch.from_numpy(sps.lfilter([1.0], [1.0, -0.9],
                                        np.random.default_rng(1).standard_normal((2, FS)))
                            ).float() * 0.05  # coloured "audio"
    hop = 16
    n = torch.arange(FS, dtype=torch.float64)
    tone = (0.1 * torch.cos(2 * math.pi * 3 * n / hop)).float()
    m = tone_measures(LineModule(1, 1, hop, 1, 0.0), FS, hop, clip=clip,
                      clip_runner=lambda x: torch.stack([x, x + tone]), seconds=0.5)
    assert m.audio_excess_db.frequency_hz == 3 * FS / hop and m.audio_excess_db.db > 15
    same = tone_measures(LineModule(1, 1, hop, 1, 0.0), FS, hop, clip=clip,
                         clip_runner=lambda x: torch.stack([x, x]), seconds=0.5)
    assert same.audio_excess_db.db == pytest.approx(0.0, abs=1e-9)


def test_an_exactly_periodic_output_gives_no_clamp_figure():
    """The issue's '+143 dB': an output that ignores its input is exactly periodic,
    its floor is rounding noise, and a floor clamp 150 dB below the total power
    turned the relative level into 'dB above floor'. Here: no figure, a reason."""
    torch.manual_seed(2)
    up = make_upsampler("subpixel", 2, 1, 4, bias=True)
    with torch.no_grad():
        up.conv.weight.zero_()  # a dead layer: only its per-phase biases remain
    m = tone_measures(up, FS, 4, seconds=1.0, clip=torch.randn(2, 4000))
    for line in (m.noise_db_above_floor, m.noise_excess_db, m.audio_db_above_floor,
                 m.audio_excess_db):
        assert line.db is None and "exactly periodic" in line.note
    # the audit's tone finder shows the clamp on the same output
    noise = torch.randn(1, 2, 4000)
    with torch.no_grad():
        y = up(noise)[0].double().numpy()
    tones = find_tones(y, FS, 4).tones
    assert all(t.level_db - t.relative_db == pytest.approx(150.0) for t in tones)
    # the silence and constant lines are real, exact measures
    assert m.silence_dbfs.db is not None and m.constant_db_re_rms.db is not None
    assert m.silence_dbfs.db - m.constant_db_re_rms.db == pytest.approx(
        10 * math.log10(float(np.mean(y * y)) / 0.5), abs=1e-4)


def test_too_short_a_signal_says_so_and_a_zero_clip_has_no_excess():
    above, excess = lines_above_floor(np.random.default_rng(0).standard_normal(2000), FS, 16)
    assert above.db is None and "too short" in above.note and "2176" in above.note
    y = np.random.default_rng(0).standard_normal((1, 1 << 14))
    above, excess = lines_above_floor(y, FS, 4, reference=np.zeros((1, 1 << 14)))
    assert above.db is not None
    assert excess.db is None and excess.note == "input output exactly zero"


def test_tone_measures_round_trip_through_json():
    m = tone_measures(make_upsampler("subpixel", 2, 1, 4, bias=True), FS, 4, seconds=0.5)
    back = ToneMeasures.from_dict(json.loads(json.dumps(m.to_dict())))
    assert back == m
    assert set(ToneMeasures.COLUMNS) == set(ToneMeasures.LINES)
    assert all(text.endswith(".") and text.count(". ") == 0
               for text in ToneMeasures.COLUMNS.values())  # one sentence each
