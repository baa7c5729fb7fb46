"""Audio data: folders of files and folders of stems, as PyTorch datasets.

Two layouts are understood:

* **plain folders**: every ``.wav``, ``.flac`` or ``.ogg`` file under ``root``
  (searched recursively) is one clip: :class:`AudioFolder`;
* **stem folders** (MUSDB-style): every folder holding one file per source,
  ``<track>/<stem>.flac``; the mixture is the sum of the stems (a stored
  ``mixture.*`` file is ignored): :class:`StemFolder`.
* **mix folders**: a folder holding ``mix.json``, ``{"sources": {"speech":
  "../speech", "music": "../music"}}``, whose sources are other folders of audio,
  mixed on the fly (independent random crops of each source; the mixture is
  their sum), so no audio is stored twice: :class:`MixedSources`. It is read
  wherever a stem folder is (:func:`is_stem_folder` is true for it).

Data splits. Either layout may be split into ``train/`` and ``validation/`` (or
``valid/``, ``test/``) sub-folders, which are then used as they are. When it is
not, the usable clips (bad files skipped first) are split by
:func:`assign_splits`, a rule that never leaves training empty:

* a clip goes to validation when a hash of its relative path, read as a number
  in ``[0, 1)``, is below ``validation_fraction`` (default 0.1), so adding files
  moves no old one;
* **one clip**: it is trained on, and there is no validation split (one
  :class:`NoValidationWarning` line says so when the training split is opened;
  asking for the validation split, as ``train --eval-every`` and ``compare`` do,
  is a one-line error saying to add a file or a ``validation/`` folder);
* **two or more clips**: at least one in each split (when the hash leaves
  validation empty, the clip with the smallest hash goes there; when it leaves
  training empty, the one with the largest), so only such a fallback clip can
  move when files are added;
* ``validation_fraction=0``: every clip is trained on, no validation split.

Files are read with ``soundfile`` (its wheels bundle libsndfile) and resampled
with ``scipy.signal.resample_poly`` when their rate differs from
``sample_rate``. A file's length is the number of frames that decode, not its
header's count (some Vorbis files claim more frames than they hold). Every
frame is decoded when a data set is opened. Bad files (empty, corrupt,
unsupported, holding a NaN or infinite sample anywhere, with the wrong number of
channels, or shorter than one crop: ``min_length``, which whole-track scoring
sets to 1, since only training crops need a crop's length) are skipped with one
:class:`SkippedFileWarning` each, naming the file; no usable file left is a
``ValueError`` (:class:`~upsamplers._checks.InvalidValue`). Nothing under
``root`` is ever written.

Items are fixed-length crops, deterministic in their index:

* ``split="train"`` (random crops): item ``k`` is a crop at a random clip
  (chosen with probability proportional to its length) and a random offset,
  drawn from a generator seeded with ``(seed, k)``. Any ``k >= 0`` is valid, so a
  training loop may address sample ``step * batch_size + j`` directly and
  resume exactly; ``len()`` is the number of crops in one pass over the data.
* ``split="validation"`` (or ``random=False``): the clips cut into consecutive
  non-overlapping crops (the remainder shorter than a crop is dropped).

Shapes: an :class:`AudioFolder` item is ``(C, crop)``; a :class:`StemFolder` or
:class:`MixedSources` item is a pair ``(mixture (C, crop), sources (S, C, crop))``.

The embedded data sets ship inside the package (:data:`EMBEDDED`,
:func:`embedded_data_dir`).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ._checks import (
    InvalidType,
    InvalidValue,
    UserFileError,
    check_bool,
    check_choice,
    check_positive_int,
)
from ._io import atomic_write

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
SPLITS = ("train", "validation", "all")
SPLIT_FOLDERS = {"train": ("train",), "validation": ("validation", "valid", "test")}
MIXTURE_NAMES = ("mixture",)
DEFAULT_CROP = 16384
DEFAULT_SAMPLE_RATE = 16000
DATA_ENV = "UPSAMPLERS_DATA"
MIX_FILE = "mix.json"
# the data sets shipped inside the package (upsamplers/datasets/<folder>); see README "Data"
EMBEDDED = {
    "chorales": "bach_chorales",  # synthesised: four-part Bach chorales, one stem per part
    # recorded speech: telephone prompts read by 4 speakers (Asterisk core sounds, G.722
    # 16 kHz) and acted game lines of 13 Hedgewars voice packs; speaker-disjoint splits
    "speech": "speech",
    # recorded (produced) music: excerpts of 44 game-soundtrack and music-on-hold pieces
    # (orchestral, rock, ethnic, electronic...) + Sonic Pi instruments; piece-disjoint splits
    "music": "music",
    "speech_music": "speech_music",  # speech vs music: a mix folder over the two above
}
DEFAULT_EMBEDDED = "chorales"


class SkippedFileWarning(UserWarning):
    """An audio file was skipped because it cannot be used; the message names it."""


class StemLengthWarning(UserWarning):
    """A track's stems differ in length: they are cut to the shortest; names them."""


class NoValidationWarning(UserWarning):
    """A data folder without split folders holds one usable clip: it is trained on
    and there is no validation split."""


class AudioFileError(UserFileError, ValueError):
    """An audio file cannot be read or does not have the expected form."""


def _soundfile() -> Any:
    try:
        import soundfile
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("reading audio needs soundfile: pip install 'neural-upsamplers[audio]'"
                          ) from None
    return soundfile


def embedded_data_dir(name: str) -> Path:
    """The folder of the embedded data set ``name`` (one of :data:`EMBEDDED`:
    ``"chorales"``, ``"speech"``, ``"music"``, ``"speech_music"``), shipped inside
    the package and its wheel.

    Raises :class:`~upsamplers._checks.InvalidValue` naming the allowed names for
    another ``name``, and :class:`~upsamplers._checks.UserFileError` with a hint
    when the folder is missing (a package built without its data files).
    """
    name = check_choice("name", name, tuple(EMBEDDED))
    path = Path(__file__).resolve().parent / "datasets" / EMBEDDED[name]
    if not path.is_dir():
        raise UserFileError(
            f"the embedded data set {name!r} is not at {path} (this installation lacks the "
            f"package's data files); pass --data DIR or set {DATA_ENV}")
    return path


def default_data_dir() -> Path:
    """The default embedded data set (the chorales, ``upsamplers/datasets/bach_chorales``,
    shipped inside the package and its wheel), or the folder named by the
    ``UPSAMPLERS_DATA`` environment variable.

    Raises :class:`~upsamplers._checks.UserFileError` with a hint when neither
    exists (e.g. a package built without its data files).
    """
    env = os.environ.get(DATA_ENV)
    if env:
        path = Path(env)
        if not path.is_dir():
            raise UserFileError(f"{DATA_ENV}={env} is not a folder")
        return path
    return embedded_data_dir(DEFAULT_EMBEDDED)


@contextmanager
def one_line_warnings() -> Iterator[None]:
    """Show warnings as one line each on stderr (``warning: MESSAGE``), as the
    command line does; every skipped file is reported, not only the first."""
    previous = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:
        print(f"warning: {message}", file=sys.stderr, flush=True)

    with warnings.catch_warnings():
        warnings.simplefilter("always", SkippedFileWarning)
        warnings.simplefilter("always", StemLengthWarning)
        warnings.showwarning = show
        try:
            yield
        finally:
            warnings.showwarning = previous


# --------------------------------------------------------------------------- audio I/O


def resample(audio: np.ndarray, orig_rate: int, new_rate: int) -> np.ndarray:
    """Resample ``(..., T)`` from ``orig_rate`` to ``new_rate`` along the last axis
    with ``scipy.signal.resample_poly`` (Kaiser-windowed polyphase filter).

    Shape: ``(..., T) -> (..., ceil(T * new_rate / orig_rate))``.
    """
    orig_rate = check_positive_int("orig_rate", orig_rate)
    new_rate = check_positive_int("new_rate", new_rate)
    if orig_rate == new_rate:
        return audio
    from scipy.signal import resample_poly

    ratio = Fraction(new_rate, orig_rate)
    out = resample_poly(audio, ratio.numerator, ratio.denominator, axis=-1)
    return out.astype(audio.dtype, copy=False)


@dataclass(frozen=True)
class AudioInfo:
    """What :func:`audio_info` learns from a file's header.

    ``frames`` is the header's count, which can differ from the number of frames
    that decode (Vorbis); :func:`read_audio` returns what decodes, and that is the
    length every reader of this package uses.
    """

    path: Path
    sample_rate: int
    channels: int
    frames: int


def audio_info(path: str | os.PathLike[str]) -> AudioInfo:
    """Header of an audio file; ``AudioFileError`` naming the file if it is
    missing, empty, corrupt or of an unsupported format."""
    sf = _soundfile()
    path = Path(path)
    if not path.is_file():
        raise AudioFileError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise AudioFileError(f"{path}: empty file")
    try:
        info = sf.info(str(path))
    except Exception as error:  # soundfile raises LibsndfileError / RuntimeError
        raise AudioFileError(f"{path}: not a readable audio file ({_reason(error)})") from None
    if info.frames <= 0:
        raise AudioFileError(f"{path}: holds no audio (0 frames)")
    return AudioInfo(path, int(info.samplerate), int(info.channels), int(info.frames))


def _reason(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[-1] if text else type(error).__name__


def nonfinite_sample(frames: np.ndarray, rate: int, offset: int = 0) -> str | None:
    """Where the first NaN or infinity of decoded ``frames`` ``(T, C)`` is, as a
    phrase naming its time in seconds (``offset`` frames before ``frames`` begin),
    frame and channel; ``None`` when every sample is finite."""
    finite = np.isfinite(frames)
    if finite.all():
        return None
    frame, channel = (int(i) for i in np.argwhere(~finite)[0])
    value = float(frames[frame, channel])
    at = offset + frame
    return (f"non-finite sample ({value}) at {at / rate:.3f} s (frame {at}, channel "
            f"{channel}); the recording is damaged: re-export or repair it")


def read_audio(
    path: str | os.PathLike[str],
    *,
    sample_rate: int | None = None,
    channels: int | None = None,
) -> tuple[np.ndarray, int]:
    """Read a whole audio file as float32 ``(C, T)``.

    Args:
        path: a file soundfile can read (wav, flac, ogg, ...).
        sample_rate: resample to this rate when given and different.
        channels: the number of channels the file must have; a file with another
            count raises ``AudioFileError``.

    Returns:
        ``(audio, rate)``: ``audio`` of shape ``(C, T)`` in ``[-1, 1]`` and its rate;
        ``T`` counts the frames that decode (before any resampling), which can be
        fewer than the header's :attr:`AudioInfo.frames` (Vorbis).
    """
    sf = _soundfile()
    info = audio_info(path)
    if channels is not None and info.channels != channels:
        raise AudioFileError(f"{info.path}: has {info.channels} channels; expected {channels}")
    try:
        data, rate = sf.read(str(info.path), dtype="float32", always_2d=True)
    except Exception as error:
        raise AudioFileError(f"{info.path}: cannot be decoded ({_reason(error)})") from None
    if data.shape[0] == 0:
        raise AudioFileError(f"{info.path}: holds no audio (0 frames)")
    bad = nonfinite_sample(data, int(rate))
    if bad is not None:
        raise AudioFileError(f"{info.path}: {bad}")
    audio = np.ascontiguousarray(data.T)  # (T, C) -> (C, T)
    if sample_rate is not None and rate != sample_rate:
        audio = resample(audio, rate, sample_rate)
        rate = sample_rate
    return audio, int(rate)


def write_audio(
    path: str | os.PathLike[str],
    audio: np.ndarray | torch.Tensor,
    sample_rate: int,
    *,
    force: bool = False,
    subtype: str | None = None,
) -> Path:
    """Write ``audio`` of shape ``(C, T)`` to ``path``, atomically (temporary file
    in the same folder, then rename), refusing to replace an existing file
    unless ``force`` (:class:`~upsamplers._checks.UserFileError`). The format
    follows the suffix (wav, flac, ogg)."""
    sf = _soundfile()
    path = Path(path)
    check_bool("force", force)
    sample_rate = check_positive_int("sample_rate", sample_rate)
    if path.suffix.lower() not in AUDIO_SUFFIXES:
        raise InvalidValue(f"output file must end in one of {', '.join(AUDIO_SUFFIXES)}; "
                           f"received {path}")
    if path.exists() and not force:
        raise UserFileError(f"{path} exists; pass --force to overwrite it")
    if isinstance(audio, torch.Tensor):
        audio = audio.detach().cpu().numpy()
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 2:
        raise InvalidValue(f"audio must have shape (C, T); received shape {audio.shape}")
    atomic_write(path, lambda handle: sf.write(  # (C, T) -> (T, C)
        handle, audio.T, sample_rate, subtype=subtype, format=path.suffix[1:].upper()),
        short_writes=True)
    return path


# --------------------------------------------------------------------------- catalogues


def split_key(name: str) -> float:
    """The hash of a clip's relative path, read as a number in ``[0, 1)``."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign_splits(names: Sequence[str], validation_fraction: float) -> dict[str, str]:
    """Deterministic train/validation split of clips named by relative path, one
    that never leaves training empty (the module docstring's rule).

    A clip goes to validation when :func:`split_key` of its name is below
    ``validation_fraction``; so adding clips never moves old ones. One clip is
    always trained on (no validation split). With two or more clips and a
    positive fraction each split gets at least one: when the hash leaves
    validation empty the clip with the smallest hash goes there, when it leaves
    training empty the one with the largest hash goes there.
    """
    keys = {name: split_key(name) for name in names}
    out = {n: "validation" if k < validation_fraction else "train" for n, k in keys.items()}
    if len(out) == 1 or validation_fraction <= 0:
        return dict.fromkeys(out, "train")
    if out and "train" not in out.values():
        out[max(keys, key=keys.__getitem__)] = "train"
    if out and "validation" not in out.values():
        out[min(keys, key=keys.__getitem__)] = "validation"
    return out


def same_path(a: str | os.PathLike[str] | None, b: str | os.PathLike[str] | None) -> bool:
    """Whether two path settings name the same file or folder once resolved
    (``./d/``, ``d``, its absolute path and a symbolic link to it all match;
    ``None``, the embedded data, matches only ``None``)."""
    if a is None or b is None:
        return a is None and b is None
    return bool(Path(a).expanduser().resolve() == Path(b).expanduser().resolve())


def _split_roots(root: Path, split: str) -> list[Path] | None:
    """The sub-folders holding ``split`` when ``root`` is split into folders,
    else ``None``."""
    names = {p.name.lower(): p for p in root.iterdir() if p.is_dir()}
    known = SPLIT_FOLDERS["train"] + SPLIT_FOLDERS["validation"]
    if "train" not in names:
        # a held-out set as it is distributed (MUSDB's test/ alone): every sub-folder
        # a split folder, no audio at the top; read whole (split="all") only
        if not (split == "all" and names and set(names) <= set(known)
                and not _audio_files_here(root)):
            return None
    if split == "all":
        return [names[n] for n in sorted(names) if n in known]
    return [names[n] for n in SPLIT_FOLDERS[split] if n in names]


def audio_files(root: str | os.PathLike[str]) -> list[Path]:
    """Every ``.wav``/``.flac``/``.ogg`` file under ``root`` (recursively, hidden
    files left out), sorted; :class:`~upsamplers._checks.UserFileError` when
    ``root`` is not a folder."""
    folder = Path(root)
    if not folder.is_dir():
        raise UserFileError(f"{folder} is not a folder")
    return _audio_files(folder)


def _audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
                  and not p.name.startswith("."))


def is_stem_folder(root: str | os.PathLike[str]) -> bool:
    """Whether ``root`` is laid out as ``[split/]<track>/<stem>.<ext>``
    (:func:`folder_stems` finds its stems), or is a mix folder
    (:func:`is_mix_folder`), read the same way."""
    return folder_stems(root) is not None


def folder_stems(root: str | os.PathLike[str]) -> tuple[str, ...] | None:
    """The source names of a stem folder (sorted; ``mixture`` is not a source) or
    of a mix folder (in ``mix.json``'s order); ``None`` for any other folder.

    A stem folder has no audio at the top of a split, and the track folders hold
    two or more stem names: most of them (more than half) the same set, the
    others a part of it (a MUSDB track missing a stem is still a track of the
    folder, skipped when read). A folder of albums, whose file names differ from
    folder to folder, is not a stem folder.
    """
    root = Path(root)
    if not root.is_dir():
        return None
    if is_mix_folder(root):
        try:
            return tuple(read_mix_file(root)[0])
        except UserFileError:
            return None
    tops = _split_roots(root, "all") or [root]
    tracks = [d for top in tops for d in top.iterdir() if d.is_dir()]
    if not tracks or any(_audio_files_here(top) for top in tops):
        return None
    names = [frozenset(f.stem for f in _audio_files_here(t)
                       if f.stem.lower() not in MIXTURE_NAMES) for t in tracks]
    names = [n for n in names if n]
    if not names:
        return None
    common = max(set(names), key=lambda n: (names.count(n), len(n), sorted(n)))
    if (len(common) < 2 or 2 * names.count(common) < len(names)
            or not all(n <= common for n in names)):
        return None
    return tuple(sorted(common))


def _audio_files_here(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
                  and not p.name.startswith("."))


@dataclass
class _Clip:
    """One usable unit: a single file, or the stems of one track (summed = mixture)."""

    name: str
    files: tuple[Path, ...]
    frames: int  # at the target sample rate


def _check_settings(dataset: Any, root: Any, *, split: str, sample_rate: int, channels: int,
                    crop: int, seed: int, validation_fraction: float, random: bool | None,
                    cache: bool, min_length: int | None = None) -> None:
    """Check the arguments of a data set and set them as its attributes
    (``min_length``: the fewest samples a usable clip holds; default ``crop``)."""
    if not isinstance(root, (str, os.PathLike)):
        raise InvalidType(f"root must be a path to a folder; received root={root!r}")
    dataset.root = Path(root)
    if not dataset.root.is_dir():
        raise InvalidValue(f"root must be an existing folder; received root={str(root)!r}")
    dataset.split = check_choice("split", split, SPLITS)
    dataset.sample_rate = check_positive_int("sample_rate", sample_rate)
    dataset.channels = check_positive_int("channels", channels)
    dataset.crop = check_positive_int("crop", crop)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidType(f"seed must be an integer; received seed={seed!r}")
    dataset.seed = seed
    if not isinstance(validation_fraction, (int, float)) or isinstance(
            validation_fraction, bool) or not 0 <= validation_fraction < 1:
        raise InvalidValue("validation_fraction must be a number in [0, 1); "
                           f"received validation_fraction={validation_fraction!r}")
    dataset.validation_fraction = float(validation_fraction)
    dataset.random = (split == "train") if random is None else check_bool("random", random)
    dataset.cache = check_bool("cache", cache)
    dataset.min_length = (dataset.crop if min_length is None
                          else check_positive_int("min_length", min_length))
    if dataset.random and dataset.min_length < dataset.crop:
        raise InvalidValue(f"random crops need clips of at least one crop: min_length must be "
                           f">= crop={dataset.crop} when random; received "
                           f"min_length={dataset.min_length}")


def _decoded_frames(info: AudioInfo) -> int | str:
    """Frames that decode, found by decoding the whole file block by block (catches
    truncated or garbled data and NaN or infinite samples anywhere), or why the
    file is unusable.

    The header's count can exceed what decodes (Vorbis files whose last page
    ends early: ``sf.info`` reports e.g. 104 frames more), so the length is where
    decoding stops, not the header's ``frames``.
    """
    sf = _soundfile()
    frames = 0
    try:
        with sf.SoundFile(str(info.path)) as f:
            for block in f.blocks(blocksize=1 << 16, dtype="float32", always_2d=True):
                bad = nonfinite_sample(block, info.sample_rate, frames)
                if bad is not None:
                    return bad
                frames += len(block)
    except Exception:
        return "corrupt: decoding failed"
    return frames if frames > 0 else "corrupt: decoding failed"


class _ClipReader:
    """The audio of clips at the data set's rate and channel count, files decoded
    once when ``cache``."""

    def __init__(self, sample_rate: int, channels: int, cache: bool) -> None:
        self.sample_rate, self.channels, self.cache = sample_rate, channels, cache
        self.decoded: dict[Path, np.ndarray] = {}

    def load(self, path: Path) -> np.ndarray:
        """The whole file, ``(C, T)``."""
        audio = self.decoded.get(path)
        if audio is None:
            audio, _ = read_audio(path, sample_rate=self.sample_rate, channels=self.channels)
            if self.cache:
                self.decoded[path] = audio
        return audio

    def window(self, clip: _Clip, start: int, length: int) -> np.ndarray:
        """``(S, C, length)``: the clip's files from ``start`` (zero-padded past the end)."""
        out = np.zeros((len(clip.files), self.channels, length), dtype=np.float32)
        for i, path in enumerate(clip.files):
            audio = self.load(path)[:, start:start + length]
            out[i, :, :audio.shape[-1]] = audio
        return out


class _CropIndex:
    """Where item ``k`` is: ``(clip index, start sample)``. Random crops (a clip
    drawn with probability proportional to its length, then an offset, from a
    generator seeded with ``(seed, k)``) or consecutive non-overlapping tiles."""

    def __init__(self, clips: list[_Clip], crop: int, seed: int, random: bool) -> None:
        self.clips, self.crop, self.seed, self.random = clips, crop, seed, random
        lengths = np.array([c.frames for c in clips], dtype=np.float64)
        self.weights = lengths / lengths.sum()
        self.tiles = [(i, k * crop) for i, c in enumerate(clips) for k in range(c.frames // crop)]

    def locate(self, index: int) -> tuple[int, int]:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise InvalidType(f"index must be an integer; received index={index!r}")
        if index < 0:
            raise IndexError(f"index must be >= 0; received index={index}")
        if self.random:
            rng = np.random.default_rng([self.seed, int(index)])
            clip = int(rng.choice(len(self.clips), p=self.weights))
            start = int(rng.integers(0, self.clips[clip].frames - self.crop + 1))
            return clip, start
        if index >= len(self.tiles):
            raise IndexError(f"index must be < {len(self.tiles)}; received index={index}")
        return self.tiles[index]


class _CropDataset(torch.utils.data.Dataset):
    """Shared machinery of :class:`AudioFolder` and :class:`StemFolder`: the
    settings, the catalogue of usable clips (scanned once, bad files skipped with a
    warning), a :class:`_ClipReader` and a :class:`_CropIndex`."""

    root: Path
    split: str
    sample_rate: int
    channels: int
    crop: int
    seed: int
    validation_fraction: float
    random: bool
    cache: bool
    min_length: int
    _hashed: bool  # split by assign_splits (no split folders)
    _usable_count: int  # usable clips the hashed split was drawn among

    def __init__(self, root: str | os.PathLike[str], **settings: Any) -> None:
        _check_settings(self, root, **settings)
        self.skipped: list[str] = []
        self.clips = self._scan()
        if not self.clips:
            raise InvalidValue(self._no_clips())
        self._reader = _ClipReader(self.sample_rate, self.channels, self.cache)
        self._index = _CropIndex(self.clips, self.crop, self.seed, self.random)

    def _no_clips(self) -> str:
        """Why this split holds no clip (a missing validation split named as such)."""
        if self.split == "validation" and self._hashed:
            if self.validation_fraction == 0:
                return (f"no validation split in {self.root}: validation_fraction=0 trains on "
                        "every clip; add a validation/ folder beside a train/ folder")
            if self._usable_count == 1:
                return (f"no validation split in {self.root}: it holds one usable clip, which "
                        "is trained on; add a second audio file, or train/ and validation/ "
                        "folders")
        return (f"no usable audio in {self.root} for split={self.split!r} "
                f"({len(self.skipped)} file(s) skipped; expected {self._expects()} of at least "
                + (f"crop={self.crop}" if self.min_length == self.crop
                   else f"{self.min_length}")
                + f" samples at {self.sample_rate} Hz with {self.channels} channel(s))")

    # ---- subclasses say what a clip is
    def _expects(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def _candidates(self, folder: Path) -> list[tuple[str, tuple[Path, ...]]]:  # pragma: no cover
        raise NotImplementedError

    # ---- scanning
    def _scan(self) -> list[_Clip]:
        self._hashed, self._usable_count = False, 0
        roots = _split_roots(self.root, self.split)
        if roots is not None:  # split into folders: used as they are
            candidates = [(f"{folder.name}/{name}", files) for folder in roots
                          for name, files in self._candidates(folder)]
            return self._usable(candidates)
        candidates = self._candidates(self.root)
        if self.split == "all":
            return self._usable(candidates)
        # the split is drawn among the usable clips, so that a bad file never leaves
        # a split empty; a bad file is reported by the split its name hashes to
        home = assign_splits([name for name, _ in candidates], self.validation_fraction)
        usable = self._usable(candidates, report=lambda name: home[name] == self.split)
        chosen = assign_splits([clip.name for clip in usable], self.validation_fraction)
        self._hashed, self._usable_count = True, len(usable)
        if len(usable) == 1 and self.split == "train" and self.validation_fraction > 0:
            warnings.warn(f"{self.root} holds one usable clip ({usable[0].name}): training on "
                          "it; there is no validation split", NoValidationWarning, stacklevel=4)
        return [clip for clip in usable if chosen[clip.name] == self.split]

    def _usable(self, candidates: list[tuple[str, tuple[Path, ...]]],
                report: Callable[[str], bool] | None = None) -> list[_Clip]:
        """The usable clips of ``candidates``; a bad one is skipped, with a warning
        when ``report(name)`` (default: always)."""
        clips = []
        for name, files in candidates:
            clip = self._check(name, files, report is None or report(name))
            if clip is not None:
                clips.append(clip)
        return clips

    def _skip(self, path: Path, reason: str, report: bool = True) -> None:
        if not report:
            return
        message = f"skipping {path}: {reason}"
        self.skipped.append(message)
        warnings.warn(message, SkippedFileWarning, stacklevel=4)

    def _check(self, name: str, files: tuple[Path, ...], report: bool = True) -> _Clip | None:
        """The clip of ``files`` if every file is usable, else ``None`` (skipped)."""
        lengths: dict[str, int] = {}
        for path in files:
            try:
                info = audio_info(path)
            except AudioFileError as error:
                self._skip(path, str(error).split(": ", 1)[-1], report)
                return None
            if info.channels != self.channels:
                self._skip(path, f"has {info.channels} channel(s); expected {self.channels}",
                           report)
                return None
            decoded = _decoded_frames(info)
            if isinstance(decoded, str):
                self._skip(path, decoded, report)
                return None
            n = int(np.ceil(decoded * self.sample_rate / info.sample_rate))
            if n < self.min_length:
                what = (f"one crop ({self.crop})" if self.min_length == self.crop
                        else f"min_length ({self.min_length})")
                self._skip(path, f"{n} samples at {self.sample_rate} Hz is shorter than {what}",
                           report)
                return None
            lengths[path.stem] = n
        if report and len(set(lengths.values())) > 1:
            warnings.warn(f"{files[0].parent}: its stems differ in length (" + ", ".join(
                f"{k} {n}" for k, n in lengths.items()) + f" samples at {self.sample_rate} "
                f"Hz); each is cut to the shortest, {min(lengths.values())}",
                StemLengthWarning, stacklevel=4)
        return _Clip(name, files, min(lengths.values()))

    # ---- reading
    def window(self, clip: _Clip, start: int, length: int) -> np.ndarray:
        """``(S, C, length)``: the clip's files from ``start`` (zero-padded past the
        end); ``S`` is 1 for a plain audio file."""
        return self._reader.window(clip, start, length)

    def locate(self, index: int) -> tuple[int, int]:
        """``(clip index, start sample)`` of item ``index``."""
        return self._index.locate(index)

    def __len__(self) -> int:
        """Crops in one pass over the data (consecutive, non-overlapping)."""
        return len(self._index.tiles)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(root={str(self.root)!r}, split={self.split!r}, "
                f"clips={len(self.clips)}, crops={len(self)}, sample_rate={self.sample_rate}, "
                f"channels={self.channels}, crop={self.crop}, random={self.random})")


class AudioFolder(_CropDataset):
    """Fixed-length crops of every audio file under ``root``.

    Args:
        root: a folder of ``.wav``/``.flac``/``.ogg`` files (searched recursively),
            optionally split into ``train/`` and ``validation/`` sub-folders.
        split: ``"train"``, ``"validation"`` or ``"all"``.
        sample_rate: rate of the crops; files at other rates are resampled.
        channels: channels every file must have (others are skipped with a warning).
        crop: samples per item (default 16384).
        seed: seed of the random crops.
        validation_fraction: share of clips in validation when ``root`` has no
            split folders (chosen by a hash of the path; default 0.1).
        random: random crops (default: ``split == "train"``) or consecutive tiles.
        cache: keep decoded files in memory (default ``True``).
        min_length: the fewest samples (at ``sample_rate``) a usable clip holds
            (default ``crop``; shorter ones are skipped with a warning). Whole-clip
            scoring (:meth:`track`) gives 1: any length; random crops need ``crop``.

    Shape:
        ``dataset[k]`` is a float32 tensor ``(channels, crop)``; ``track(i)`` is
        ``(name, audio (C, T), audio (1, C, T))`` for any ``T >= min_length``.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        split: str = "train",
        sample_rate: int = DEFAULT_SAMPLE_RATE,
        channels: int = 1,
        crop: int = DEFAULT_CROP,
        seed: int = 0,
        validation_fraction: float = 0.1,
        random: bool | None = None,
        cache: bool = True,
        min_length: int | None = None,
    ) -> None:
        super().__init__(root, split=split, sample_rate=sample_rate, channels=channels,
                         crop=crop, seed=seed, validation_fraction=validation_fraction,
                         random=random, cache=cache, min_length=min_length)

    def _expects(self) -> str:
        return "audio files (.wav, .flac, .ogg)"

    def _candidates(self, folder: Path) -> list[tuple[str, tuple[Path, ...]]]:
        return [(str(p.relative_to(folder)), (p,)) for p in _audio_files(folder)]

    def __getitem__(self, index: int) -> torch.Tensor:
        clip, start = self.locate(index)
        return torch.from_numpy(self.window(self.clips[clip], start, self.crop)[0])

    def track(self, index: int) -> tuple[str, torch.Tensor, torch.Tensor]:
        """Whole file ``index``: ``(name, audio (C, T), audio as one source (1, C, T))``."""
        clip = self.clips[index]
        sources = torch.from_numpy(self.window(clip, 0, clip.frames))
        return clip.name, sources[0], sources


class StemFolder(_CropDataset):
    """Fixed-length crops of the tracks of a stem folder (MUSDB-style layout)::

        root/[train|validation/]<track>/<stem>.flac

    Every track must hold every stem in ``stems`` (tracks missing one are
    skipped with a warning); the mixture is the sum of the stems.

    Args:
        root: the folder.
        stems: source names, in the order of the output; default: the folder's
            (:func:`folder_stems`: the set most tracks hold, sorted, without
            ``mixture``).
        split, sample_rate, channels, crop, seed, validation_fraction, random, cache,
            min_length:
            as for :class:`AudioFolder`.

    Shape:
        ``dataset[k]`` is ``(mixture, sources)``: float32 tensors ``(C, crop)`` and
        ``(S, C, crop)`` with ``mixture == sources.sum(0)``.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        stems: Sequence[str] | None = None,
        split: str = "train",
        sample_rate: int = DEFAULT_SAMPLE_RATE,
        channels: int = 1,
        crop: int = DEFAULT_CROP,
        seed: int = 0,
        validation_fraction: float = 0.1,
        random: bool | None = None,
        cache: bool = True,
        min_length: int | None = None,
    ) -> None:
        if stems is not None:
            if isinstance(stems, str) or not all(isinstance(s, str) and s for s in stems):
                raise InvalidType(f"stems must be a sequence of names; "
                                  f"received stems={stems!r}")
            if len(set(stems)) != len(stems) or len(stems) < 1:
                raise InvalidValue(f"stems must be distinct names; received stems={stems!r}")
        self.stems: tuple[str, ...] | None = tuple(stems) if stems is not None else None
        super().__init__(root, split=split, sample_rate=sample_rate, channels=channels,
                         crop=crop, seed=seed, validation_fraction=validation_fraction,
                         random=random, cache=cache, min_length=min_length)

    def _expects(self) -> str:
        return "track folders holding one audio file per stem"

    def _candidates(self, folder: Path) -> list[tuple[str, tuple[Path, ...]]]:
        out = []
        if self.stems is None:  # every track's, even when the first track misses one
            self.stems = folder_stems(self.root)
        for track in sorted(d for d in folder.iterdir() if d.is_dir()):
            files = {p.stem: p for p in _audio_files_here(track)
                     if p.stem.lower() not in MIXTURE_NAMES}
            if not files:
                continue
            if self.stems is None:
                self.stems = tuple(sorted(files))
            missing = [s for s in self.stems if s not in files]
            if missing:
                self._skip(track, f"missing stem(s) {', '.join(missing)} "
                                  f"(expected {', '.join(self.stems)})")
                continue
            out.append((track.name, tuple(files[s] for s in self.stems)))
        return out

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        clip, start = self.locate(index)
        sources = torch.from_numpy(self.window(self.clips[clip], start, self.crop))
        return sources.sum(0), sources

    def track(self, index: int) -> tuple[str, torch.Tensor, torch.Tensor]:
        """Whole track ``index``: ``(name, mixture (C, T), sources (S, C, T))``."""
        clip = self.clips[index]
        sources = torch.from_numpy(self.window(clip, 0, clip.frames))
        return clip.name, sources.sum(0), sources


class MixtureFolder(StemFolder):
    """A :class:`StemFolder` whose items are the mixtures only: ``(C, crop)``.

    For training the autoencoder and the generator on the stem data sets.
    """

    def __getitem__(self, index: int) -> torch.Tensor:  # type: ignore[override]
        return super().__getitem__(index)[0]


# --------------------------------------------------------------------------- mix folders


def is_mix_folder(root: str | os.PathLike[str]) -> bool:
    """Whether ``root`` is a folder holding ``mix.json`` (:class:`MixedSources`)."""
    if not isinstance(root, (str, os.PathLike)):
        return False
    return (Path(root) / MIX_FILE).is_file()


def read_mix_file(root: str | os.PathLike[str]) -> tuple[dict[str, Path], tuple[float, float]]:
    """The sources of the mix folder ``root`` and its gain range.

    ``mix.json`` holds ``{"sources": {NAME: FOLDER, ...}, "gain_db": [LOW, HIGH]}``:
    two or more named folders of audio (paths relative to ``root``) and,
    optionally, the range of the random gain (dB, uniform) that training crops
    of each source get (default ``[0, 0]``: none). Returns ``({name: folder},
    (low, high))``; :class:`~upsamplers._checks.UserFileError` naming the file
    when it is malformed or a source folder is missing.
    """
    path = Path(root) / MIX_FILE
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise UserFileError(f"{path}: not a readable JSON file ({_reason(error)})") from None
    sources = spec.get("sources") if isinstance(spec, dict) else None
    if (not isinstance(sources, dict) or len(sources) < 2
            or not all(isinstance(k, str) and k and isinstance(v, str) and v
                       for k, v in sources.items())):
        raise UserFileError(f'{path}: expected {{"sources": {{NAME: FOLDER, ...}}}} with at '
                            f"least two named folders; received {spec!r}")
    gain = spec.get("gain_db", [0.0, 0.0])
    if (not isinstance(gain, list) or len(gain) != 2
            or not all(isinstance(g, (int, float)) and not isinstance(g, bool) for g in gain)
            or gain[0] > gain[1]):
        raise UserFileError(f"{path}: gain_db must be [LOW, HIGH] in dB with LOW <= HIGH; "
                            f"received gain_db={gain!r}")
    folders = {name: (Path(root) / folder) for name, folder in sources.items()}
    for name, folder in folders.items():
        if not folder.is_dir():
            raise UserFileError(f"{path}: source {name!r} is not a folder ({folder})")
    return folders, (float(gain[0]), float(gain[1]))


class MixedSources(torch.utils.data.Dataset):
    """Mixtures of independent sources, made on the fly from the folders named in a
    mix folder's ``mix.json`` (:func:`read_mix_file`); nothing is stored twice.

    * training items (``random``, the default for ``split="train"``): item ``k``
      takes, for each source in turn, a random crop of that source's ``split``
      (a file drawn with probability proportional to its length, then an
      offset) and a random gain in ``gain_db``, from one generator seeded with
      ``(seed, k)``: deterministic in ``(seed, k)``, any ``k >= 0``;
    * tracks (:attr:`clips`, :meth:`track`, and the items when not ``random``):
      track ``i`` pairs file ``i`` of every source's ``split`` (sorted by path),
      each cut to the shortest of them, at unit gain; there are as many tracks
      as the source with the fewest files has.

    Args:
        root: the mix folder.
        stems: the sources, in the order of the output (default: the order of
            ``mix.json``); each must be named there.
        split, sample_rate, channels, crop, seed, validation_fraction, random, cache,
            min_length:
            as for :class:`StemFolder`; they apply to every source folder.

    Shape:
        ``dataset[k]`` is ``(mixture, sources)``: float32 tensors ``(C, crop)`` and
        ``(S, C, crop)`` with ``mixture == sources.sum(0)``.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        stems: Sequence[str] | None = None,
        split: str = "train",
        sample_rate: int = DEFAULT_SAMPLE_RATE,
        channels: int = 1,
        crop: int = DEFAULT_CROP,
        seed: int = 0,
        validation_fraction: float = 0.1,
        random: bool | None = None,
        cache: bool = True,
        min_length: int | None = None,
    ) -> None:
        _check_settings(self, root, split=split, sample_rate=sample_rate, channels=channels,
                        crop=crop, seed=seed, validation_fraction=validation_fraction,
                        random=random, cache=cache, min_length=min_length)
        folders, self.gain_db = read_mix_file(self.root)
        self.stems = self._choose(folders, stems)
        self.sources = [AudioFolder(folders[name], split=split, sample_rate=sample_rate,
                                    channels=channels, crop=crop, seed=seed,
                                    validation_fraction=validation_fraction, random=False,
                                    cache=cache, min_length=min_length) for name in self.stems]
        self.skipped = [m for source in self.sources for m in source.skipped]
        tracks = min(len(source.clips) for source in self.sources)  # pairs: file i of each
        self.clips = [_Clip("+".join(Path(c.name).stem for c in group),
                            tuple(c.files[0] for c in group), min(c.frames for c in group))
                      for group in zip(*(source.clips[:tracks] for source in self.sources),
                                       strict=True)]
        self._reader = _ClipReader(self.sample_rate, self.channels, self.cache)
        self._tiles = _CropIndex(self.clips, self.crop, self.seed, random=False)

    @staticmethod
    def _choose(folders: dict[str, Path], stems: Sequence[str] | None) -> tuple[str, ...]:
        if stems is None:
            return tuple(folders)
        if isinstance(stems, str) or not all(isinstance(s, str) and s for s in stems):
            raise InvalidType(f"stems must be a sequence of names; received stems={stems!r}")
        unknown = [s for s in stems if s not in folders]
        if unknown or len(set(stems)) != len(stems) or not stems:
            raise InvalidValue(f"stems must be distinct names among {', '.join(folders)}; "
                               f"received stems={list(stems)!r}")
        return tuple(stems)

    def _random_item(self, index: int) -> np.ndarray:
        """``(S, C, crop)``: independent random crops, one per source, with gains."""
        rng = np.random.default_rng([self.seed, int(index)])
        out = np.empty((len(self.sources), self.channels, self.crop), dtype=np.float32)
        low, high = self.gain_db
        for i, source in enumerate(self.sources):
            weights = np.array([c.frames for c in source.clips], dtype=np.float64)
            clip = source.clips[int(rng.choice(len(weights), p=weights / weights.sum()))]
            start = int(rng.integers(0, clip.frames - self.crop + 1))
            gain = 10 ** (rng.uniform(low, high) / 20)
            out[i] = source.window(clip, start, self.crop)[0] * np.float32(gain)
        return out

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise InvalidType(f"index must be an integer; received index={index!r}")
        if index < 0:
            raise IndexError(f"index must be >= 0; received index={index}")
        if self.random:
            sources = self._random_item(int(index))
        else:
            clip, start = self._tiles.locate(index)
            sources = self._reader.window(self.clips[clip], start, self.crop)
        tensor = torch.from_numpy(sources)
        return tensor.sum(0), tensor

    def track(self, index: int) -> tuple[str, torch.Tensor, torch.Tensor]:
        """Whole track ``index`` (see the class docstring): ``(name, mixture (C, T),
        sources (S, C, T))``, ``T`` the shortest of its files."""
        clip = self.clips[index]
        sources = torch.from_numpy(self._reader.window(clip, 0, clip.frames))
        return clip.name, sources.sum(0), sources

    def __len__(self) -> int:
        """Random crops: the crops in one pass over the largest source; tracks: their
        consecutive crops."""
        if self.random:
            return max(len(source) for source in self.sources)
        return len(self._tiles.tiles)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(root={str(self.root)!r}, stems={self.stems}, "
                f"split={self.split!r}, tracks={len(self.clips)}, crops={len(self)}, "
                f"gain_db={self.gain_db}, random={self.random})")


class MixedSignals(MixedSources):
    """A :class:`MixedSources` whose items are the mixtures only: ``(C, crop)``."""

    def __getitem__(self, index: int) -> torch.Tensor:  # type: ignore[override]
        return super().__getitem__(index)[0]


def open_audio_dataset(
    root: str | os.PathLike[str] | None = None, **options: Any
) -> AudioFolder | MixtureFolder | MixedSignals:
    """Crops of single signals from ``root`` (default: the embedded data set): the
    mixtures of a stem or mix folder, else every file of a plain folder.

    Shape: items ``(C, crop)``.
    """
    root = default_data_dir() if root is None else Path(root)
    if is_mix_folder(root):
        return MixedSignals(root, **options)
    if is_stem_folder(root):
        return MixtureFolder(root, **options)
    return AudioFolder(root, **options)


def open_dataset(kind: str, root: str | os.PathLike[str] | None = None, **options: Any
                 ) -> StemFolder | AudioFolder | MixtureFolder | MixedSources:
    """The data set of ``kind`` (a model's ``dataset_kind``) in ``root`` (default:
    the embedded data set): ``"stems"``, a :class:`StemFolder` or, for a mix
    folder, a :class:`MixedSources` (items ``(mixture, sources)``); ``"audio"``,
    single signals (:func:`open_audio_dataset`). ``options`` are those of the
    data set classes."""
    kind = check_choice("kind", kind, ("audio", "stems"))
    if kind == "stems":
        root = default_data_dir() if root is None else root
        if is_mix_folder(root):
            return MixedSources(root, **options)
        return StemFolder(root, **options)
    return open_audio_dataset(root, **options)
