#!/usr/bin/env python3
"""Build the embedded sets of recorded speech and recorded music from Debian packages.

Both come from Debian packages whose licences allow redistribution; nothing in
them is synthesised (no text-to-speech, no MIDI or soundfont renders):

* ``speech``: the spoken letters of the alphabet of KLettres (``klettres-data``,
  GPL-2+), recorded by volunteers, one speaker per language. Per language, the
  recordings of the alphabet, each with its silence trimmed, are joined with
  0.25 s gaps into one file of at most ``--speech-seconds``.
* ``music``: recordings of real instruments played, from the Sonic Pi sample
  library (``sonic-pi-samples``, CC0, from freesound.org, each file credited in
  its README): acoustic guitar, piano, choir, a tabla loop and tabla strokes,
  an acoustic drum kit (a roll and single hits), bells, a rubbed wine glass.
  Single hits are joined with 0.15 s gaps into one file per instrument. Synthesiser
  sounds, electronic loops and the drum breaks sampled from commercial records
  (amen, breakbeat) are left out.

Every output is mono, 16 kHz (``scipy.signal.resample_poly``), scaled to a peak
of ``--peak`` full scale and written as 16-bit FLAC into ``OUT/<set>/{train,
validation}/``, with ``manifest.json`` (per file: source package, version, paths
inside the package, licence, sha256 of the package archive and of the output
file, duration) and ``LICENSE.txt`` (the package's copyright file and the full
licence text). Validation holds whole files of speakers / instruments that are
not in train.

Run by a maintainer, never by the tests (needs ``dpkg-deb``; ``apt-get
download`` fetches the packages unless ``--debs`` already holds them)::

    python scripts/build_recorded.py --out src/upsamplers/datasets --debs /tmp/debs
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

RATE = 16000
COMMON_LICENSES = Path("/usr/share/common-licenses")


@dataclass
class Output:
    """One output file: ``name`` in ``split``, made of ``parts`` (paths inside the
    package) joined with ``gap`` seconds of silence, cut to ``max_seconds``."""

    name: str
    split: str
    parts: list[str]
    description: str
    gap: float = 0.25
    max_seconds: float | None = None
    trim: bool = True


@dataclass
class SetSpec:
    """One data set: the package it comes from and its outputs."""

    name: str
    package: str
    licence: str
    licence_file: str  # under /usr/share/common-licenses
    description: str
    outputs: list[Output] = field(default_factory=list)


KLETTRES = "usr/share/klettres"
# language folder -> language; one speaker each (the volunteer who recorded it)
SPEECH_TRAIN = {"en": "English (US)", "de": "German", "es": "Spanish", "it": "Italian",
                "nl": "Dutch", "pt_BR": "Portuguese (Brazil)", "uk": "Ukrainian",
                "cs": "Czech", "he": "Hebrew", "hu": "Hungarian"}
SPEECH_VALIDATION = {"fr": "French", "ru": "Russian"}
SONIC = "usr/share/sonic-pi/samples"
DRUM_HITS = ["drum_bass_hard", "drum_bass_soft", "drum_snare_hard", "drum_snare_soft",
             "drum_tom_hi_hard", "drum_tom_hi_soft", "drum_tom_mid_hard", "drum_tom_mid_soft",
             "drum_tom_lo_hard", "drum_tom_lo_soft", "drum_cymbal_closed", "drum_cymbal_pedal",
             "drum_cymbal_soft", "drum_cymbal_hard", "drum_cymbal_open", "drum_splash_soft",
             "drum_splash_hard", "drum_cowbell", "drum_heavy_kick"]
TABLA_HITS = ["tabla_ghe1", "tabla_ghe2", "tabla_ghe3", "tabla_ghe4", "tabla_ghe5", "tabla_ghe6",
              "tabla_ghe7", "tabla_ghe8", "tabla_na", "tabla_na_o", "tabla_na_s", "tabla_re",
              "tabla_tas1", "tabla_tas2", "tabla_tas3", "tabla_te1", "tabla_te2", "tabla_te_m",
              "tabla_te_ne", "tabla_tun1", "tabla_tun2", "tabla_tun3", "tabla_dhec"]
MUSIC_OUTPUTS = [
    ("guitar_em9", "train", ["guit_em9"], "acoustic guitar, an E minor 9 chord"),
    ("guitar_e_fifths", "train", ["guit_e_fifths"], "electric guitar, fifths on E"),
    ("guitar_harmonics", "train", ["guit_harmonics"], "guitar harmonics"),
    ("piano", "train", ["ambi_piano"], "piano"),
    ("choir", "train", ["ambi_choir"], "a choir"),
    ("tabla_loop", "train", ["loop_tabla"], "a tabla pattern played on tabla"),
    ("tabla_strokes", "train", TABLA_HITS, "single tabla strokes, one after another"),
    ("drum_kit_hits", "train", DRUM_HITS, "single hits of an acoustic drum kit"),
    ("bell", "train", ["perc_bell"], "a struck bell"),
    ("glass_harp", "train", ["ambi_glass_hum", "ambi_glass_rub"], "a wine glass rubbed"),
    ("guitar_e_slide", "validation", ["guit_e_slide"], "guitar, a slide on E"),
    ("drum_roll_bells", "validation", ["drum_roll", "perc_bell2"],
     "a snare drum roll, then bells"),
]


def speech_spec(seconds: float) -> SetSpec:
    spec = SetSpec(
        "speech", "klettres-data", "GPL-2+", "GPL-2",
        "Recorded human speech: the letters of the alphabet spoken by the volunteers who "
        "recorded KLettres (Debian package klettres-data, GPL-2+), one speaker and one "
        "language per file; each letter's recording has its silence trimmed, the letters "
        "are joined with 0.25 s gaps. Mono, 16 kHz, 16-bit FLAC, peak 0.9 full scale. "
        "Validation holds speakers (languages) that are not in train.")
    for split, languages in (("train", SPEECH_TRAIN), ("validation", SPEECH_VALIDATION)):
        for code, language in languages.items():
            spec.outputs.append(Output(code, split, [f"{KLETTRES}/{code}/alpha"],
                                       f"{language}: the alphabet, one speaker",
                                       max_seconds=seconds))
    return spec


def music_spec(seconds: float) -> SetSpec:
    spec = SetSpec(
        "music", "sonic-pi-samples", "CC0-1.0", "CC0-1.0",
        "Recorded music: real instruments played (guitar, piano, choir, tabla, acoustic "
        "drum kit, bells, rubbed glass), from the Sonic Pi sample library (Debian package "
        "sonic-pi-samples; CC0, from freesound.org, credited in its README, copied in "
        "LICENSE.txt). Synthesiser sounds, electronic loops and breaks sampled from records "
        "are left out. Single hits are joined with 0.15 s gaps. Mono, 16 kHz, 16-bit FLAC, "
        "peak 0.9 full scale. Validation holds instruments or pieces not in train.")
    for name, split, parts, description in MUSIC_OUTPUTS:
        hits = len(parts) > 2
        spec.outputs.append(Output(name, split, [f"{SONIC}/{p}.flac" for p in parts],
                                   description, gap=0.15 if hits else 0.25,
                                   max_seconds=seconds, trim=hits))
    return spec


# --------------------------------------------------------------------------- audio


def read_mono(path: Path) -> np.ndarray:
    """The file as mono float64 at :data:`RATE` (channels averaged)."""
    import soundfile as sf
    from scipy.signal import resample_poly

    data, rate = sf.read(str(path), dtype="float64", always_2d=True)
    mono = data.mean(axis=1)
    ratio = Fraction(RATE, int(rate))
    return resample_poly(mono, ratio.numerator, ratio.denominator)


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


def build_output(output: Output, root: Path, peak: float) -> tuple[np.ndarray, list[str]]:
    """The audio of ``output`` and the package paths it was made from."""
    files: list[Path] = []
    for part in output.parts:
        path = root / part
        files += sorted(path.glob("*.ogg")) if path.is_dir() else [path]
    pieces, used, total = [], [], 0
    gap = np.zeros(int(output.gap * RATE))
    for path in files:
        audio = read_mono(path)
        if output.trim:
            audio = trim_silence(audio)
        if audio.size == 0:
            continue
        audio = audio / np.max(np.abs(audio))  # each part at the same peak before joining
        pieces += [audio, gap]
        used.append(str(path.relative_to(root)))
        total += audio.size + gap.size
        if output.max_seconds is not None and total >= output.max_seconds * RATE:
            break
    joined = np.concatenate(pieces[:-1])
    if output.max_seconds is not None:
        joined = joined[: int(output.max_seconds * RATE)]
    return joined * (peak / np.max(np.abs(joined))), used


# --------------------------------------------------------------------------- packages


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


def write_set(spec: SetSpec, deb: Path, out: Path, peak: float) -> dict:
    """Extract ``deb``, write every output of ``spec`` into ``out`` and return the
    manifest."""
    import soundfile as sf

    version = deb_field(deb, "Version")
    source = {"package": spec.package, "version": version, "archive": deb.name,
              "archive_sha256": sha256(deb), "licence": spec.licence,
              "copyright": f"usr/share/doc/{spec.package}/copyright"}
    files = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        for output in spec.outputs:
            audio, used = build_output(output, root, peak)
            path = out / output.split / f"{output.name}.flac"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(str(path), audio.astype(np.float32), RATE, subtype="PCM_16")
            files.append({"file": str(path.relative_to(out)), "split": output.split,
                          "description": output.description, "seconds": audio.size / RATE,
                          "samples": int(audio.size), "sha256": sha256(path),
                          "source": {"package": spec.package, "version": version,
                                     "licence": spec.licence, "paths": used}})
        licence_text = [f"{spec.name}: made from the Debian package {spec.package} {version}.",
                        "Its copyright file follows, then the licence text.", "",
                        (root / source["copyright"]).read_text()]
        readme = root / SONIC / "README.md"
        if spec.package == "sonic-pi-samples" and readme.is_file():
            licence_text += ["", f"----- {SONIC}/README.md (the source of every sample)",
                             readme.read_text()]
    licence_text += ["", f"----- {spec.licence}",
                     (COMMON_LICENSES / spec.licence_file).read_text()]
    (out / "LICENSE.txt").write_text("\n".join(licence_text))
    return {"description": spec.description, "sample_rate": RATE, "channels": 1,
            "subtype": "PCM_16", "peak": peak, "licence": spec.licence, "source": source,
            "command": "python scripts/build_recorded.py --out src/upsamplers/datasets",
            "seconds": {s: round(sum(f["seconds"] for f in files if f["split"] == s), 3)
                        for s in ("train", "validation")},
            "files": files}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True,
                        help="folder receiving speech/ and music/ (replaced)")
    parser.add_argument("--debs", type=Path, default=Path("debs"),
                        help="folder holding (or receiving) the .deb files (default ./debs)")
    parser.add_argument("--speech-seconds", type=float, default=14.0,
                        help="longest speech file, seconds (default 14)")
    parser.add_argument("--music-seconds", type=float, default=20.0,
                        help="longest music file, seconds (default 20)")
    parser.add_argument("--peak", type=float, default=0.9, help="peak of every file (0.9)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for spec in (speech_spec(args.speech_seconds), music_spec(args.music_seconds)):
        deb = fetch_deb(spec.package, args.debs)
        out = args.out / spec.name
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        manifest = write_set(spec, deb, out, args.peak)
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        print(f"{out}: {len(manifest['files'])} files, {manifest['seconds']} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
