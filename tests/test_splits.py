"""Data splits that never leave training empty, and path settings compared after
resolving them (issue 12)."""

import hashlib
import itertools
import warnings

import numpy as np
import pytest
import soundfile as sf

from upsamplers._checks import InvalidValue, UserFileError
from upsamplers.compare.config import CompareConfig
from upsamplers.compare.folder import SETTINGS, check_out, write_json
from upsamplers.compare.signals import check_data
from upsamplers.data import (
    AudioFolder,
    NoValidationWarning,
    SkippedFileWarning,
    assign_splits,
    same_path,
)
from upsamplers.train import TrainConfig, train

RATE = 8000
OPTIONS = dict(sample_rate=RATE, crop=512)


def hash_of(name: str) -> float:
    """An independent copy of the documented rule's hash: the first 8 bytes of the
    SHA-256 of the relative path, read as a number in [0, 1)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") / 2**64


NAMES = [f"clip{i}.wav" for i in range(400)]
LOW = [n for n in NAMES if hash_of(n) < 0.1]  # the hash sends these to validation
HIGH = [n for n in NAMES if hash_of(n) >= 0.1]  # and these to training


def write(folder, *names, seconds=0.5):
    for i, name in enumerate(names):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        t = np.arange(int(seconds * RATE)) / RATE
        sf.write(path, (0.5 * np.sin(2 * np.pi * 100 * (i + 1) * t)).astype(np.float32), RATE)
    return folder


def clip_names(folder, split, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoValidationWarning)
        return sorted(c.name for c in AudioFolder(folder, split=split, **OPTIONS, **kwargs).clips)


def test_the_names_hash_either_way():
    assert len(LOW) >= 3 and len(HIGH) >= 3
    assert hash_of("ok.wav") < 0.1  # the name of the report: it hashed to validation


@pytest.mark.parametrize("name", ["ok.wav", LOW[0], HIGH[0]])
def test_one_file_is_trained_on_whatever_its_name(tmp_path, name):
    write(tmp_path, name)
    with pytest.warns(NoValidationWarning, match=rf"one usable clip \({name}\): training on it; "
                                                 "there is no validation split"):
        data = AudioFolder(tmp_path, **OPTIONS)
    assert [c.name for c in data.clips] == [name] and len(data) == 4000 // 512
    with pytest.raises(InvalidValue, match="no validation split in .*one usable clip, which is "
                                           "trained on; add a second audio file"):
        AudioFolder(tmp_path, split="validation", **OPTIONS)
    assert clip_names(tmp_path, "all") == [name]


@pytest.mark.parametrize("names", [LOW[:2], HIGH[:2], [LOW[0], HIGH[0]], LOW[:3], HIGH[:3],
                                   [LOW[0], HIGH[0], HIGH[1]], [LOW[0], LOW[1], HIGH[0]]])
def test_two_or_three_files_put_at_least_one_in_each_split(tmp_path, names):
    write(tmp_path, *names)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning with two or more clips
        train_names = clip_names(tmp_path, "train")
        valid_names = clip_names(tmp_path, "validation")
    assert train_names and valid_names and not set(train_names) & set(valid_names)
    assert sorted(train_names + valid_names) == sorted(names)
    low = [n for n in names if n in LOW]
    if low and len(low) < len(names):  # the hash decides alone
        assert valid_names == sorted(low)
    elif not low:  # all hash to training: the smallest hash goes to validation
        assert valid_names == [min(names, key=hash_of)]
    else:  # all hash to validation: the largest hash is trained on
        assert train_names == [max(names, key=hash_of)]


def test_a_bad_file_never_empties_training(tmp_path):
    write(tmp_path, "ok.wav")
    (tmp_path / HIGH[0]).write_bytes(b"not audio")  # the hash would train on it
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train_set = AudioFolder(tmp_path, **OPTIONS)
        with pytest.raises(InvalidValue, match="no validation split"):
            AudioFolder(tmp_path, split="validation", **OPTIONS)
    assert [c.name for c in train_set.clips] == ["ok.wav"]
    skipped = [w for w in caught if issubclass(w.category, SkippedFileWarning)]
    assert len(skipped) == 1 and HIGH[0] in str(skipped[0].message)  # reported once


def test_the_rule_on_many_sizes_and_fractions():
    for n, fraction in itertools.product(range(1, 8), (0.05, 0.1, 0.5, 0.95)):
        for names in (LOW[:n], HIGH[:n], (LOW[:1] + HIGH)[:n]):
            split = assign_splits(names, fraction)
            assert set(split) == set(names) and "train" in split.values()
            assert ("validation" in split.values()) == (n >= 2)
    assert set(assign_splits(LOW[:5], 0.0).values()) == {"train"}
    # a file added later moves no old one (past the small-folder fallbacks)
    old = assign_splits(NAMES[:100], 0.1)
    new = assign_splits(NAMES, 0.1)
    assert all(new[n] == old[n] for n in NAMES[:100])


def test_split_folders_are_used_as_they_are(tmp_path):
    write(tmp_path, f"train/{LOW[0]}", f"train/{LOW[1]}", f"validation/{HIGH[0]}")
    assert clip_names(tmp_path, "train") == sorted([f"train/{LOW[0]}", f"train/{LOW[1]}"])
    assert clip_names(tmp_path, "validation") == [f"validation/{HIGH[0]}"]
    only = write(tmp_path / "only", "train/ok.wav")
    assert clip_names(only, "train") == ["train/ok.wav"]
    with pytest.raises(InvalidValue, match="no usable audio .* for split='validation'"):
        AudioFolder(only, split="validation", **OPTIONS)


def test_no_validation_fraction_trains_on_everything(tmp_path):
    write(tmp_path, *LOW[:3])
    assert clip_names(tmp_path, "train", validation_fraction=0.0) == sorted(LOW[:3])
    with pytest.raises(InvalidValue, match="no validation split .*validation_fraction=0"):
        AudioFolder(tmp_path, split="validation", validation_fraction=0.0, **OPTIONS)


def tiny(data, **overrides):
    values = dict(model="autoencoder", data=str(data), steps=2, batch_size=2, crop=512,
                  sample_rate=RATE, lr=3e-3, checkpoint_every=1, log_every=1,
                  model_options={"widths": [4, 8]})
    values.update(overrides)
    return TrainConfig(**values)


@pytest.mark.usefixtures("one_thread")
def test_what_needs_a_validation_split_says_there_is_none(tmp_path):
    data = write(tmp_path / "d", "ok.wav", seconds=1.0)
    with pytest.warns(NoValidationWarning):
        result = train(tiny(data), tmp_path / "plain", progress=False)
    assert result.step == 2
    with pytest.warns(NoValidationWarning), pytest.raises(
            InvalidValue, match="eval_every needs validation audio: no validation split in "):
        train(tiny(data, eval_every=1), tmp_path / "eval", progress=False)
    with pytest.warns(NoValidationWarning), pytest.raises(
            UserFileError, match=r"data .*d: no validation split in .*add a second audio file"):
        check_data(CompareConfig(task="autoencoder", data=str(data), crop=512,
                                 sample_rate=RATE).validate())


@pytest.mark.usefixtures("one_thread")
def test_resume_accepts_the_same_folder_however_it_is_named(tmp_path, monkeypatch):
    write(tmp_path / "d", LOW[0], HIGH[0], seconds=1.0)
    (tmp_path / "link").symlink_to(tmp_path / "d", target_is_directory=True)
    write(tmp_path / "other", LOW[0], HIGH[0], seconds=1.0)  # same files, another folder
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    assert train(tiny("./d/", steps=1), out, progress=False).step == 1
    for step, name in enumerate([str(tmp_path / "d"), "d", str(tmp_path / "link") + "/"], 2):
        assert train(tiny(name, steps=step), out, resume=True, progress=False).step == step
    # the checkpoint keeps the name its last run gave
    with pytest.raises(InvalidValue, match=r"changed settings: data='other' \(checkpoint: "
                                           r"'.*link/'\)"):
        train(tiny("other", steps=5), out, resume=True, progress=False)


def test_compare_settings_accept_the_same_folder_however_it_is_named(tmp_path, monkeypatch):
    write(tmp_path / "d", "a.wav")
    (tmp_path / "link").symlink_to(tmp_path / "d", target_is_directory=True)
    (tmp_path / "other").mkdir()
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "cmp"
    out.mkdir()
    write_json(out / SETTINGS, CompareConfig(data="./d/").settings())
    for name in (str(tmp_path / "d"), "d", "link", "./link/"):
        check_out(out, CompareConfig(data=name), force=False)
    for name in ("other", None):
        with pytest.raises(InvalidValue, match="holds a compare run with other settings "
                                               r"\(data="):
            check_out(out, CompareConfig(data=name), force=False)


def test_same_path():
    assert same_path(None, None) and not same_path(None, ".") and not same_path(".", None)
    assert same_path(".", "./") and same_path("a/../b", "b") and not same_path("a", "b")
