import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from upsamplers._checks import UserFileError
from upsamplers.data import (
    AudioFileError,
    AudioFolder,
    MixtureFolder,
    SkippedFileWarning,
    StemFolder,
    assign_splits,
    default_data_dir,
    is_stem_folder,
    open_audio_dataset,
    open_dataset,
    read_audio,
    write_audio,
)

STEMS = ("soprano", "alto", "tenor", "bass")


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    return {str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(),
                                         p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def tone(seconds: float, rate: int, freq: float = 440.0, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    x = 0.5 * np.sin(2 * np.pi * freq * t).astype(np.float32)
    return np.stack([x] * channels, axis=1)  # (T, C) as soundfile wants


# ----------------------------------------------------------------- the embedded data set


def test_embedded_set_layout_licence_and_size():
    root = default_data_dir()
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["sample_rate"] == 16000 and manifest["channels"] == 1
    assert (root / "LICENSE.txt").read_text().count("MIT") >= 1
    assert "public domain" in (root / "LICENSE.txt").read_text()
    splits = {t["split"] for t in manifest["tracks"]}
    assert splits == {"train", "validation"} and len(manifest["tracks"]) >= 12
    total = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    assert total < 15e6
    for track in manifest["tracks"]:
        for stem in STEMS:
            path = root / track["split"] / track["track"] / f"{stem}.flac"
            assert hashlib.sha256(path.read_bytes()).hexdigest() == track["sha256"][stem]
            info = sf.info(str(path))
            assert (info.samplerate, info.channels, info.frames) == (16000, 1, track["samples"])


def test_embedded_stems_are_real_distinct_parts():
    root = default_data_dir()
    folder = StemFolder(root, stems=STEMS, split="validation")
    _, mixture, sources = folder.track(0)
    rms = sources.pow(2).mean(dim=(1, 2)).sqrt()
    assert (rms > 0.03).all()  # every part plays
    # the parts are different signals: correlation between any two well below 1
    flat = sources[:, 0] - sources[:, 0].mean(-1, keepdim=True)
    corr = (flat @ flat.T) / (flat.norm(dim=-1)[:, None] * flat.norm(dim=-1)[None])
    assert corr[~torch.eye(4, dtype=torch.bool)].abs().max() < 0.5
    torch.testing.assert_close(mixture, sources.sum(0))
    assert mixture.abs().max() <= 0.9 + 1e-4


def test_stem_folder_splits_are_disjoint_and_crops_deterministic():
    root = default_data_dir()
    assert is_stem_folder(root)
    train = StemFolder(root, stems=STEMS, split="train", seed=3)
    valid = StemFolder(root, stems=STEMS, split="validation")
    assert {c.name.split("/")[1] for c in train.clips}.isdisjoint(
        c.name.split("/")[1] for c in valid.clips)
    assert len(train.clips) == 9 and len(valid.clips) == 3
    mixture, sources = train[12345]
    assert mixture.shape == (1, 16384) and sources.shape == (4, 1, 16384)
    torch.testing.assert_close(mixture, sources.sum(0), rtol=0, atol=0)
    again = StemFolder(root, stems=STEMS, split="train", seed=3)[12345]
    torch.testing.assert_close(again[1], sources, rtol=0, atol=0)
    other = StemFolder(root, stems=STEMS, split="train", seed=4)[12345]
    assert not torch.equal(other[1], sources)
    # validation: consecutive tiles, in order
    assert not valid.random
    first, second = valid[0][0], valid[1][0]
    _, whole, _ = valid.track(0)
    torch.testing.assert_close(first, whole[:, :16384], rtol=0, atol=0)
    torch.testing.assert_close(second, whole[:, 16384:32768], rtol=0, atol=0)
    with pytest.raises(IndexError, match="index must be <"):
        valid[len(valid)]


def test_mixture_folder_and_open_audio_dataset():
    data = open_audio_dataset(crop=4096)
    assert isinstance(data, MixtureFolder)
    x = data[7]
    assert x.shape == (1, 4096) and x.dtype == torch.float32 and x.abs().max() > 0


# ----------------------------------------------------------------- plain folders, bad files


def test_audio_folder_resamples_with_a_proper_filter(tmp_path):
    sf.write(tmp_path / "a.wav", tone(1.0, 22050, 440.0), 22050)
    data = AudioFolder(tmp_path, split="all", sample_rate=16000, crop=8192, random=False)
    assert data.clips[0].frames == 16000
    x = data[0][0].numpy()
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    peak_hz = np.argmax(spectrum) * 16000 / len(x)
    assert abs(peak_hz - 440.0) <= 16000 / len(x)
    audio, rate = read_audio(tmp_path / "a.wav", sample_rate=16000)
    assert rate == 16000 and audio.shape == (1, 16000)
    assert abs(np.sqrt(np.mean(audio[:, 1000:-1000] ** 2)) - 0.5 / np.sqrt(2)) < 1e-3


def test_bad_files_are_skipped_with_one_warning_each_and_never_written(tmp_path):
    sf.write(tmp_path / "good.flac", tone(1.0, 16000), 16000)
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really" * 10)
    (tmp_path / "unsupported.ogg").write_bytes(b"this is text, not an ogg stream\n" * 40)
    sf.write(tmp_path / "stereo.wav", tone(1.0, 16000, channels=2), 16000)
    sf.write(tmp_path / "short.wav", tone(0.1, 16000), 16000)
    full = tone(1.0, 16000)
    sf.write(tmp_path / "truncated.flac", full, 16000)
    blob = (tmp_path / "truncated.flac").read_bytes()
    (tmp_path / "truncated.flac").write_bytes(blob[: len(blob) // 2])
    (tmp_path / "notes.txt").write_text("not audio: ignored without a warning")
    before = snapshot(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = AudioFolder(tmp_path, split="all", crop=4096)
    messages = [str(w.message) for w in caught if issubclass(w.category, SkippedFileWarning)]
    bad = ["empty.wav", "corrupt.wav", "unsupported.ogg", "stereo.wav", "short.wav",
           "truncated.flac"]
    assert len(messages) == len(bad)
    for name in bad:
        [line] = [m for m in messages if name in m]
        assert "\n" not in line and line.startswith("skipping ")
    assert "2 channel" in next(m for m in messages if "stereo.wav" in m)
    assert "shorter than one crop" in next(m for m in messages if "short.wav" in m)
    assert [c.name for c in data.clips] == ["good.flac"]
    assert data[0].shape == data[2].shape == (1, 4096)
    assert snapshot(tmp_path) == before


def test_no_usable_file_is_a_clear_error(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.warns(SkippedFileWarning), pytest.raises(ValueError, match="no usable audio"):
        AudioFolder(tmp_path, split="all")
    empty = tmp_path / "nothing"
    empty.mkdir()
    with pytest.raises(ValueError, match=r"no usable audio in .*nothing.*0 file\(s\) skipped"):
        AudioFolder(empty, split="all")


def test_stem_folder_skips_a_track_missing_a_stem(tmp_path):
    for track in ("a", "b", "c"):
        (tmp_path / track).mkdir()
        for stem in ("x", "y"):
            if (track, stem) != ("b", "y"):
                sf.write(tmp_path / track / f"{stem}.wav", tone(0.5, 8000), 8000)
    with pytest.warns(SkippedFileWarning, match=r"skipping .*b: missing stem\(s\) y"):
        data = StemFolder(tmp_path, split="all", sample_rate=8000, crop=1024)
    assert [c.name for c in data.clips] == ["a", "c"] and data.stems == ("x", "y")


def test_hash_split_is_deterministic_stable_and_never_empty():
    names = [f"clip{i}.wav" for i in range(200)]
    split = assign_splits(names, 0.1)
    assert assign_splits(list(reversed(names)), 0.1) == split
    assert 8 <= sum(v == "validation" for v in split.values()) <= 35
    more = assign_splits(names + [f"new{i}.wav" for i in range(50)], 0.1)
    assert all(more[n] == split[n] for n in names)  # adding files moves no old one
    tiny = assign_splits(["a.wav", "b.wav"], 0.1)
    assert sorted(tiny.values()) == ["train", "validation"]


def test_folder_without_split_folders_gets_disjoint_hash_split(tmp_path):
    for i in range(6):
        sf.write(tmp_path / f"{i}.wav", tone(0.3, 8000, 100.0 * (i + 1)), 8000)
    kwargs = dict(sample_rate=8000, crop=512, validation_fraction=0.3)
    train, valid = AudioFolder(tmp_path, **kwargs), AudioFolder(tmp_path, split="validation",
                                                                **kwargs)
    names_t, names_v = {c.name for c in train.clips}, {c.name for c in valid.clips}
    assert names_t and names_v and names_t.isdisjoint(names_v)
    assert len(names_t | names_v) == 6


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"split": "test"}, ValueError, r"split must be one of .*; received split='test'"),
    ({"crop": 0}, ValueError, r"crop must be a positive integer; received crop=0"),
    ({"sample_rate": 16000.5}, TypeError, r"received sample_rate=16000.5"),
    ({"channels": 0}, ValueError, r"received channels=0"),
    ({"validation_fraction": 1.0}, ValueError, r"received validation_fraction=1.0"),
    ({"seed": "1"}, TypeError, r"received seed='1'"),
])
def test_bad_arguments_name_themselves(kwargs, error, match):
    with pytest.raises(error, match=match):
        AudioFolder(default_data_dir(), **kwargs)


def test_missing_root_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="root must be an existing folder"):
        AudioFolder(tmp_path / "absent")
    with pytest.raises(AudioFileError, match="no such file"):
        read_audio(tmp_path / "absent.wav")


def test_write_audio_is_atomic_and_refuses_to_overwrite(tmp_path):
    path = tmp_path / "out.wav"
    write_audio(path, np.zeros((1, 100), np.float32), 16000)
    with pytest.raises(UserFileError, match="--force"):
        write_audio(path, np.ones((1, 100), np.float32) * 0.5, 16000)
    assert np.all(sf.read(path)[0] == 0)
    write_audio(path, torch.full((1, 50), 0.5), 16000, force=True)
    assert sf.read(path)[0].shape == (50,)
    assert [p.name for p in tmp_path.iterdir()] == ["out.wav"]
    with pytest.raises(ValueError, match="must end in one of"):
        write_audio(tmp_path / "out.mp3", np.zeros((1, 10), np.float32), 16000)


def test_stem_folder_detection(tmp_path):
    for album, songs in (("a", ("x", "y")), ("b", ("z", "w"))):
        (tmp_path / "albums" / album).mkdir(parents=True)
        for song in songs:
            sf.write(tmp_path / "albums" / album / f"{song}.wav", tone(0.1, 8000), 8000)
    assert not is_stem_folder(tmp_path / "albums")  # different names per folder
    for track in ("t1", "t2"):
        (tmp_path / "stems" / track).mkdir(parents=True)
        for stem in ("bass", "drums", "mixture"):
            sf.write(tmp_path / "stems" / track / f"{stem}.wav", tone(0.1, 8000), 8000)
    assert is_stem_folder(tmp_path / "stems")
    assert not is_stem_folder(tmp_path / "absent")


def test_whole_signals_and_the_dataset_a_model_kind_needs(tmp_path):
    root = default_data_dir()
    stems = open_dataset("stems", root, split="validation", stems=STEMS)
    assert isinstance(stems, StemFolder) and stems.stems == STEMS
    mixtures = open_dataset("audio", root, split="validation")
    assert isinstance(mixtures, MixtureFolder)
    name, mixture, sources = mixtures.track(0)
    assert sources.shape[1:] == mixture.shape and name == stems.track(0)[0]
    # a plain file is a track with one source: itself
    sf.write(tmp_path / "a.wav", tone(0.5, 16000, channels=2), 16000)
    plain = open_dataset("audio", tmp_path, split="all", channels=2, crop=1000)
    assert isinstance(plain, AudioFolder)
    name, audio, sources = plain.track(0)
    assert name == "a.wav" and audio.shape == (2, 8000) and sources.shape == (1, 2, 8000)
    torch.testing.assert_close(sources[0], audio)
    clip = plain.clips[0]
    window = plain.window(clip, 7900, 200)  # (S, C, length), zero past the end
    assert window.shape == (1, 2, 200) and (window[..., 100:] == 0).all()
    np.testing.assert_array_equal(window[0, :, :100], audio[:, 7900:].numpy())
    with pytest.raises(ValueError, match="kind must be one of"):
        open_dataset("video", tmp_path)


# --------------------------------------------------------------------------- decoded length


@pytest.fixture
def vorbis_header_too_long(monkeypatch):
    """A header that claims 104 frames more than decode, as some Vorbis files do
    (the libsndfile here writes exact headers, so the header is stubbed)."""
    real = sf.info

    def info(path, *args, **kwargs):
        found = real(path, *args, **kwargs)
        if str(path).endswith(".ogg"):
            found.frames += 104
        return found

    monkeypatch.setattr(sf, "info", info)


def test_the_length_of_a_file_is_what_decodes_not_its_header(tmp_path, vorbis_header_too_long):
    from upsamplers.inference import reconstruct_file
    from upsamplers.models import Autoencoder

    frames, rate = 5000, 16000
    source = tmp_path / "data" / "clip.ogg"
    source.parent.mkdir()
    sf.write(source, tone(frames / rate, rate), rate, format="OGG", subtype="VORBIS")
    assert sf.info(source).frames == frames + 104  # the stub is in place
    assert read_audio(source)[0].shape == (1, frames)
    dataset = AudioFolder(source.parent, split="all", sample_rate=rate, crop=1024)
    assert dataset.clips[0].frames == frames
    assert dataset.track(0)[1].shape == (1, frames)  # no 104 zeros appended
    ckpt = Autoencoder(widths=(4,), length=1024, sample_rate=rate).save(tmp_path / "ae.pt")
    out = reconstruct_file(ckpt, source, tmp_path / "out.wav")
    assert sf.info(out).frames == frames
