#!/usr/bin/env python3
"""Build the embedded sets of recorded speech and recorded music from Debian packages.

Everything comes from Debian packages whose licences allow redistribution; nothing
is synthesised here (no text-to-speech, no MIDI or soundfont renders):

* ``speech``: spoken prompts and voice lines.

  - The Asterisk core sound prompts in their G.722 flavour (16 kHz wideband):
    whole sentences read by professional speakers, one speaker per package
    (``asterisk-core-sounds-{en,es,fr,it,ru}-g722``; Allison Smith reads both the
    English and the Mexican Spanish prompts). The prompts of the top folder are
    used (sentences and phrases); the digits, letters, phonetic alphabet and the
    beeps and tones are left out.
  - The voice packs of Hedgewars (``hedgewars-data``, GFDL-1.3): short acted lines
    ("Take cover!", "You'll regret that!"), one voice actor per pack as far as the
    package tells (it does not name them); grunts, laughs and jumps are left out,
    as are the ``Robot`` (vocoded) and ``Singer`` (sung) packs.

  Per speaker, the recordings, each with its leading and trailing silence trimmed,
  are joined with 0.25 s gaps into one stream, which is cut into consecutive files.
  Train and validation hold different speakers (:data:`SPEECH`).
* ``music``: excerpts of whole pieces of produced (recorded, mixed) music from game
  soundtracks and the Asterisk music-on-hold pack: orchestral (Wesnoth), rock,
  folk, ethnic and novelty tunes (Hedgewars), electronic and ambient (Warzone 2100,
  Endgame: Singularity, HyperRogue, LinCity-NG, Asterisk opsound), a pop tune
  (Frozen Bubble); one excerpt per piece, train and validation holding different
  pieces (:data:`PIECES`). Train also keeps recordings of single acoustic
  instruments from the Sonic Pi sample library (``sonic-pi-samples``, CC0).

Every output is mono, 16 kHz, scaled to a peak of ``--peak`` full scale. Validation
files are 16-bit FLAC (lossless); training files are Ogg Vorbis (lossy, to keep the
package small; rescaled until the decoded peak is within 0.05 of ``--peak``). Each set gets a
``manifest.json`` (its source packages with version, archive name, archive sha256
and licence; per file: split, speaker or piece, source package, version, licence,
paths inside the package, sha256 and duration) and a ``LICENSE.txt`` (each source
package's copyright file, then the licence texts).

Decoding of G.722 and Opus uses ffmpeg: the ``ffmpeg`` on ``PATH`` or the
one of the ``imageio-ffmpeg`` PyPI package (``pip install imageio-ffmpeg``).
Run by a maintainer, never by the tests (needs ``dpkg-deb``; ``apt-get download``
fetches the packages unless ``--debs`` already holds them)::

    python scripts/build_recorded.py --out src/upsamplers/datasets --debs /tmp/debs
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

RATE = 16000
COMMON_LICENSES = Path("/usr/share/common-licenses")
COMMAND = "python scripts/build_recorded.py --out src/upsamplers/datasets"


@dataclass(frozen=True)
class Package:
    """A source package: its licence (for the files used) and where the texts are."""

    name: str
    licence: str
    common_licences: tuple[str, ...] = ()  # under /usr/share/common-licenses
    licence_url: str = ""  # for a licence without a text in common-licenses


PACKAGES = {p.name: p for p in [
    Package("asterisk-core-sounds-en-g722", "CC-BY-SA-3.0",
            licence_url="https://creativecommons.org/licenses/by-sa/3.0/legalcode"),
    Package("asterisk-core-sounds-es-g722", "CC-BY-SA-3.0",
            licence_url="https://creativecommons.org/licenses/by-sa/3.0/legalcode"),
    Package("asterisk-core-sounds-fr-g722", "CC-BY-SA-3.0",
            licence_url="https://creativecommons.org/licenses/by-sa/3.0/legalcode"),
    Package("asterisk-core-sounds-it-g722", "CC-BY-3.0",
            licence_url="https://creativecommons.org/licenses/by/3.0/legalcode"),
    Package("asterisk-core-sounds-ru-g722", "CC-BY-3.0",
            licence_url="https://creativecommons.org/licenses/by/3.0/legalcode"),
    Package("asterisk-moh-opsound-g722", "CC-BY-SA-3.0",
            licence_url="https://creativecommons.org/licenses/by-sa/3.0/legalcode"),
    Package("hedgewars-data", "GFDL-1.3 (voices) / GPL-2 (music)", ("GFDL-1.3", "GPL-2")),
    Package("wesnoth-1.16-music", "GPL-2+", ("GPL-2",)),
    Package("warzone2100-music", "GPL-2+", ("GPL-2",)),
    Package("singularity-music", "CC-BY-SA-3.0",
            licence_url="https://creativecommons.org/licenses/by-sa/3.0/legalcode"),
    Package("hyperrogue-music", "GPL-2+", ("GPL-2",)),
    Package("lincity-ng-data", "GPL-2+", ("GPL-2",)),
    Package("frozen-bubble-data", "GPL-2", ("GPL-2",)),
    Package("sonic-pi-samples", "CC0-1.0", ("CC0-1.0",)),
]}
HEDGEWARS_LICENCE = {"voices": "GFDL-1.3", "music": "GPL-2"}


@dataclass
class Output:
    """One output file ``name`` in ``split``: either a cut of a speaker's stream
    (``files`` joined, from ``start`` seconds on) or an excerpt of one piece."""

    name: str
    split: str
    package: str
    files: list[str]  # paths inside the package
    description: str
    group: str  # the speaker or the piece (train and validation never share one)
    seconds: float
    start: float = 0.0  # into the stream (speech) or the piece (music)
    joined: bool = True  # speech: trim and join ``files``; music: one excerpt
    gap: float = 0.25


# ----------------------------------------------------------------- speech

AST = "usr/share/asterisk/sounds"
# speaker key -> (package, folder, speaker, language, [(split, files, seconds each)])
ASTERISK = {
    "allison_en": ("asterisk-core-sounds-en-g722", "en_US_f_Allison", "Allison Smith",
                   "English (US)", [("train", 6, 60.0)]),
    "allison_es": ("asterisk-core-sounds-es-g722", "es_MX_f_Allison", "Allison Smith",
                   "Spanish (Mexico)", [("train", 3, 60.0)]),
    "june_fr": ("asterisk-core-sounds-fr-g722", "fr_CA_f_June", "June Wallack",
                "French (Canada)", [("train", 6, 60.0)]),
    "carlo_it": ("asterisk-core-sounds-it-g722", "it_IT_m_Carlo", "Carlo Flora",
                 "Italian", [("train", 6, 60.0)]),
    "ivrvoice_ru": ("asterisk-core-sounds-ru-g722", "ru_RU_f_IvrvoiceRU", "IvrvoiceRU (female)",
                 "Russian", [("validation", 7, 20.0)]),
}
NOT_SPEECH = ("beep", "tone", "ring", "silence", "dtmf", "click", "hold", "music")
HW_VOICES = "usr/share/games/hedgewars/Data/Sounds/voices"
HW_NOT_SPEECH = ("Ow", "Ooff", "Jump", "Laugh", "Hmm", "Firepunch", "Nooo", "Uh-oh")
# voice pack -> split (Robot is vocoded and Singer sung: left out)
HEDGEWARS_SPEAKERS = {
    "British": "train", "Classic": "train", "Default": "train", "Default_es": "train",
    "Default_pl": "train", "Default_uk": "train", "HillBilly": "train", "Mobster": "train",
    "Pirate": "train",
    "Russian": "validation", "Default_ru": "validation", "Surfer": "validation",
    "Russian_pl": "validation",
}
SPEECH_VALIDATION_SECONDS = 20.0
HEDGEWARS_TRAIN_SECONDS = 90.0


def speech_outputs(root_of) -> list[Output]:
    """Every speech output; ``root_of(package)`` is the folder it is extracted to
    (the file lists are read from it)."""
    outputs = []
    for key, (package, folder, speaker, language, cuts) in ASTERISK.items():
        base = root_of(package) / AST / folder
        files = [str(p.relative_to(root_of(package))) for p in sorted(base.glob("*.g722"))
                 if not any(word in p.stem for word in NOT_SPEECH)]
        start = 0.0
        for split, count, seconds in cuts:
            for k in range(count):
                outputs.append(Output(
                    f"{key}_{k + 1:02d}", split, package, files,
                    f"{language}: telephone-system prompts (sentences) read by {speaker}, "
                    "professional recording, G.722 16 kHz source", speaker, seconds, start))
                start += seconds
    for pack, split in HEDGEWARS_SPEAKERS.items():
        base = root_of("hedgewars-data") / HW_VOICES / pack
        files = [str(p.relative_to(root_of("hedgewars-data"))) for p in sorted(base.glob("*.ogg"))
                 if not p.stem.startswith(HW_NOT_SPEECH)]
        seconds = HEDGEWARS_TRAIN_SECONDS if split == "train" else SPEECH_VALIDATION_SECONDS
        outputs.append(Output(
            f"hedgewars_{pack.lower()}", split, "hedgewars-data", files,
            f"Hedgewars voice pack {pack!r}: short acted game lines, one voice actor "
            "(unnamed in the package)", f"hedgewars:{pack}", seconds))
    return outputs


# ----------------------------------------------------------------- music

WESNOTH = "usr/share/games/wesnoth/1.16/data/core/music"
HW_MUSIC = "usr/share/games/hedgewars/Data/Music"
WZ = "usr/share/games/warzone2100/music/albums"
WZ_STYLE = "produced game soundtrack (Warzone 2100), electronic"
SING = "usr/share/games/singularity/music"
HR = "usr/share/hyperrogue/music"
LC = "usr/share/games/lincity-ng/music/default"
FB = "usr/share/games/frozen-bubble/snd"
MOH = "usr/share/asterisk/moh"
ORCH = "produced game soundtrack (Battle for Wesnoth), orchestral"
# (package, path, split, description); one piece each
PIECES = [
    ("wesnoth-1.16-music", f"{WESNOTH}/battle.ogg", "train", ORCH + ", battle music"),
    ("wesnoth-1.16-music", f"{WESNOTH}/knolls.ogg", "train", ORCH + ", pastoral"),
    ("wesnoth-1.16-music", f"{WESNOTH}/wanderer.ogg", "train", ORCH + ", calm"),
    ("wesnoth-1.16-music", f"{WESNOTH}/northerners.ogg", "train", ORCH + ", drums and brass"),
    ("wesnoth-1.16-music", f"{WESNOTH}/elvish-theme.ogg", "train", ORCH + ", theme"),
    ("wesnoth-1.16-music", f"{WESNOTH}/traveling_minstrels.ogg", "train",
     ORCH + ", folk-like, with lute and flute"),
    ("wesnoth-1.16-music", f"{WESNOTH}/legends_of_the_north.ogg", "train", ORCH),
    ("wesnoth-1.16-music", f"{WESNOTH}/loyalists.ogg", "validation", ORCH + ", march"),
    ("wesnoth-1.16-music", f"{WESNOTH}/the_deep_path.ogg", "validation", ORCH + ", dark"),
    ("hedgewars-data", f"{HW_MUSIC}/Rock.ogg", "train", "produced game music (Hedgewars), rock"),
    ("hedgewars-data", f"{HW_MUSIC}/oriental.ogg", "train",
     "produced game music (Hedgewars), East Asian style"),
    ("hedgewars-data", f"{HW_MUSIC}/pirate.ogg", "train",
     "produced game music (Hedgewars), pirate shanty style"),
    ("hedgewars-data", f"{HW_MUSIC}/City.ogg", "train", "produced game music (Hedgewars), urban"),
    ("hedgewars-data", f"{HW_MUSIC}/Jungle.ogg", "train",
     "produced game music (Hedgewars), percussion, jungle"),
    ("hedgewars-data", f"{HW_MUSIC}/snow.ogg", "train",
     "produced game music (Hedgewars), wintry, bells"),
    ("hedgewars-data", f"{HW_MUSIC}/Halloween.ogg", "train",
     "produced game music (Hedgewars), spooky"),
    ("hedgewars-data", f"{HW_MUSIC}/main_theme.ogg", "train",
     "produced game music (Hedgewars), main theme"),
    ("hedgewars-data", f"{HW_MUSIC}/Desert.ogg", "validation",
     "produced game music (Hedgewars), Middle Eastern style"),
    ("hedgewars-data", f"{HW_MUSIC}/Olympics.ogg", "validation",
     "produced game music (Hedgewars), fanfare"),
    ("hedgewars-data", f"{HW_MUSIC}/underwater.ogg", "validation",
     "produced game music (Hedgewars), ambient"),
    ("warzone2100-music", f"{WZ}/original_soundtrack/track1.opus", "train", WZ_STYLE),
    ("warzone2100-music", f"{WZ}/original_soundtrack/track2.opus", "train", WZ_STYLE),
    ("warzone2100-music", f"{WZ}/legacy_soundtrack/track10.opus", "train", WZ_STYLE),
    ("warzone2100-music", f"{WZ}/aftermath_soundtrack/track17.opus", "train", WZ_STYLE),
    ("warzone2100-music", f"{WZ}/legacy_soundtrack/track11.opus", "validation", WZ_STYLE),
    ("warzone2100-music", f"{WZ}/aftermath_soundtrack/track18.opus", "validation", WZ_STYLE),
    ("singularity-music", f"{SING}/Awakening.ogg", "train",
     "produced game soundtrack (Endgame: Singularity), electronic ambient"),
    ("singularity-music", f"{SING}/Nebula.ogg", "train",
     "produced game soundtrack (Endgame: Singularity), electronic ambient"),
    ("singularity-music", f"{SING}/Through Space.ogg", "train",
     "produced game soundtrack (Endgame: Singularity), electronic ambient"),
    ("singularity-music", f"{SING}/Coherence.ogg", "validation",
     "produced game soundtrack (Endgame: Singularity), electronic ambient"),
    ("hyperrogue-music", f"{HR}/hr3-caves.ogg", "train",
     "produced game music (HyperRogue), atmospheric"),
    ("hyperrogue-music", f"{HR}/hr-savino-caribbean.ogg", "train",
     "produced game music (HyperRogue), Caribbean style"),
    ("hyperrogue-music", f"{HR}/hr-domina-mountain.ogg", "train",
     "produced game music (HyperRogue), orchestral"),
    ("hyperrogue-music", f"{HR}/hr3-desert.ogg", "validation",
     "produced game music (HyperRogue), desert"),
    ("lincity-ng-data", f"{LC}/02 - Robert van Herk - City Blues.ogg", "train",
     "produced game music (LinCity-NG), blues by Robert van Herk"),
    ("lincity-ng-data", f"{LC}/01 - pronobozo - lincity.ogg", "train",
     "produced game music (LinCity-NG), electronic by pronobozo"),
    ("lincity-ng-data", f"{LC}/03 - Robert van Herk - Architectural Contemplations.ogg",
     "validation", "produced game music (LinCity-NG), by Robert van Herk"),
    ("frozen-bubble-data", f"{FB}/frozen-mainzik-1p.ogg", "train",
     "produced game music (Frozen Bubble), pop"),
    ("frozen-bubble-data", f"{FB}/introzik.ogg", "validation",
     "produced game music (Frozen Bubble), intro"),
    ("asterisk-moh-opsound-g722", f"{MOH}/macroform-cold_day.g722", "train",
     "music on hold (Asterisk opsound), Macroform, electronic; G.722 16 kHz source"),
    ("asterisk-moh-opsound-g722", f"{MOH}/macroform-robot_dity.g722", "train",
     "music on hold (Asterisk opsound), Macroform, electronic; G.722 16 kHz source"),
    ("asterisk-moh-opsound-g722", f"{MOH}/manolo_camp-morning_coffee.g722", "train",
     "music on hold (Asterisk opsound), Manolo Camp, downtempo; G.722 16 kHz source"),
    ("asterisk-moh-opsound-g722", f"{MOH}/reno_project-system.g722", "train",
     "music on hold (Asterisk opsound), Reno Project; G.722 16 kHz source"),
    ("asterisk-moh-opsound-g722", f"{MOH}/macroform-the_simplicity.g722", "validation",
     "music on hold (Asterisk opsound), Macroform; G.722 16 kHz source"),
]
SONIC = "usr/share/sonic-pi/samples"
# single instruments (not pieces), train only
INSTRUMENTS = [
    ("guitar_em9", ["guit_em9"], "acoustic guitar, an E minor 9 chord"),
    ("guitar_e_fifths", ["guit_e_fifths"], "electric guitar, fifths on E"),
    ("guitar_e_slide", ["guit_e_slide"], "guitar, a slide on E"),
    ("piano", ["ambi_piano"], "piano"),
    ("choir", ["ambi_choir"], "a choir"),
    ("tabla_loop", ["loop_tabla"], "a tabla pattern played on tabla"),
    ("drum_roll_bells", ["drum_roll", "perc_bell", "perc_bell2"], "a snare roll, then bells"),
]
MUSIC_TRAIN_SECONDS = 45.0
MUSIC_VALIDATION_SECONDS = 20.0
MUSIC_START = 20.0  # seconds into each piece (past most intros)


def music_outputs() -> list[Output]:
    outputs = []
    for package, path, split, description in PIECES:
        stem = re.sub(r"[^a-z0-9]+", "_", Path(path).stem.lower()).strip("_")
        short = package.split("-")[0]
        seconds = MUSIC_TRAIN_SECONDS if split == "train" else MUSIC_VALIDATION_SECONDS
        outputs.append(Output(f"{short}_{stem}"[:48], split, package, [path], description,
                              f"{package}:{path}", seconds, MUSIC_START, joined=False))
    for name, parts, description in INSTRUMENTS:
        outputs.append(Output(
            f"sonicpi_{name}", "train", "sonic-pi-samples",
            [f"{SONIC}/{p}.flac" for p in parts],
            f"single instrument recording (Sonic Pi sample library, freesound.org): "
            f"{description}", f"sonic-pi-samples:{name}", 30.0))
    return outputs


# ----------------------------------------------------------------- audio


def ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg
    except ImportError:
        sys.exit("needs ffmpeg on PATH or `pip install imageio-ffmpeg`")
    return imageio_ffmpeg.get_ffmpeg_exe()


@functools.lru_cache(maxsize=4096)
def decode(path: Path, start: float = 0.0, seconds: float | None = None) -> np.ndarray:
    """``path`` (from ``start``, ``seconds`` long) as mono float64 at :data:`RATE`,
    channels averaged: Vorbis, FLAC and WAV read by soundfile and resampled with
    ``scipy.signal.resample_poly``; G.722, GSM and Opus decoded and resampled by
    ffmpeg (64-tap filter)."""
    if path.suffix in (".ogg", ".flac", ".wav"):
        import soundfile as sf
        from scipy.signal import resample_poly

        with sf.SoundFile(str(path)) as f:
            rate = f.samplerate
            f.seek(min(int(start * rate), f.frames))
            frames = -1 if seconds is None else int(seconds * rate)
            data = f.read(frames, dtype="float64", always_2d=True)
        ratio = Fraction(RATE, int(rate))
        return resample_poly(data.mean(axis=1), ratio.numerator, ratio.denominator)
    args = [ffmpeg(), "-v", "error", "-nostdin"]
    if path.suffix in (".g722", ".gsm"):
        args += ["-f", path.suffix[1:]]
    if start:
        args += ["-ss", f"{start:.3f}"]
    if seconds is not None:
        args += ["-t", f"{seconds:.3f}"]
    args += ["-i", str(path), "-ac", "1", "-af", f"aresample={RATE}:filter_size=64",
             "-f", "f32le", "-"]
    raw = subprocess.run(args, check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype="<f4").astype(np.float64)


def trim_silence(audio: np.ndarray, threshold_db: float = -40.0,
                 margin: float = 0.05) -> np.ndarray:
    """``audio`` without the leading and trailing samples more than ``-threshold_db``
    below its peak, keeping ``margin`` seconds on either side."""
    peak = np.max(np.abs(audio)) if audio.size else 0.0
    if peak == 0:
        return audio[:0]
    loud = np.flatnonzero(np.abs(audio) >= peak * 10 ** (threshold_db / 20))
    pad = int(margin * RATE)
    return audio[max(0, loud[0] - pad): loud[-1] + pad + 1]


def joined_cut(output: Output, root: Path) -> tuple[np.ndarray, list[str]]:
    """The cut ``[start, start + seconds)`` of ``output.files`` trimmed and joined
    with gaps (each at the same peak), and the files that are in it."""
    begin, end = int(output.start * RATE), int((output.start + output.seconds) * RATE)
    gap = np.zeros(int(output.gap * RATE))
    pieces, used, position = [], [], 0
    for name in output.files:
        if position >= end:
            break
        audio = trim_silence(decode(root / name))
        if audio.size < 0.2 * RATE:
            continue
        audio = np.concatenate([audio / np.max(np.abs(audio)), gap])
        if position + audio.size > begin:
            pieces.append(audio)
            used.append(name)
        else:
            position += audio.size
            continue
        position += audio.size
    first = sum(p.size for p in pieces)
    joined = np.concatenate(pieces)
    offset = max(0, begin - (position - first))
    cut = joined[offset: offset + end - begin]
    if output.start > 0 and cut.size < end - begin:  # a later cut of a speaker's stream
        raise SystemExit(f"{output.name}: the speaker has too little audio for this cut")
    return cut, used


def excerpt(output: Output, root: Path) -> tuple[np.ndarray, list[str]]:
    path = root / output.files[0]
    audio = decode(path, output.start, output.seconds)
    if audio.size < output.seconds * RATE * 0.99:  # a short piece: its last seconds
        audio = decode(path)[-int(output.seconds * RATE):]
    return audio[: int(output.seconds * RATE)], list(output.files)


# ----------------------------------------------------------------- packages


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_deb(package: str, debs: Path) -> Path:
    """The ``.deb`` of ``package`` in ``debs``, downloaded with ``apt-get download``
    when absent."""
    found = sorted(debs.glob(f"{package}_*.deb"))
    if not found:
        debs.mkdir(parents=True, exist_ok=True)
        subprocess.run(["apt-get", "download", package], cwd=debs, check=True)
        found = sorted(debs.glob(f"{package}_*.deb"))
    return found[-1]


def deb_field(deb: Path, name: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), name], check=True, capture_output=True,
                          text=True).stdout.strip()


def file_licence(package: str, path: str) -> str:
    if package == "hedgewars-data":
        return HEDGEWARS_LICENCE["voices" if "/voices/" in path else "music"]
    return PACKAGES[package].licence


def _ogg_crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
        table.append(crc & 0xFFFFFFFF)
    return table


OGG_CRC = _ogg_crc_table()
OGG_SERIAL = 0x75707331  # fixed, so that a rebuild writes the same bytes


def fix_ogg_serial(path: Path, serial: int = OGG_SERIAL) -> None:
    """Give every page of the Ogg file ``path`` the stream serial number ``serial``
    (libsndfile draws a random one) and its page checksum again."""
    data = bytearray(path.read_bytes())
    at = 0
    while at < len(data):
        assert data[at:at + 4] == b"OggS", f"{path}: not an Ogg page at byte {at}"
        segments = data[at + 26]
        size = 27 + segments + sum(data[at + 27: at + 27 + segments])
        data[at + 14: at + 18] = serial.to_bytes(4, "little")
        data[at + 22: at + 26] = bytes(4)
        crc = 0
        for byte in data[at: at + size]:
            crc = ((crc << 8) & 0xFFFFFFFF) ^ OGG_CRC[(crc >> 24) ^ byte]
        data[at + 22: at + 26] = crc.to_bytes(4, "little")
        at += size
    path.write_bytes(bytes(data))


def write_audio(path: Path, audio: np.ndarray, peak: float) -> np.ndarray:
    """Write ``audio`` scaled to ``peak``: 16-bit FLAC, or Ogg Vorbis (whose decoded
    peak then differs a little: the codec's error); returns what a reader gets back."""
    import soundfile as sf

    audio = (audio * (peak / np.max(np.abs(audio)))).astype(np.float32)
    if path.suffix == ".flac":
        sf.write(str(path), audio, RATE, subtype="PCM_16")
    else:  # rescaled by the decoded peak until it is within 0.05 of ``peak``
        for _ in range(6):
            sf.write(str(path), audio, RATE, format="OGG", subtype="VORBIS")
            fix_ogg_serial(path)
            decoded = float(np.max(np.abs(sf.read(str(path), dtype="float32")[0])))
            if abs(decoded - peak) <= 0.05:
                break
            audio = (audio * (peak / decoded)).astype(np.float32)
        else:
            raise SystemExit(f"{path}: the decoded peak stays {decoded:.3f}, not {peak}")
    back, _ = sf.read(str(path), dtype="float32")
    return back


def build_set(name: str, outputs: list[Output], roots: dict[str, Path],
              sources: dict[str, dict], out: Path, peak: float, description: str,
              group_key: str) -> dict:
    train = {o.group for o in outputs if o.split == "train"}
    validation = {o.group for o in outputs if o.split == "validation"}
    assert not train & validation, f"{name}: shared between the splits: {train & validation}"
    files = []
    for output in outputs:
        make = joined_cut if output.joined else excerpt
        audio, used = make(output, roots[output.package])
        suffix = ".flac" if output.split == "validation" else ".ogg"
        path = out / output.split / f"{output.name}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        back = write_audio(path, audio, peak)
        source = sources[output.package]
        files.append({"file": str(path.relative_to(out)), "split": output.split,
                      group_key: output.group, "description": output.description,
                      "seconds": back.size / RATE, "samples": int(back.size),
                      "format": "FLAC PCM_16" if suffix == ".flac" else "OGG VORBIS",
                      "sha256": sha256(path),
                      "source": {"package": output.package, "version": source["version"],
                                 "licence": file_licence(output.package, used[0]),
                                 "paths": used}})
        print(f"  {files[-1]['file']}: {back.size / RATE:.1f} s", file=sys.stderr)
    used_packages = sorted({o.package for o in outputs})
    licence_text = [f"{name}: made from the Debian packages {', '.join(used_packages)}.",
                    "Each package's copyright file follows, then the licence texts.", ""]
    texts = set()
    for package in used_packages:
        source = sources[package]
        licence_text += [f"===== {package} {source['version']} ({source['licence']}): "
                         f"{source['copyright']}",
                         (roots[package] / source["copyright"]).read_text()]
        readme = roots[package] / SONIC / "README.md"
        if package == "sonic-pi-samples" and readme.is_file():
            licence_text += [f"----- {SONIC}/README.md (the source of every sample)",
                             readme.read_text()]
        credits = roots[package] / HW_MUSIC / "credits.txt"
        if package == "hedgewars-data" and credits.is_file():
            licence_text += [f"----- {HW_MUSIC}/credits.txt", credits.read_text()]
        texts |= set(PACKAGES[package].common_licences)
        if PACKAGES[package].licence_url:
            licence_text += [f"The {PACKAGES[package].licence} licence text: "
                             f"{PACKAGES[package].licence_url}", ""]
    for text in sorted(texts):
        licence_text += [f"===== {text}", (COMMON_LICENSES / text).read_text()]
    (out / "LICENSE.txt").write_text("\n".join(licence_text))
    return {"description": description, "sample_rate": RATE, "channels": 1,
            "formats": {"train": "OGG VORBIS", "validation": "FLAC PCM_16"}, "peak": peak,
            "licence": sorted({f["source"]["licence"] for f in files}),
            "sources": [sources[p] for p in used_packages], "command": COMMAND,
            "seconds": {s: round(sum(f["seconds"] for f in files if f["split"] == s), 3)
                        for s in ("train", "validation")},
            f"{group_key}s": {s: sorted({f[group_key] for f in files if f["split"] == s})
                              for s in ("train", "validation")},
            "files": files}


SPEECH_DESCRIPTION = (
    "Recorded human speech: telephone-system prompts (whole sentences) read by four "
    "professional speakers in five languages (Asterisk core sounds, G.722 16 kHz; "
    "CC-BY-SA-3.0 / CC-BY-3.0) and short acted game lines of 13 Hedgewars voice packs "
    "(GFDL-1.3). Per speaker, the recordings are trimmed of silence and joined with "
    "0.25 s gaps, then cut into consecutive files. Mono, 16 kHz, peak 0.9 full scale; "
    "train Ogg Vorbis (peak within 0.05 after decoding), validation 16-bit FLAC. "
    "Validation holds speakers that are not "
    "in train (the 'speakers' field).")
MUSIC_DESCRIPTION = (
    "Recorded (produced) music: one excerpt per piece from game soundtracks and the "
    "Asterisk music-on-hold pack (orchestral, rock, folk, ethnic styles, electronic, "
    "ambient, blues, pop), plus recordings of single acoustic instruments (Sonic Pi "
    "samples, train only). Mono, 16 kHz, peak 0.9 full scale; train Ogg Vorbis (45 s "
    "per piece; peak within 0.05 after decoding), validation 16-bit FLAC (20 s per "
    "piece). Validation holds pieces that are not in train (the 'pieces' field).")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True,
                        help="folder receiving speech/ and music/ (replaced)")
    parser.add_argument("--debs", type=Path, default=Path("debs"),
                        help="folder holding (or receiving) the .deb files (default ./debs)")
    parser.add_argument("--peak", type=float, default=0.9, help="peak of every file (0.9)")
    parser.add_argument("--only", choices=("speech", "music"), help="build one set only")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        roots, sources = {}, {}

        def root_of(package: str) -> Path:
            if package not in roots:
                deb = fetch_deb(package, args.debs)
                roots[package] = Path(tmp) / package
                subprocess.run(["dpkg-deb", "-x", str(deb), str(roots[package])], check=True)
                sources[package] = {
                    "package": package, "version": deb_field(deb, "Version"),
                    "archive": deb.name, "archive_sha256": sha256(deb),
                    "licence": PACKAGES[package].licence,
                    "copyright": f"usr/share/doc/{package}/copyright"}
            return roots[package]

        sets = {"speech": (lambda: speech_outputs(root_of), SPEECH_DESCRIPTION, "speaker"),
                "music": (music_outputs, MUSIC_DESCRIPTION, "piece")}
        for name, (make, description, key) in sets.items():
            if args.only and name != args.only:
                continue
            outputs = make()
            for output in outputs:
                root_of(output.package)
            out = args.out / name
            if out.exists():
                shutil.rmtree(out)
            out.mkdir(parents=True)
            manifest = build_set(name, outputs, roots, sources, out, args.peak, description,
                                 key)
            (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
            print(f"{out}: {len(manifest['files'])} files, {manifest['seconds']} s",
                  file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
