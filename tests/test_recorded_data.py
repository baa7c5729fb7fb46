"""The embedded recorded data (speech, music) and the speech-vs-music mix folder.

The manifests are checked against the files (sha256, rates, lengths, licences),
the mix folder's items against the source files read independently with
soundfile, and the sets are used as the package uses a data set: scoring,
a separator's training pair, training, compare's data check and
``upsamplers evaluate``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from upsamplers._checks import InvalidValue, UserFileError
from upsamplers.cli import main
from upsamplers.compare.config import CompareConfig
from upsamplers.compare.signals import check_data
from upsamplers.data import (
    DATA_ENV,
    EMBEDDED,
    AudioFolder,
    MixedSignals,
    MixedSources,
    default_data_dir,
    embedded_data_dir,
    is_stem_folder,
    open_dataset,
)
from upsamplers.models import Autoencoder, DemucsLike, load_model
from upsamplers.scoring import validation_signals
from upsamplers.train import TrainConfig, train

pytestmark = pytest.mark.usefixtures("one_thread")

RATE = 16000
RECORDED = ("speech", "music")
# the licence texts each set's LICENSE.txt must carry (its source packages' licences)
LICENCE_TEXT = {"speech": ("GNU Free Documentation License",
                           "creativecommons.org/licenses/by-sa/3.0",
                           "creativecommons.org/licenses/by/3.0"),
                "music": ("GNU GENERAL PUBLIC LICENSE", "CC0 1.0 Universal",
                          "creativecommons.org/licenses/by-sa/3.0")}
LICENCES = {"CC0-1.0", "CC-BY-3.0", "CC-BY-SA-3.0", "GPL-2", "GPL-2+", "GFDL-1.3"}
GROUP = {"speech": "speaker", "music": "piece"}
# what the issue asks of the data: (minutes, speakers or pieces) of train, and of
# validation (minutes, files)
NEEDED = {"train": (20.0, {"speech": 10, "music": 20}), "validation": (3.0, 10)}
CROP = 4096


def _manifest(name: str) -> dict:
    return json.loads((embedded_data_dir(name) / "manifest.json").read_text())


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read(path: Path) -> np.ndarray:
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    assert rate == RATE
    return data.T  # (T, C) -> (C, T)


def _audio_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.suffix in (".flac", ".ogg", ".wav"))


# ----------------------------------------------------------------- the embedded sets


def test_embedded_data_dir_names_every_set_and_rejects_others(monkeypatch):
    assert set(EMBEDDED) == {"chorales", "speech", "music", "speech_music"}
    for name in EMBEDDED:
        assert embedded_data_dir(name).is_dir()
    with pytest.raises(InvalidValue, match="chorales.*speech.*music.*speech_music"):
        embedded_data_dir("podcasts")
    monkeypatch.delenv(DATA_ENV, raising=False)
    assert default_data_dir() == embedded_data_dir("chorales")


@pytest.mark.parametrize("name", RECORDED)
def test_manifest_describes_every_file_exactly(name):
    root = embedded_data_dir(name)
    manifest = _manifest(name)
    assert sorted(f["file"] for f in manifest["files"]) == _audio_files(root)  # none unlisted
    assert manifest["sample_rate"] == RATE and manifest["channels"] == 1
    sources = {s["package"]: s for s in manifest["sources"]}
    licence = (root / "LICENSE.txt").read_text()
    for text in LICENCE_TEXT[name]:
        assert text in licence, text
    for package, source in sources.items():
        assert source["version"] and len(source["archive_sha256"]) == 64, package
        assert source["archive"].startswith(package + "_") and source["archive"].endswith(".deb")
        assert f"===== {package} {source['version']}" in licence, package  # its copyright
    for entry in manifest["files"]:
        path = root / entry["file"]
        assert _sha256(path) == entry["sha256"], entry["file"]
        info = sf.info(str(path))
        assert (info.samplerate, info.channels) == (RATE, 1)
        # validation is lossless, train may be lossy (Ogg Vorbis)
        expected = {"validation": ("FLAC", "PCM_16"), "train": ("OGG", "VORBIS")}
        assert (info.format, info.subtype) == expected[entry["split"]], entry["file"]
        assert info.frames == entry["samples"] >= CROP
        assert entry["seconds"] == pytest.approx(info.frames / RATE, abs=1e-9)
        assert entry["split"] == Path(entry["file"]).parts[0]
        assert entry[GROUP[name]], entry["file"]
        source = entry["source"]
        assert source["package"] in sources and source["paths"], entry["file"]
        assert source["version"] == sources[source["package"]]["version"]
        assert source["licence"] in LICENCES, entry["file"]
        peak = np.abs(_read(path)).max()
        # FLAC keeps the peak to the 16-bit step; Vorbis's error moves it a little
        tolerance = 2 / 32768 if entry["split"] == "validation" else 0.05
        assert peak == pytest.approx(manifest["peak"], abs=tolerance), entry["file"]
        assert peak < 1, entry["file"]  # never clipped
    for split in ("train", "validation"):
        seconds = sum(f["seconds"] for f in manifest["files"] if f["split"] == split)
        assert manifest["seconds"][split] == pytest.approx(seconds, abs=1e-3)


@pytest.mark.parametrize("name", RECORDED)
def test_each_set_has_the_minutes_speakers_or_pieces_asked_for(name):
    manifest = _manifest(name)
    key = GROUP[name]
    groups = {split: {f[key] for f in manifest["files"] if f["split"] == split}
              for split in ("train", "validation")}
    assert manifest[f"{key}s"] == {s: sorted(g) for s, g in groups.items()}
    # speaker- or piece-disjoint: no validation file shares a speaker or piece with train,
    # nor a source recording
    assert not groups["train"] & groups["validation"]
    paths = {split: {p for f in manifest["files"] if f["split"] == split
                     for p in f["source"]["paths"]} for split in ("train", "validation")}
    assert not paths["train"] & paths["validation"]
    minutes = {split: sum(f["samples"] for f in manifest["files"] if f["split"] == split)
               / RATE / 60 for split in ("train", "validation")}
    train_minutes, train_groups = NEEDED["train"]
    assert minutes["train"] >= train_minutes and len(groups["train"]) >= train_groups[name]
    validation_minutes, validation_files = NEEDED["validation"]
    tracks = [f for f in manifest["files"] if f["split"] == "validation"]
    assert minutes["validation"] >= validation_minutes and len(tracks) >= validation_files
    assert all(f["seconds"] >= 15 for f in tracks)  # each long enough to score


@pytest.mark.parametrize("name", RECORDED)
def test_each_recorded_set_loads_with_disjoint_train_and_validation(name):
    root = embedded_data_dir(name)
    assert not is_stem_folder(root)
    train_set = open_dataset("audio", root, split="train", crop=CROP)
    validation = open_dataset("audio", root, split="validation", crop=CROP)
    assert isinstance(train_set, AudioFolder) and isinstance(validation, AudioFolder)
    manifest = _manifest(name)
    assert len(train_set.clips) == sum(f["split"] == "train" for f in manifest["files"])
    assert len(validation.clips) == sum(f["split"] == "validation" for f in manifest["files"])
    assert not train_set.skipped and not validation.skipped
    stems = {Path(c.name).stem for c in train_set.clips}
    assert stems.isdisjoint(Path(c.name).stem for c in validation.clips)
    assert train_set[0].shape == (1, CROP)


def test_the_embedded_data_stays_within_75_mb():
    total = sum(p.stat().st_size for p in embedded_data_dir("chorales").parent.rglob("*")
                if p.is_file())
    assert total <= 75e6, f"{total / 1e6:.1f} MB"


# ----------------------------------------------------------------- the mix folder


def _mix_folder(tmp_path: Path, gain_db=(0, 0)) -> Path:
    """A mix folder over the embedded speech and music, with the given gain range."""
    root = tmp_path / "mix"
    root.mkdir()
    (root / "mix.json").write_text(json.dumps({
        "sources": {"speech": str(embedded_data_dir("speech")),
                    "music": str(embedded_data_dir("music"))},
        "gain_db": list(gain_db)}))
    return root


def _find(crop: np.ndarray, files: list[Path]) -> tuple[Path, int, float]:
    """Where ``crop`` ``(C, N)`` is in ``files``, up to a gain: ``(file, start, gain)``;
    the best normalised cross-correlation, then checked sample by sample."""
    from scipy.signal import correlate

    n = crop.shape[-1]
    for path in files:
        audio = _read(path)
        corr = correlate(audio[0].astype(np.float64), crop[0].astype(np.float64), "valid")
        energy = np.concatenate([[0.0], np.cumsum(audio[0].astype(np.float64) ** 2)])
        norms = np.sqrt(np.maximum(energy[n:] - energy[:-n], 0.0))
        loud = norms > 1e-3 * np.linalg.norm(crop[0])  # windows of near silence left out
        score = np.where(loud, np.abs(corr) / np.where(loud, norms, 1.0), 0.0)
        start = int(np.argmax(score))
        window = audio[:, start:start + n]
        gain = float(np.dot(window[0], crop[0]) / np.dot(window[0], window[0]))
        if np.allclose(window * gain, crop, atol=1e-6):
            return path, start, gain
    raise AssertionError("the crop is not a window of any source file")


def test_mix_items_are_independent_windows_of_each_source_summed(tmp_path):
    data = open_dataset("stems", _mix_folder(tmp_path, gain_db=(-6, -6)), crop=CROP, seed=3)
    assert isinstance(data, MixedSources) and data.stems == ("speech", "music")
    mixture, sources = data[11]
    assert mixture.shape == (1, CROP) and sources.shape == (2, 1, CROP)
    assert torch.equal(mixture, sources.sum(0))
    for i, name in enumerate(data.stems):
        files = sorted((embedded_data_dir(name) / "train").glob("*.ogg"))
        path, _, gain = _find(sources[i].numpy(), files)
        assert gain == pytest.approx(10 ** (-6 / 20), rel=1e-5), (name, path)


def test_mix_items_are_deterministic_in_seed_and_index():
    root = embedded_data_dir("speech_music")
    a = MixedSources(root, crop=CROP, seed=5)
    b = MixedSources(root, crop=CROP, seed=5)
    for index in (0, 7, 123456):
        torch.testing.assert_close(a[index][1], b[index][1], rtol=0, atol=0)
    assert not torch.equal(a[0][1], a[1][1])
    assert not torch.equal(a[0][1], MixedSources(root, crop=CROP, seed=6)[0][1])
    # a random gain in [-6, 0] dB per source: never louder than the files' peak
    assert all(float(a[k][1].abs().max()) <= 0.9 + 1e-4 for k in range(8))


def test_mix_validation_tracks_pair_the_validation_files(tmp_path):
    data = open_dataset("stems", embedded_data_dir("speech_music"), split="validation",
                        crop=CROP, stems=["music", "speech"])
    files = {name: sorted((embedded_data_dir(name) / "validation").glob("*.flac"))
             for name in ("music", "speech")}
    assert len(data.clips) == min(len(f) for f in files.values()) >= 10
    assert sum(c.frames for c in data.clips) / RATE >= 180  # three minutes of mixtures
    signals = list(validation_signals(data))
    assert [s[0] for s in signals] == [c.name for c in data.clips]
    for i, (name, mixture, sources) in enumerate(signals):
        music, speech = (_read(files[s][i]) for s in ("music", "speech"))
        length = min(music.shape[-1], speech.shape[-1])
        assert name == f"{files['music'][i].stem}+{files['speech'][i].stem}"
        assert sources.shape == (2, 1, length)
        np.testing.assert_array_equal(sources[0].numpy(), music[:, :length])
        np.testing.assert_array_equal(sources[1].numpy(), speech[:, :length])
        torch.testing.assert_close(mixture, sources.sum(0), rtol=0, atol=0)
    # the items of the validation split are the tracks' consecutive crops
    mixture, sources = data[0]
    torch.testing.assert_close(sources, signals[0][2][..., :CROP], rtol=0, atol=0)
    assert len(data) == sum(c.frames // CROP for c in data.clips)


def test_a_separator_takes_the_mix_as_it_takes_a_stem_folder():
    data = open_dataset("stems", embedded_data_dir("speech_music"), crop=CROP)
    batch = torch.utils.data.default_collate([data[k] for k in range(3)])
    model = DemucsLike(**DemucsLike.options_for_data(
        {"width": 4, "depth": 2, "lstm_layers": 0, "length": CROP}, data))
    assert list(model.source_names) == ["speech", "music"]
    inputs, targets = model.training_pair(batch)
    assert inputs.shape == (3, 1, CROP) and targets.shape == (3, 2, 1, CROP)
    assert model(inputs).shape == targets.shape
    mixtures = open_dataset("audio", embedded_data_dir("speech_music"), crop=CROP)
    assert isinstance(mixtures, MixedSignals)
    torch.testing.assert_close(mixtures[2], data[2][0], rtol=0, atol=0)


def test_training_compare_and_evaluate_read_the_mix_folder(tmp_path, capsys):
    root = embedded_data_dir("speech_music")
    assert is_stem_folder(root)
    options = {"width": 4, "depth": 2, "lstm_layers": 0}
    assert check_data(CompareConfig(model="demucs", data=str(root), crop=CROP,
                                    model_options=options)) == root
    config = TrainConfig(model="demucs", data=str(root), steps=2, batch_size=2, crop=CROP,
                         checkpoint_every=100, log_every=1, model_options=options)
    result = train(config, tmp_path / "run", progress=False)
    assert len(result.history) == 2 and all(np.isfinite(h["loss"]) for h in result.history)
    model = load_model(tmp_path / "run" / "model.pt")
    assert list(model.source_names) == ["speech", "music"]
    report = tmp_path / "separate.json"
    assert main(["evaluate", "--checkpoint", str(tmp_path / "run" / "model.pt"), "--data",
                 str(root), "--out", str(report), "--audit-seconds", "0.25",
                 "--no-progress"]) == 0
    scored = json.loads(report.read_text())
    assert [t["track"] for t in scored["tracks"]] == [
        c.name for c in MixedSources(root, split="validation", crop=CROP).clips]
    assert set(scored["per_source"]) == {"speech", "music"}


def test_evaluate_scores_every_file_of_the_recorded_speech(tmp_path, capsys):
    torch.manual_seed(0)
    checkpoint = Autoencoder(widths=(4, 8), length=1024, sample_rate=RATE).save(
        tmp_path / "ae.pt")
    report = tmp_path / "speech.json"
    root = embedded_data_dir("speech")
    assert main(["evaluate", "--checkpoint", str(checkpoint), "--data", str(root), "--out",
                 str(report), "--audit-seconds", "0.25", "--no-progress"]) == 0
    result = json.loads(report.read_text())
    manifest = _manifest("speech")
    assert result["scored"] == "every file" and result["skipped"] == []
    tracks = {t["track"]: t for t in result["tracks"]}
    assert sorted(tracks) == sorted(f["file"] for f in manifest["files"])
    for entry in manifest["files"]:
        track = tracks[entry["file"]]
        assert (track["sample_rate"], track["channels"], track["samples"]) == (
            RATE, 1, entry["samples"])
        assert np.isfinite(track["si_sdr"])
    assert result["mean"]["si_sdr"] == pytest.approx(
        np.mean([t["si_sdr"] for t in result["tracks"]]), abs=1e-9)


# ----------------------------------------------------------------- bad mix folders


@pytest.mark.parametrize(("text", "message"), [
    ("not json", "not a readable JSON file"),
    ('{"sources": {"speech": "../speech"}}', "at least two named folders"),
    ('{"sources": {"a": "a", "b": "nowhere"}}', "source 'b' is not a folder"),
    ('{"sources": {"a": "a", "b": "a"}, "gain_db": [0, -6]}', "LOW <= HIGH"),
])
def test_a_bad_mix_file_is_one_clear_error(tmp_path, text, message):
    (tmp_path / "a").mkdir()
    (tmp_path / "mix.json").write_text(text)
    with pytest.raises(UserFileError, match=message):
        MixedSources(tmp_path)


def test_unknown_stems_of_a_mix_folder_are_rejected():
    with pytest.raises(InvalidValue, match="among speech, music"):
        MixedSources(embedded_data_dir("speech_music"), stems=["vocals"], crop=CROP)
