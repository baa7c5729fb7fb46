"""The figures of Pons et al. 2021, reproduced as numbers (upsamplers.analysis.figures).

Each test states the paper's claim as a bar in dB or Hz and checks the measured
table against it; the expected patterns of Fig. 5 are derived here by counting.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from upsamplers import cli
from upsamplers._checks import UserInputError
from upsamplers.analysis import figures
from upsamplers.cli import main


@pytest.fixture(scope="module")
def fig9():
    return figures.fig9(seed=0)


def _rows(result, prefix):
    return [r for r in result.rows if str(r[0]).startswith(prefix)]


@pytest.mark.parametrize("build", [figures.fig7, figures.fig8], ids=["fig7", "fig8-left"])
def test_stacked_x2_layers_with_ones_put_tones_where_the_paper_shows_them(build):
    result = build(seed=0)
    expected = {"layer 1": [4000.0], "layer 2": [4000.0, 8000.0],
                "layer 3": [4000.0, 8000.0, 12000.0, 16000.0]}
    for layer, freqs in expected.items():
        rows = [r for r in result.rows if layer in str(r[0])]
        assert [r[1] for r in rows] == freqs
        for _, f0, measured, above_floor, *_ in rows:
            bin_width = 8000.0 / 1024  # 4096 ones in, trimmed, at >= 8 kHz: <= 7.8 Hz bins
            assert abs(measured - f0) <= bin_width
            assert above_floor >= 30.0
    tone_checks = [c for c in result.checks if "tone at" in c.claim]
    assert len(tone_checks) == 7 and all(c.passed for c in tone_checks)


def test_fig8_right_linear_interpolation_filters_and_notches_without_tones():
    result = figures.fig8(seed=0)
    rows = _rows(result, "right: 0.")
    assert [r[1] for r in rows] == [1000.0, 1500.0, 1800.0]
    # theory written out: x2 linear (align_corners=False) is |cos(pi f / fs)|**3 per
    # stage, at 8, 16 and 32 kHz
    for _, f0, _, measured, _, _ in rows:
        theory = sum(60 * np.log10(np.cos(np.pi * f0 / fs)) for fs in (8e3, 16e3, 32e3))
        assert measured == pytest.approx(theory, abs=0.5)
    notches = _rows(result, "right: notch")
    assert [r[1] for r in notches] == [4000.0, 8000.0, 16000.0]
    assert all(r[3] <= -40.0 for r in notches)
    assert next(c for c in result.checks if "no tone" in c.claim).passed
    assert result.passed


def test_fig6_interpolation_stacks_valleys_replicas_no_tones():
    result = figures.fig6(seed=0)
    for label in ("nearest", "linear"):
        valleys = [r for r in _rows(result, label) if r[1] == "valley"]
        assert [r[2] for r in valleys] == [4000.0, 8000.0, 16000.0]
        assert all(r[3] <= -30.0 for r in valleys)
        replicas = [r for r in _rows(result, label) if r[1] == "replica band"]
        assert replicas[0][2] == "2000-6000" and replicas[0][3] > -40.0
        for r in replicas:  # measured vs predicted from the stack's weights
            assert r[3] == pytest.approx(r[4], abs=1.0)
    no_tone = [c for c in result.checks if "no tone" in c.claim]
    assert len(no_tone) == 2 and all(c.passed for c in no_tone)
    assert result.passed


def _contributions(stride: int, kernel: int, n_in: int) -> np.ndarray:
    """Ones weights and input: how many input samples write each output sample."""
    out = np.zeros((n_in - 1) * stride + kernel)
    for t in range(n_in):
        out[t * stride: t * stride + kernel] += 1
    return out


def test_fig5_overlap_patterns_and_boundary_ramps():
    result = figures.fig5(seed=0)
    rows = {r[0]: r[1:] for r in result.rows}
    partial = _contributions(6, 8, 32)[16:-16]
    period, ripple, left, right = rows["stride 6 (partial), ones"]
    assert period == 6
    assert ripple == pytest.approx(np.ptp(partial) / partial.mean())
    assert (left, right) == (2, 2)  # 2 of every 6 samples overlap: the ramp's length
    period, ripple, left, right = rows["stride 4 (full), ones"]
    assert (period, ripple) == (1, 0.0)
    assert (left, right) == (8 - 4, 8 - 4)  # kernel - stride samples ramp at each end
    for stride in (6, 4):
        label = f"stride {stride} ({'partial' if stride == 6 else 'full'}), random"
        period, ripple, _, _ = rows[label]
        assert period == stride and ripple > 0.01
    assert result.passed


def test_fig9_melgan_tones_and_comb(fig9):
    original = _rows(fig9, "MelGAN-like original")[0]
    assert original[1] == 5512.5 and original[2] >= 30.0
    assert original[4] == 16  # all 16 comb lines at k * 22050 / 32 found
    assert original[5] >= 30.0  # the weakest of them at least 30 dB above its floor


def test_fig9_demucs_transposed_and_subpixel_tone_nearest_notch(fig9):
    for variant in ("transposed", "subpixel"):
        row = _rows(fig9, f"Demucs-like {variant}")[0]
        assert row[1] == 11025.0 and row[2] >= 30.0
    nearest = _rows(fig9, "Demucs-like nearest")[0]
    assert nearest[2] <= -10.0  # a valley below the local floor, not a tone
    assert nearest[4] == 0  # no tone at any stage's comb
    assert nearest[5] < 0.0  # below the band under 5512.5 Hz


def test_fig9_modified_variants_have_much_weaker_tones(fig9):
    for name in ("MelGAN-like", "Demucs-like"):
        row = _rows(fig9, f"{name}: original - modified")[0]
        assert row[4] >= 10.0  # tone power difference, dB
        assert row[2] >= 10.0  # difference of the levels above the floor, dB
    assert fig9.passed, [c for c in fig9.checks if not c.passed]


@pytest.fixture
def user_errors_only(monkeypatch):
    """The command line as it is meant to be: only UserInputError is reported as the
    user's error (one line, exit 2); anything else is a bug and raises."""
    monkeypatch.setattr(cli, "_USER_ERRORS", (UserInputError,), raising=False)


def test_figures_command_writes_tables_and_pngs(tmp_path, capsys, user_errors_only):
    assert main(["figures", "--out", str(tmp_path), "--only", "fig5,fig7"]) == 0
    data = json.loads((tmp_path / "figures.json").read_text())
    assert [d["name"] for d in data] == ["fig5", "fig7"] and all(d["passed"] for d in data)
    assert "## fig7" in (tmp_path / "figures.md").read_text()
    assert (tmp_path / "fig7_layer3.png").read_bytes()[:4] == b"\x89PNG"
    capsys.readouterr()
    assert main(["figures", "--out", str(tmp_path), "--only", "fig99"]) == 2
    assert "figure must be one of fig5, fig6, fig7, fig8, fig9; received 'fig99'" in (
        capsys.readouterr().err)
    assert main(["figures", "--out", str(tmp_path), "--only", "fig5"]) == 2
    assert "already exist; pass --force" in capsys.readouterr().err
