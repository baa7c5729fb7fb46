"""MUSDB18-HQ as it is distributed, ``compare --preset paper`` (Pons et al.'s
Table 1 setting) trained here and on "a cluster" (separate ``upsamplers train``
invocations gathered with ``--collect``), and ``--test-data``: every trained
model scored outside its training data, the validation-minus-test gap."""

import json
import warnings

import numpy as np
import pytest
import soundfile as sf
import torch
from tiny_runs import snapshot

from upsamplers.cli import get_parser, main
from upsamplers.cli.compare import _config
from upsamplers.compare import CompareConfig
from upsamplers.compare import generalisation as gen
from upsamplers.data import SkippedFileWarning, StemFolder, folder_stems, is_stem_folder
from upsamplers.evaluate import evaluate
from upsamplers.metrics import si_sdr
from upsamplers.models import load_model

pytestmark = pytest.mark.usefixtures("one_thread")

MUSDB_RATE = 44100
STEMS = ("vocals", "drums", "bass", "other")
# the tiny override of the paper's model and budget: a CPU trains it in a second
TINY_MODEL = ["--model-option", "width=4", "--model-option", "depth=2",
              "--model-option", "lstm_layers=1"]
TINY_BUDGET = ["--steps", "2", "--crop", "1024", "--batch-size", "2", "--eval-every", "1",
               "--eval-seconds", "0.5", "--min-steps", "2", "--plateau-db", "1000"]
TINY_MEASURES = ["--audit-seconds", "0.5", "--clip-seconds", "0.25", "--timing-steps", "2",
                 "--no-naive-timing", "--no-progress"]


def track(folder, seconds, seed, rate=MUSDB_RATE, stems=STEMS, missing=(), channels=2):
    """A MUSDB track folder: one stereo file per stem (tones and a little noise)
    and ``mixture.wav`` (the sum, as MUSDB ships it); ``missing`` stems left out."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    mix = np.zeros((n, channels), np.float32)
    for k, stem in enumerate(stems):
        f = rng.uniform(80, 4000) * (k + 1) ** 0.5
        x = np.stack([0.2 * np.sin(2 * np.pi * f * t + c) for c in range(channels)], 1)
        x = (x + 0.02 * rng.standard_normal(x.shape)).astype(np.float32)
        mix += x
        if stem not in missing:
            sf.write(folder / f"{stem}.wav", x, rate)
    # a mixture unlike the stems' sum: were it read as a stem, the scores would show it
    sf.write(folder / "mixture.wav", -mix, rate)


def musdb(root, *, train=3, test=2, seconds=1.0, missing=None, **kw):
    """``root/train/<track>/...`` and ``root/test/<track>/...`` as MUSDB18-HQ;
    ``missing``: ``(split, index, stem)`` of one stem left out."""
    for split, count in (("train", train), ("test", test)):
        for i in range(count):
            gone = (missing[2],) if missing and missing[:2] == (split, i) else ()
            track(root / split / f"Artist {i} - Song {split}", seconds, 100 * i + len(split),
                  missing=gone, **kw)
    return root


@pytest.fixture
def tiny_musdb(tmp_path):
    return musdb(tmp_path / "musdb", missing=("train", 1, "bass"))


# --------------------------------------------------------------------------- data


def test_musdb_layout_is_read_as_it_is(tiny_musdb):
    """4 stereo stems at 44.1 kHz, mixture.wav not a stem, a track missing a stem
    skipped with one line naming it and the stem, the test/ folder the
    validation split, and a test/-only folder read whole."""
    assert is_stem_folder(tiny_musdb) and folder_stems(tiny_musdb) == tuple(sorted(STEMS))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train = StemFolder(tiny_musdb, split="train", sample_rate=MUSDB_RATE, channels=2,
                           crop=1024)
    lines = [str(w.message) for w in caught if w.category is SkippedFileWarning]
    assert len(lines) == 1 and "Artist 1 - Song train" in lines[0] and "bass" in lines[0]
    assert [c.name for c in train.clips] == ["train/Artist 0 - Song train",
                                            "train/Artist 2 - Song train"]
    mixture, sources = train[0]
    assert sources.shape == (4, 2, 1024) and train.stems == tuple(sorted(STEMS))
    torch.testing.assert_close(mixture, sources.sum(0))  # the stems' sum, not mixture.wav
    validation = StemFolder(tiny_musdb, split="validation", sample_rate=MUSDB_RATE, channels=2,
                            min_length=1)
    assert [c.name.split("/")[0] for c in validation.clips] == ["test", "test"]
    # a held-out set as distributed, test/ alone: every track, whole
    only_test = musdb(tiny_musdb.parent / "only", train=0, test=2, seconds=0.2)
    whole = StemFolder(only_test, split="all", sample_rate=MUSDB_RATE, channels=2,
                       min_length=1)
    assert len(whole.clips) == 2 and whole.track(0)[2].shape == (4, 2, int(0.2 * MUSDB_RATE))
    # random training crops still need a crop's length
    with pytest.raises(ValueError, match="min_length must be >= crop=1024 when random"):
        StemFolder(tiny_musdb, split="train", channels=2, crop=1024, min_length=1)


def test_short_tracks_are_scored_whole_and_too_short_ones_skipped(tmp_path):
    """evaluate scores a 1.02 s track at 16 kHz (16320 samples, shorter than one
    crop, 16384), skips one of 100 samples (fewer than the metrics need) with one
    line naming it, and means over the scored tracks only."""
    rate = 16000
    root = tmp_path / "stems"
    for i in range(2):
        track(root / "train" / f"t{i}", 1.2, i, rate=rate, stems=("bass", "voice"), channels=1)
    track(root / "validation" / "short", 1.02, 7, rate=rate, stems=("bass", "voice"),
          channels=1)
    track(root / "validation" / "tiny", 100 / rate, 8, rate=rate, stems=("bass", "voice"),
          channels=1)
    track(root / "validation" / "long", 3.0, 9, rate=rate, stems=("bass", "voice"), channels=1)
    out = tmp_path / "run"
    assert main(["train", "--model", "demucs", "--upsampler", "linear", "--data", str(root),
                 "--steps", "1", "--batch-size", "2", "--crop", "1024", *TINY_MODEL,
                 "--out", str(out), "--no-progress"]) == 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = evaluate(out / "model.pt", data=root)
    skipped = [str(w.message) for w in caught if w.category is SkippedFileWarning]
    assert len(skipped) == 1 and "tiny" in skipped[0] and "100 samples" in skipped[0]
    assert sorted(t["track"] for t in result["tracks"]) == ["validation/long",
                                                            "validation/short"]
    model = load_model(out / "model.pt").eval()
    values = []
    for name in ("long", "short"):
        stems = np.stack([sf.read(root / "validation" / name / f"{s}.wav", dtype="float32")[0]
                          for s in model.source_names])
        sources = torch.from_numpy(stems)[:, None]  # (S, 1, T)
        assert name != "short" or sources.shape[-1] == 16320
        values.append(float(np.mean(si_sdr(model.process_long(sources.sum(0)), sources))))
    assert result["mean"]["si_sdr"] == pytest.approx(np.mean(values), abs=1e-6)
    assert all(np.isfinite(v) for v in result["mean"].values())


# --------------------------------------------------------------------------- the preset


def test_preset_paper_fills_the_settings_and_explicit_flags_win(tiny_musdb):
    config = CompareConfig(preset="paper", data=str(tiny_musdb))
    options = config.model_options
    assert (options["depth"], options["width"], options["kernel_size"], options["factor"],
            options["lstm_layers"], options["audio_channels"]) == (6, 64, 8, 4, 2, 2)
    assert config.sample_rate == 44100 and config.model == "demucs"
    assert config.variants == ("transposed", "subpixel", "nearest", "linear")
    assert config.crop % 4 ** 6 == 0 and config.lr == 3e-4
    config.validate()
    args = get_parser().parse_args(
        ["compare", "--preset", "paper", "--data", str(tiny_musdb), "--out", "x",
         "--variants", "nearest", "--crop", "2048", "--sample-rate", "22050",
         "--model-option", "width=8", "--minutes", "1"])
    mine = _config(args)
    assert mine.variants == ("nearest",) and mine.crop == 2048 and mine.sample_rate == 22050
    assert mine.model_options["width"] == 8 and mine.model_options["depth"] == 6
    assert mine.steps is None and mine.minutes == 1  # the preset's steps do not displace it
    mine.validate()


def test_preset_paper_refuses_without_data_or_with_another_task(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", "--preset", "paper", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "preset='paper' needs data" in err[0] and "MUSDB" in err[0]
    assert "received data=None" in err[0]
    assert main(["compare", "--preset", "paper", "--task", "bandwidth", "--data", str(tmp_path),
                 "--out", str(out)]) == 2
    assert "preset='paper' runs task 'separate'; received task='bandwidth'" in \
        capsys.readouterr().err
    assert main(["compare", "--minutes", "0", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["upsamplers compare: error: minutes must be a finite number > 0; "
                   "received minutes=0.0"]
    assert not out.exists()


def _independent_mean(model, folder):
    """Mean over the tracks of ``folder`` (every ``<track>/``) of SI-SDR averaged
    over sources and channels, computed here from the stem files."""
    values = []
    for trackdir in sorted(p for p in folder.iterdir() if p.is_dir()):
        stems = np.stack([sf.read(trackdir / f"{s}.wav", dtype="float32")[0].T
                          for s in model.source_names])  # (S, C, T)
        sources = torch.from_numpy(stems)
        values.append(float(np.mean(si_sdr(model.process_long(sources.sum(0)), sources))))
    return float(np.mean(values))


def test_preset_paper_runs_here_and_on_a_cluster_with_test_data(tiny_musdb, tmp_path, capsys):
    """The paper's setting with a tiny model and budget on a MUSDB folder, scored
    on another MUSDB-layout folder: trained here, then trained in separate
    ``upsamplers train`` invocations and gathered with ``--collect``. The gap is
    validation minus test, recomputed here from the saved models and the files."""
    elsewhere = musdb(tmp_path / "other", train=0, test=2, seconds=0.6)  # test/ only
    out = tmp_path / "cmp"
    assert main(["compare", "--preset", "paper", "--data", str(tiny_musdb), "--test-data",
                 str(elsewhere), "--seeds", "1", "--jobs", "1", *TINY_MODEL, *TINY_BUDGET,
                 *TINY_MEASURES, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "skipping" in err and "Artist 1 - Song train: missing stem(s) bass" in err
    report = json.loads((out / "report.json").read_text())
    assert list(report["variants"]) == ["transposed", "subpixel", "nearest", "linear"]
    assert report["settings"]["sample_rate"] == 44100 and report["settings"]["preset"] == "paper"
    setting = report["published"]["setting"]
    assert "stereo, 44.1 kHz (as theirs)" in setting[0] and "smaller than" in setting[1]
    assert [r["variant"] for r in report["published"]["rows"]] == list(report["variants"])
    g = report["generalisation"]
    assert g["metric"] == "si_sdr" and g["unit"] == "dB"
    for row in g["rows"]:
        model = load_model(out / "runs" / row["variant"] / "seed-0" / "model.pt").eval()
        assert model.audio_channels == 2 and model.sources == 4
        validation = _independent_mean(model, tiny_musdb / "test")
        test = _independent_mean(model, elsewhere / "test")
        assert row["validation"]["mean"] == pytest.approx(validation, abs=1e-5)
        assert row["test"]["mean"] == pytest.approx(test, abs=1e-5)
        assert row["gap"]["mean"] == pytest.approx(validation - test, abs=1e-5)
    md = (out / "report.md").read_text()
    assert "## Outside the training data" in md and str(elsewhere) in md

    # the same setting on "a cluster": one `upsamplers train` per variant and seed
    runs = []
    for kind in ("subpixel", "linear"):
        for seed in (0, 1):
            folder = tmp_path / "cluster" / f"{kind}-{seed}"
            assert main(["train", "--model", "demucs", "--upsampler", kind, "--data",
                         str(tiny_musdb), "--sample-rate", "44100", "--seed", str(seed),
                         "--model-option", "audio_channels=2", "--model-option", "modified=true",
                         "--model-option", "kernel_size=8", "--model-option", "factor=4",
                         *TINY_MODEL, *TINY_BUDGET, "--lr", "3e-4", "--stft-weight", "0",
                         "--out", str(folder), "--no-progress"]) == 0
            runs.append(folder)
    collected = tmp_path / "collected"
    assert main(["compare", "--collect", *map(str, runs), "--preset", "paper", "--data",
                 str(tiny_musdb), "--test-data", str(elsewhere), *TINY_MEASURES,
                 "--out", str(collected)]) == 0
    report = json.loads((collected / "report.json").read_text())
    assert list(report["variants"]) == ["subpixel", "linear"]
    for row in report["generalisation"]["rows"]:
        gaps = []
        for seed, saved in zip((0, 1), report["variants"][row["variant"]]["seeds"], strict=True):
            model = load_model(tmp_path / "cluster" / f"{row['variant']}-{seed}" / "model.pt")
            gap = _independent_mean(model.eval(), tiny_musdb / "test") - _independent_mean(
                model, elsewhere / "test")
            assert saved["test"]["metrics"]["si_sdr"] == pytest.approx(
                _independent_mean(model, elsewhere / "test"), abs=1e-5)
            gaps.append(gap)
        assert row["gap"]["values"] == pytest.approx(gaps, abs=1e-5)
        assert row["gap"]["mean"] == pytest.approx(np.mean(gaps), abs=1e-5)
        assert row["gap"]["spread"] == pytest.approx(np.std(gaps, ddof=1), abs=1e-5)


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("case", ["wrong stems", "plain audio", "missing", "empty"])
def test_test_data_is_refused_before_any_training(tiny_musdb, tmp_path, capsys, case):
    """The default separator (speech / music, the embedded mix folder) given test
    data it cannot be scored on: one line naming the folder, the sources found
    and expected, before anything is trained or written."""
    folder = tmp_path / "test-data"
    if case == "wrong stems":
        folder = tiny_musdb
    elif case == "plain audio":
        folder.mkdir()
        sf.write(folder / "a.wav", np.zeros(4000, np.float32), 16000)
    elif case == "empty":
        folder.mkdir()
    out = tmp_path / "cmp"
    before = snapshot(tmp_path)
    assert main(["compare", "--test-data", str(folder), "--steps", "1", "--seeds", "1",
                 "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(folder) in err[0]
    expected = {"wrong stems": "holds stems bass, drums, other, vocals; the demucs model "
                               "separates speech, music",
                "plain audio": "holds no stems (not a stem folder",
                "missing": "(no such folder)", "empty": "holds no audio files"}[case]
    assert expected in err[0]
    assert snapshot(tmp_path) == before and not out.exists()


def test_generalisation_section_reads_the_gap_per_seed():
    """The report's builder on hand-made runs: test means, gap = validation minus
    test per seed, its spread, and the least-loss variant with its ties."""
    class Run:
        def __init__(self, seed, validation, test):
            self.seed, self.metrics = seed, {"si_sdr": validation}
            self.test = {"metrics": {"si_sdr": test}, "skipped": []}

    class Summary:
        def __init__(self, variant, runs):
            self.variant, self.runs, self.status = variant, runs, "converged"

    summaries = [Summary("subpixel", [Run(0, 5.0, 1.0), Run(1, 6.0, 1.0)]),
                 Summary("linear", [Run(0, 4.0, 3.5), Run(1, 4.0, 3.0)])]
    config = CompareConfig(test_data="elsewhere")
    built = gen.generalisation(summaries, "si_sdr", config)
    rows = {r["variant"]: r for r in built["rows"]}
    assert rows["subpixel"]["gap"]["values"] == [4.0, 5.0]
    assert rows["subpixel"]["gap"]["spread"] == pytest.approx(np.std([4.0, 5.0], ddof=1))
    assert rows["linear"]["test"]["mean"] == pytest.approx(3.25)
    assert rows["linear"]["gap"]["mean"] == pytest.approx(0.75)
    assert built["smallest_gap"] == ["linear"]
    md = gen.test_section({"generalisation": built})
    assert "| linear | converged | 4.00 ± 0.00 | 3.25 ± 0.35 | 0.75 ± 0.35 | n/a |" in md
    # with the baseline's test figure: the improvement over it on the test data
    built = gen.generalisation(summaries, "si_sdr", config, {"si_sdr": 2.0})
    rows = {r["variant"]: r for r in built["rows"]}
    assert rows["linear"]["test_improvement"]["values"] == [1.5, 1.0]
    md = gen.test_section({"generalisation": built})
    assert "| baseline | - | - | 2.00 | - | 0 (reference) |" in md
    assert "| subpixel | converged | 5.50 ± 0.71 | 1.00 ± 0.00 | 4.50 ± 0.71 | -1.00 ± 0.00 |" in md
    assert gen.generalisation(summaries, "si_sdr", CompareConfig()) is None
    assert gen.test_section({"generalisation": None}) == []
