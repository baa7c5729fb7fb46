#!/usr/bin/env python3
"""Render four-part Bach chorales to a stem data set (MUSDB-style folders).

Every chorale of the music21 corpus that has exactly the four parts Soprano,
Alto, Tenor and Bass is a candidate. Each part is written as its own MIDI file
(one General MIDI instrument per part), rendered with FluidSynth and the
FluidR3_GM soundfont with reverb and chorus off (``-R 0 -C 0``), so that the
rendering is byte-identical across runs, then mixed down to mono (or kept
stereo with a fixed pan per part), resampled with ``scipy.signal.resample_poly``
and written as 16-bit FLAC::

    OUT/
      train/<track>/{soprano,alto,tenor,bass}.flac
      validation/<track>/{soprano,alto,tenor,bass}.flac
      manifest.json   sources, parameters, tool versions, sha256 of every file
      LICENSE.txt     attribution and licences

The mixture of a track is defined as the sum of its stems (``--store-mixture``
also writes it as ``mixture.flac``). All stems of a track share one gain, chosen
so that the mixture peaks at ``--peak`` full scale; the mixture of the stored
(quantised) stems therefore never clips.

Needs: ``pip install music21 soundfile scipy numpy`` and, on Debian/Ubuntu,
``apt-get install fluidsynth fluid-soundfont-gm``. Nothing is downloaded: the
scores ship inside the music21 package.

The small set shipped in ``src/upsamplers/datasets/bach_chorales`` (inside the
package and its wheel) was made with::

    python scripts/make_dataset.py --out src/upsamplers/datasets/bach_chorales --max-seconds 16

and a larger one (44.1 kHz stereo, 300 chorales) is made with::

    python scripts/make_dataset.py --out ~/bach_chorales_large \\
        --pieces 300 --validation 30 --sample-rate 44100 --channels 2 --store-mixture
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import shutil
import subprocess
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np

STEMS = ("soprano", "alto", "tenor", "bass")
# General MIDI programs (0-based): distinct timbres make the separation task meaningful.
PROGRAMS = {"soprano": 68, "alto": 71, "tenor": 60, "bass": 70}  # oboe, clarinet, horn, bassoon
PROGRAM_NAMES = {68: "Oboe", 71: "Clarinet", 60: "French Horn", 70: "Bassoon"}
# Stereo pan per part (MIDI CC 10, 0 = left, 64 = centre, 127 = right).
PANS = {"soprano": 40, "alto": 56, "tenor": 72, "bass": 88}
RENDER_RATE = 44100
DEFAULT_SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
SOUNDFONT_COPYRIGHT = Path("/usr/share/doc/fluid-soundfont-gm/copyright")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to create")
    parser.add_argument("--pieces", type=int, default=12, help="number of chorales (default 12)")
    parser.add_argument("--validation", type=int, default=3,
                        help="how many of them form the validation split (default 3)")
    parser.add_argument("--sample-rate", type=int, default=16000, help="default 16000")
    parser.add_argument("--channels", type=int, choices=(1, 2), default=1, help="default 1")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="cut every track to at most this long (default: whole chorale)")
    parser.add_argument("--peak", type=float, default=0.9,
                        help="peak of each track's mixture, full scale (default 0.9)")
    parser.add_argument("--store-mixture", action="store_true",
                        help="also write mixture.flac (the sum of the stored stems)")
    parser.add_argument("--soundfont", type=Path, default=DEFAULT_SOUNDFONT)
    parser.add_argument("--fluidsynth", default="fluidsynth", help="FluidSynth executable")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")
    args = parser.parse_args(argv)
    if args.pieces < 2:
        parser.error(f"--pieces must be at least 2; received --pieces={args.pieces}")
    if not 1 <= args.validation < args.pieces:
        parser.error(f"--validation must be in [1, pieces - 1]; received --validation="
                     f"{args.validation}")
    if args.sample_rate < 8000:
        parser.error(f"--sample-rate must be >= 8000; received --sample-rate={args.sample_rate}")
    if not 0 < args.peak <= 1:
        parser.error(f"--peak must be in (0, 1]; received --peak={args.peak}")
    return args


def candidate_chorales() -> list[str]:
    """Corpus paths (``bach/bwvNNN.N.mxl``) of the chorales with exactly the parts
    Soprano, Alto, Tenor, Bass, sorted by name (a stable order)."""
    from music21 import corpus

    found = []
    for path in sorted(corpus.getComposer("bach"), key=lambda p: p.name):
        if not path.name.endswith(".mxl"):
            continue
        score = corpus.parse(path)
        names = [(p.partName or "").strip().lower() for p in score.parts]
        if names == list(STEMS):
            found.append(f"bach/{path.name}")
    return found


def select(candidates: list[str], pieces: int) -> list[str]:
    """``pieces`` chorales spread evenly over the sorted candidates."""
    if pieces > len(candidates):
        raise SystemExit(f"only {len(candidates)} chorales are available; asked for {pieces}")
    step = len(candidates) / pieces
    return [candidates[math.floor(i * step)] for i in range(pieces)]


def write_part_midi(score, index: int, stem: str, path: Path, stereo: bool) -> None:
    """One MIDI file holding part ``index`` of ``score`` on its own instrument."""
    from music21 import instrument, midi, stream

    part = score.parts[index]
    single = stream.Score()
    # keep the score's tempo marks, which live in the first part
    for mark in score.parts[0].recurse().getElementsByClass("MetronomeMark"):
        single.insert(mark.getOffsetInHierarchy(score), mark.__class__(number=mark.number,
                      referent=mark.referent))
    part = part.flatten().notesAndRests.stream()
    for old in part.getElementsByClass("Instrument"):
        part.remove(old)
    inst = instrument.Instrument()
    inst.midiProgram = PROGRAMS[stem]
    inst.midiChannel = 0
    part.insert(0, inst)
    single.insert(0, part)
    mf = midi.translate.streamToMidiFile(single)
    if stereo:
        for track in mf.tracks:
            if any(e.type == midi.ChannelVoiceMessages.NOTE_ON for e in track.events):
                channel = next(e.channel for e in track.events
                               if e.type == midi.ChannelVoiceMessages.NOTE_ON)
                delta = midi.DeltaTime(track, time=0, channel=channel)
                pan = midi.MidiEvent(track, type=midi.ChannelVoiceMessages.CONTROLLER_CHANGE,
                                     channel=channel)
                pan.parameter1, pan.parameter2 = 10, PANS[stem]
                track.events[0:0] = [delta, pan]
    mf.open(str(path), "wb")
    mf.write()
    mf.close()


def render(fluidsynth: str, soundfont: Path, midi_path: Path, wav_path: Path) -> np.ndarray:
    """FluidSynth rendering at 44.1 kHz, reverb and chorus off: ``(T, 2)`` float64."""
    import soundfile as sf

    command = [fluidsynth, "-ni", "-q", "-R", "0", "-C", "0", "-g", "0.5", "-r",
               str(RENDER_RATE), "-T", "wav", "-O", "s16", "-F", str(wav_path),
               str(soundfont), str(midi_path)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    audio, rate = sf.read(wav_path, dtype="float64", always_2d=True)
    if rate != RENDER_RATE:
        raise RuntimeError(f"FluidSynth wrote {rate} Hz, expected {RENDER_RATE}")
    return audio


def resample(audio: np.ndarray, rate: int) -> np.ndarray:
    """``(T, C)`` at 44.1 kHz to ``rate`` with a polyphase Kaiser-windowed filter."""
    from scipy.signal import resample_poly

    if rate == RENDER_RATE:
        return audio
    ratio = Fraction(rate, RENDER_RATE)
    return resample_poly(audio, ratio.numerator, ratio.denominator, axis=0)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tool_versions(fluidsynth: str) -> dict[str, str]:
    import music21
    import scipy
    import soundfile

    out = subprocess.run([fluidsynth, "--version"], capture_output=True, text=True).stdout
    return {
        "music21": music21.__version__,
        "fluidsynth": out.splitlines()[0] if out else "unknown",
        "soundfile": soundfile.__version__,
        "libsndfile": soundfile.__libsndfile_version__,
        "scipy": scipy.__version__,
        "numpy": np.__version__,
    }


LICENSE_HEADER = """\
Bach chorales rendered with FluidR3_GM: licence and attribution
=================================================================

This folder holds audio rendered by scripts/make_dataset.py of the
neural-upsamplers project from two sources. Each source's terms follow.

1. The music: four-part chorale harmonisations by Johann Sebastian Bach
   (1685-1750). The compositions are in the public domain. The encodings used
   are the MusicXML files of the music21 corpus (music21 {music21}, by Michael
   Scott Asato Cuthbert and contributors, https://web.mit.edu/music21/), read
   with music21's own parser; the chorales used are listed in manifest.json.
   music21 itself is distributed under the BSD 3-clause licence; its corpus
   notes that it "includes a collection of freely distributable music".

2. The instrument sounds: the FluidR3_GM General MIDI soundfont by Frank Wen,
   released under the MIT licence, as shipped by Debian's fluid-soundfont-gm
   package. Its copyright file, as Debian ships it, is reproduced below.

The rendered audio files in this folder are released under the MIT licence of
FluidR3_GM (below), with the copyright notice reproduced here.

-----------------------------------------------------------------------------
/usr/share/doc/fluid-soundfont-gm/copyright (Debian)
-----------------------------------------------------------------------------
"""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import soundfile as sf
    from music21 import corpus

    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        def tqdm(iterable, **_):
            return iterable

    if not args.soundfont.is_file():
        raise SystemExit(f"soundfont not found: {args.soundfont} "
                         "(apt-get install fluid-soundfont-gm, or pass --soundfont)")
    if shutil.which(args.fluidsynth) is None:
        raise SystemExit(f"{args.fluidsynth} not found (apt-get install fluidsynth)")
    if args.out.exists():
        if not args.force:
            raise SystemExit(f"{args.out} exists; pass --force to replace it")
        shutil.rmtree(args.out)
    staging = Path(tempfile.mkdtemp(prefix=args.out.name + ".", dir=args.out.parent))

    chosen = select(candidate_chorales(), args.pieces)
    # validation: every k-th chosen chorale, so both splits span the corpus
    stride = args.pieces / args.validation
    validation = {chosen[math.floor(i * stride + stride / 2)] for i in range(args.validation)}
    manifest = {
        "description": "Four-part Bach chorales from the music21 corpus, one stem per part, "
                       "rendered with FluidSynth and FluidR3_GM (reverb and chorus off). "
                       "The mixture is the sum of the stems.",
        "sample_rate": args.sample_rate,
        "channels": args.channels,
        "stems": list(STEMS),
        "instruments": {s: {"gm_program": PROGRAMS[s], "name": PROGRAM_NAMES[PROGRAMS[s]]}
                        for s in STEMS},
        "peak": args.peak,
        "max_seconds": args.max_seconds,
        "command": "python scripts/make_dataset.py " + " ".join(sys.argv[1:] if argv is None
                                                                else argv),
        "soundfont": {"file": args.soundfont.name, "sha256": sha256(args.soundfont)},
        "tools": tool_versions(args.fluidsynth),
        "tracks": [],
    }
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        for source in tqdm(chosen, desc="rendering", unit="piece"):
            score = corpus.parse(source)
            name = Path(source).stem.replace(".", "_")
            stems = {}
            for index, stem in enumerate(STEMS):
                midi_path = scratch / f"{name}_{stem}.mid"
                write_part_midi(score, index, stem, midi_path, stereo=args.channels == 2)
                audio = render(args.fluidsynth, args.soundfont, midi_path,
                               scratch / f"{name}_{stem}.wav")
                if args.channels == 1:
                    audio = audio.mean(axis=1, keepdims=True)
                stems[stem] = resample(audio, args.sample_rate)
            length = max(a.shape[0] for a in stems.values())
            if args.max_seconds is not None:
                length = min(length, int(args.max_seconds * args.sample_rate))
            stack = np.zeros((len(STEMS), length, args.channels))
            for i, stem in enumerate(STEMS):
                n = min(length, stems[stem].shape[0])
                stack[i, :n] = stems[stem][:n]
            gain = args.peak / np.abs(stack.sum(axis=0)).max()
            quantised = np.round(stack * gain * 32768).clip(-32768, 32767).astype(np.int16)
            split = "validation" if source in validation else "train"
            folder = staging / split / name
            folder.mkdir(parents=True)
            files = {}
            for i, stem in enumerate(STEMS):
                path = folder / f"{stem}.flac"
                sf.write(path, quantised[i], args.sample_rate, subtype="PCM_16", format="FLAC",
                         compression_level=1.0)
                files[stem] = sha256(path)
            if args.store_mixture:
                mixture = quantised.astype(np.int32).sum(axis=0)
                if np.abs(mixture).max() > 32767:  # pragma: no cover - peak <= 1 prevents it
                    raise RuntimeError(f"{name}: mixture clips")
                path = folder / "mixture.flac"
                sf.write(path, mixture.astype(np.int16), args.sample_rate, subtype="PCM_16",
                         format="FLAC")
                files["mixture"] = sha256(path)
            manifest["tracks"].append({
                "track": name, "split": split, "source": source,
                "title": score.metadata.title if score.metadata else None,
                "samples": int(length), "seconds": round(length / args.sample_rate, 3),
                "sha256": files,
            })
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    copyright_text = (SOUNDFONT_COPYRIGHT.read_text() if SOUNDFONT_COPYRIGHT.is_file()
                      else "FluidR3_GM: Copyright (c) 2000-2002, 2008 Frank Wen; MIT licence.\n")
    (staging / "LICENSE.txt").write_text(
        LICENSE_HEADER.format(music21=manifest["tools"]["music21"]) + copyright_text)
    staging.rename(args.out)
    total = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    seconds = sum(t["seconds"] for t in manifest["tracks"])
    print(f"wrote {len(chosen)} tracks ({seconds:.0f} s, {total / 1e6:.1f} MB) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
