"""Bad input, table by table (issue 12): every command, the layers, the analysis.

A CLI row is ``(id, argv, exit code, text)``: the command runs in-process
(:func:`upsamplers.cli.main`) in a folder holding good and bad inputs
(:func:`_build_place`); it must exit with the code (2: the user's error), print
ONE error line on stderr (one-line ``warning:`` lines aside; argparse's usage
block before its own error line) containing ``text``, which names the argument
or the file, show no traceback, return within :data:`QUICK_S`, and leave every
file and folder of the place as it was (nothing changed, nothing created).

A layer or analysis row is ``(id, call, exception, text)``: the call raises the
exception (a :class:`~upsamplers._checks.UserInputError`) with ``text`` in its
message, naming the argument and the value received.

Not repeated here, because their tables already hold them row for row:
outputs in the way (``test_output_guard.ROWS``), sizes, thresholds and lint
(``test_bounds.ROWS``), non-finite audio and checkpoints (``test_nonfinite``),
data splits (``test_splits``), ``bench --repeats 0`` (``test_bench``),
``figures --only fig99`` (``test_figures``), ``separate`` with an autoencoder
(``test_train``), ``evaluate`` on an empty folder (``test_evaluate``).
"""

from __future__ import annotations

import math
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from upsamplers._checks import InvalidType, InvalidValue, UserInputError
from upsamplers.analysis import audit, find_tones, lint
from upsamplers.analysis.figures import reproduce
from upsamplers.analysis.lines import tone_measures
from upsamplers.analysis.response import measure_response
from upsamplers.cli import main
from upsamplers.layers import make_upsampler, upsampler_kinds
from upsamplers.models import Autoencoder, DemucsLike

pytestmark = pytest.mark.usefixtures("one_thread")

QUICK_S = 5.0  # generous: 2 cores are shared by several test runs; rows take milliseconds
RATE = 16000

MODEL_FILE = """\
import torch
from upsamplers import TransposedUpsample1d


def build():
    torch.manual_seed(0)
    return TransposedUpsample1d(1, 1, 2)


def notmodel():
    return 3


def raises():
    raise RuntimeError("inside the factory")


def needs_arg(k):
    return TransposedUpsample1d(1, 1, k)


def needs_two(k, taps):
    return TransposedUpsample1d(1, 1, k)
"""


def _build_place(t: Path) -> None:
    """Checkpoints of every kind (and damaged ones), audio (mono, stereo, 44.1 kHz,
    damaged), data folders (good, empty, of text files), config files, a model
    file, a finished training run and damaged copies of it."""
    torch.manual_seed(0)
    Autoencoder(widths=(4, 8), length=1024, sample_rate=RATE).save(t / "ae.pt")
    Autoencoder(widths=(4, 8), length=1024, sample_rate=RATE, audio_channels=2).save(t / "ae2.pt")
    DemucsLike(width=4, depth=2, lstm_layers=0, sources=2, source_names=["a", "b"]).save(
        t / "sep.pt")
    rng = np.random.default_rng(0)
    (t / "D").mkdir()
    sf.write(t / "D" / "clip.wav", 0.1 * rng.standard_normal(4000), RATE)
    (t / "D2").mkdir()
    for name in ("one.wav", "two.wav"):
        sf.write(t / "D2" / name, 0.1 * rng.standard_normal(4000), RATE)
    sf.write(t / "stereo.wav", 0.1 * rng.standard_normal((4000, 2)), RATE)
    sf.write(t / "c44.wav", 0.1 * rng.standard_normal(4000), 44100)
    (t / "empty").mkdir()
    (t / "txt").mkdir()
    (t / "txt" / "notes.txt").write_text("not audio\n")
    (t / "garbage.wav").write_bytes(b"not audio at all" * 10)
    (t / "trunc.wav").write_bytes((t / "D" / "clip.wav").read_bytes()[:30])
    (t / "empty.wav").write_bytes(b"")
    (t / "garbage.pt").write_bytes(b"garbage" * 20)
    (t / "trunc.pt").write_bytes((t / "ae.pt").read_bytes()[:200])
    (t / "empty.pt").write_bytes(b"")
    (t / "invalid.json").write_text("{not json")
    (t / "unknown.json").write_text('{"stepz": 3}')
    (t / "types.json").write_text('{"lr": "fast"}')
    (t / "list.json").write_text("[1, 2]")
    (t / "afile").write_text("a user's file\n")
    (t / "x2.py").write_text(MODEL_FILE)
    assert main(["train", "--steps", "1", "--crop", "1024", "--batch-size", "1", "--data",
                 str(t / "D2"), "--no-progress", "--out", str(t / "run")]) == 0
    for name in ("run_badcfg", "run_badpt", "run_sep"):
        shutil.copytree(t / "run", t / name)
    (t / "run_badcfg" / "config.json").write_text("{broken")
    (t / "run_badpt" / "model.pt").write_bytes(b"junk")
    shutil.copy(t / "sep.pt", t / "run_sep" / "model.pt")
    for name in ("run_locked", "run_nolog"):
        shutil.copytree(t / "run", t / name)
    # held by a live process (this one: alive while the rows run), as RunLock writes it
    (t / "run_locked" / ".lock").write_text(f"{os.getpid()}\n")
    (t / "run_nolog" / "log.jsonl").unlink()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("place")
    _build_place(root)
    return root


@pytest.fixture
def place(built, tmp_path):
    """A fresh copy of the place for every row."""
    shutil.copytree(built, tmp_path, dirs_exist_ok=True)
    return tmp_path


def _snapshot(root: Path) -> dict[str, tuple[bytes, int] | None]:
    """Bytes and modification time (ns) of every file, and every folder, under ``root``."""
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns) if p.is_file()
            else None for p in sorted(root.rglob("*"))}


def _run(argv: list[str], capsys) -> tuple[int, list[str], bool]:
    """Exit code, the error lines of stderr, whether argparse refused it."""
    try:
        code, parser = main(argv), False
    except SystemExit as stop:  # argparse: usage, then its one error line
        code, parser = stop.code, True
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    if parser:
        lines = lines[-1:]
    return code, [line for line in lines if not line.startswith("warning: ")], parser


TRAIN = ["train", "--steps", "1", "--crop", "1024", "--batch-size", "1", "--no-progress",
         "--out", "{t}/new"]
EVAL = ["evaluate", "--no-progress", "--audit-seconds", "0.5"]
EVAL_AE = EVAL + ["--checkpoint", "{t}/ae.pt", "--data", "{t}/D"]
REC = ["reconstruct", "--no-progress", "--checkpoint"]
REC_AE = REC + ["{t}/ae.pt", "{t}/D/clip.wav", "{t}/out.wav"]
SEP = ["separate", "--no-progress", "--checkpoint"]
SEP_OK = SEP + ["{t}/sep.pt", "{t}/D/clip.wav", "{t}/sepout"]
AUDIT = ["audit", "{t}/x2.py:build", "--no-plot", "--sample-rate"]
FIGS = ["figures", "--out", "{t}/figs", "--no-plot", "--only"]
CMP = ["compare", "--no-progress", "--out", "{t}/cmp"]
COLLECT = CMP + ["--collect"]
NOT_A_RUN = "is not a finished training run (it needs config.json and model.pt"

# (id, argv, exit code, text the one error line must contain)
CLI_ROWS = [
    # ---- bench
    ("bench shape 3 numbers", ["bench", "--shape", "1,1,8"], 2, "argument --shape: shape must be "
     "B,C,T,factor (four integers); received '1,1,8'"),
    ("bench shape letters", ["bench", "--shape", "a,b,c,d"], 2, "received 'a,b,c,d'"),
    ("bench shape B 0", ["bench", "--shape", "0,1,8,2"], 2, "shape B must be a positive integer"),
    ("bench shape C -1", ["bench", "--shape", "1,-1,8,2"], 2, "shape C must be a positive"),
    ("bench shape factor 0", ["bench", "--shape", "1,1,8,0"], 2, "shape factor must be a positive"),
    ("bench shape T 1e12", ["bench", "--shape", "1,1,1000000000000,2"], 2,
     "shape B*C*T*factor must be at most 268,435,456 output samples"),
    ("bench shape 1e5^3", ["bench", "--shape", "100000,100000,100000,2"], 2,
     "received '100000,100000,100000,2'"),
    ("bench shape factor 1e6", ["bench", "--shape", "1,1,8,1000000"], 2,
     "factor must be at most 65536"),
    ("bench repeats -1", ["bench", "--quick", "--repeats", "-1"], 2,
     "repeats must be a positive integer; received repeats=-1"),
    ("bench repeats x", ["bench", "--quick", "--repeats", "x"], 2,
     "argument --repeats: invalid int value: 'x'"),
    ("bench repeats 1e12", ["bench", "--quick", "--repeats", "1000000000000"], 2,
     "repeats must be at most 10000"),
    ("bench warmup -1", ["bench", "--quick", "--warmup", "-1"], 2,
     "warmup must be an integer >= 0; received warmup=-1"),
    ("bench warmup 1e9", ["bench", "--quick", "--warmup", "1000000000"], 2,
     "received warmup=1000000000"),
    ("bench out is a checkpoint", ["bench", "--quick", "--out", "{t}/ae.pt"], 2,
     "'{t}/ae.pt' is a file"),
    # ---- train: every numeric option
    ("train steps 0", TRAIN + ["--steps", "0"], 2, "received steps=0"),
    ("train steps -1", TRAIN + ["--steps", "-1"], 2, "received steps=-1"),
    ("train steps nan", TRAIN + ["--steps", "nan"], 2, "argument --steps: invalid int value"),
    ("train batch 0", TRAIN + ["--batch-size", "0"], 2, "received batch_size=0"),
    ("train batch 1e12", TRAIN + ["--batch-size", "1000000000000"], 2,
     "batch_size * crop must be at most 268,435,456"),
    ("train crop 0", TRAIN + ["--crop", "0"], 2, "received crop=0"),
    ("train crop 1e12", TRAIN + ["--crop", "1000000000000"], 2, "crop=1000000000000"),
    ("train lr 0", TRAIN + ["--lr", "0"], 2, "lr must be a finite number > 0; received lr=0.0"),
    ("train lr -1", TRAIN + ["--lr", "-1"], 2, "received lr=-1.0"),
    ("train lr nan", TRAIN + ["--lr", "nan"], 2, "received lr=nan"),
    ("train lr inf", TRAIN + ["--lr", "inf"], 2, "received lr=inf"),
    ("train lr x", TRAIN + ["--lr", "x"], 2, "argument --lr: invalid float value: 'x'"),
    ("train seed -1", TRAIN + ["--seed", "-1"], 2, "seed must be an integer >= 0"),
    ("train checkpoint every 0", TRAIN + ["--checkpoint-every", "0"], 2,
     "received checkpoint_every=0"),
    ("train log every 0", TRAIN + ["--log-every", "0"], 2, "received log_every=0"),
    ("train rate 0", TRAIN + ["--sample-rate", "0"], 2, "received sample_rate=0"),
    ("train rate -16000", TRAIN + ["--sample-rate", "-16000"], 2, "received sample_rate=-16000"),
    ("train rate 1e12", TRAIN + ["--sample-rate", "1000000000000"], 2,
     "sample_rate must be at most 768000 Hz"),
    ("train rate 44.1k float", TRAIN + ["--sample-rate", "44100.5"], 2,
     "argument --sample-rate: invalid int value"),
    ("train stft nan", TRAIN + ["--stft-weight", "nan"], 2, "received stft_weight=nan"),
    ("train stft -1", TRAIN + ["--stft-weight", "-1"], 2, "received stft_weight=-1.0"),
    ("train eval every -1", TRAIN + ["--eval-every", "-1"], 2, "received eval_every=-1"),
    ("train eval seconds nan", TRAIN + ["--eval-seconds", "nan"], 2, "received eval_seconds=nan"),
    ("train eval seconds 0", TRAIN + ["--eval-seconds", "0"], 2, "received eval_seconds=0.0"),
    ("train plateau db nan", TRAIN + ["--plateau-db", "nan"], 2, "received plateau_db=nan"),
    ("train plateau db -1", TRAIN + ["--plateau-db", "-1"], 2, "received plateau_db=-1.0"),
    ("train plateau fraction 0", TRAIN + ["--plateau-fraction", "0"], 2,
     "plateau_fraction must be in (0, 1]"),
    ("train plateau fraction 2", TRAIN + ["--plateau-fraction", "2"], 2,
     "received plateau_fraction=2.0"),
    ("train min steps -1", TRAIN + ["--min-steps", "-1"], 2, "received min_steps=-1"),
    # ---- train: choices, options, data, config files, resume
    ("train model unknown", TRAIN + ["--model", "nope"], 2,
     "argument --model: invalid choice: 'nope'"),
    ("train upsampler unknown", TRAIN + ["--upsampler", "nope"], 2,
     "upsampler must be one of 'transposed', 'subpixel', 'nearest', 'linear', 'sinc', "
     "'resample', 'istft'; received upsampler='nope'"),
    ("train model option no =", TRAIN + ["--model-option", "widths"], 2,
     "options must be KEY=VALUE; received 'widths'"),
    ("train model option unknown", TRAIN + ["--model-option", "nope=1"], 2,
     "model_options: Autoencoder takes no argument nope; it takes audio_channels"),
    ("train model option type", TRAIN + ["--model-option", "widths=abc"], 2,
     "received widths='abc'"),
    ("train model option value", TRAIN + ["--model-option", "widths=[0]"], 2,
     "received widths[]=0"),
    ("train upsampler option unknown", TRAIN + ["--upsampler-option", "nope=1"], 2,
     "upsampler_options: transposed upsamplers (TransposedUpsample1d) take no argument nope"),
    ("train upsampler option value", TRAIN + ["--upsampler-option", "kernel_size=-3"], 2,
     "received kernel_size=-3"),
    ("train data missing", TRAIN + ["--data", "{t}/missing"], 2,
     "data must be a folder of audio; received data='{t}/missing'"),
    ("train data is a file", TRAIN + ["--data", "{t}/afile"], 2, "received data='{t}/afile'"),
    ("train data empty", TRAIN + ["--data", "{t}/empty"], 2, "no usable audio in {t}/empty"),
    ("train data of text files", TRAIN + ["--data", "{t}/txt"], 2, "no usable audio in {t}/txt"),
    ("train data shorter than crop", TRAIN + ["--data", "{t}/D", "--crop", "100000"], 2,
     "at least crop=100000 samples"),
    ("train data stereo model, mono data", TRAIN + ["--data", "{t}/D", "--model-option",
                                                    "audio_channels=2"], 2,
     "with 2 channel(s)"),
    ("train config missing", TRAIN + ["--config", "{t}/missing.json"], 2,
     "config file {t}/missing.json does not exist"),
    ("train config is a folder", TRAIN + ["--config", "{t}/D"], 2,
     "config file {t}/D is a folder, not a file"),
    ("train config invalid JSON", TRAIN + ["--config", "{t}/invalid.json"], 2,
     "config file {t}/invalid.json is not valid JSON"),
    ("train config unknown key", TRAIN + ["--config", "{t}/unknown.json"], 2,
     "unknown training setting(s) stepz; known: batch_size"),
    ("train config wrong type", TRAIN + ["--config", "{t}/types.json"], 2, "received lr='fast'"),
    ("train config a list", TRAIN + ["--config", "{t}/list.json"], 2,
     "config file {t}/list.json must hold a table/object of settings"),
    ("train resume nothing", ["train", "--out", "{t}/new", "--resume"], 2,
     "cannot resume: {t}/new/checkpoint.pt does not exist"),
    ("train resume changed", ["train", "--out", "{t}/run", "--resume", "--steps", "2"], 2,
     "cannot resume with changed settings: data=None (checkpoint: '"),
    ("train resume bad lr", ["train", "--out", "{t}/run", "--resume", "--lr", "nan"], 2,
     "received lr=nan"),
    # ---- evaluate
    ("evaluate checkpoint missing", EVAL + ["--checkpoint", "{t}/missing.pt", "--data", "{t}/D"],
     2, "checkpoint {t}/missing.pt does not exist"),
    ("evaluate checkpoint is a folder", EVAL + ["--checkpoint", "{t}/D", "--data", "{t}/D"], 2,
     "checkpoint {t}/D is a folder, not a file"),
    ("evaluate checkpoint garbage", EVAL + ["--checkpoint", "{t}/garbage.pt", "--data", "{t}/D"],
     2, "checkpoint {t}/garbage.pt cannot be read (corrupt or not a checkpoint"),
    ("evaluate checkpoint truncated", EVAL + ["--checkpoint", "{t}/trunc.pt", "--data", "{t}/D"],
     2, "checkpoint {t}/trunc.pt cannot be read (corrupt or not a checkpoint: the file is "
     "truncated or not a zip archive as torch.save writes)"),
    ("evaluate checkpoint empty", EVAL + ["--checkpoint", "{t}/empty.pt", "--data", "{t}/D"], 2,
     "checkpoint {t}/empty.pt cannot be read (corrupt or not a checkpoint: the file is empty"),
    ("evaluate checkpoint a text file", EVAL + ["--checkpoint", "{t}/afile", "--data", "{t}/D"],
     2, "checkpoint {t}/afile cannot be read"),
    ("evaluate separator on plain audio", EVAL + ["--checkpoint", "{t}/sep.pt", "--data",
                                                  "{t}/D"], 2,
     "a separator is evaluated on a stem folder (track folders holding a, b); {t}/D is not "
     "one"),
    ("evaluate data missing", EVAL + ["--checkpoint", "{t}/ae.pt", "--data", "{t}/missing"], 2,
     "--data {t}/missing is not a folder"),
    ("evaluate data is a file", EVAL + ["--checkpoint", "{t}/ae.pt", "--data", "{t}/D/clip.wav"],
     2, "--data {t}/D/clip.wav is not a folder"),
    ("evaluate data of text files", EVAL + ["--checkpoint", "{t}/ae.pt", "--data", "{t}/txt"], 2,
     "no audio files (.wav, .flac, .ogg) under {t}/txt"),
    ("evaluate split unknown", EVAL_AE + ["--split", "nope"], 2,
     "argument --split: invalid choice: 'nope'"),
    ("evaluate max tracks 0", EVAL_AE + ["--max-tracks", "0"], 2, "received max_tracks=0"),
    ("evaluate max tracks -1", EVAL_AE + ["--max-tracks", "-1"], 2, "received max_tracks=-1"),
    ("evaluate audit seconds nan", EVAL_AE + ["--audit-seconds", "nan"], 2,
     "received audit_seconds=nan"),
    ("evaluate audit seconds -1", EVAL_AE + ["--audit-seconds", "-1"], 2,
     "received audit_seconds=-1.0"),
    ("evaluate audit seconds 0", EVAL_AE + ["--audit-seconds", "0"], 2,
     "received audit_seconds=0.0"),
    ("evaluate audit seconds inf", EVAL_AE + ["--audit-seconds", "inf"], 2,
     "received audit_seconds=inf"),
    # ---- reconstruct
    ("reconstruct checkpoint missing", REC + ["{t}/missing.pt", "{t}/D/clip.wav", "{t}/o.wav"],
     2, "checkpoint {t}/missing.pt does not exist"),
    ("reconstruct checkpoint is a folder", REC + ["{t}/D", "{t}/D/clip.wav", "{t}/o.wav"], 2,
     "checkpoint {t}/D is a folder, not a file"),
    ("reconstruct checkpoint garbage", REC + ["{t}/garbage.pt", "{t}/D/clip.wav", "{t}/o.wav"],
     2, "checkpoint {t}/garbage.pt cannot be read"),
    ("reconstruct checkpoint truncated", REC + ["{t}/trunc.pt", "{t}/D/clip.wav", "{t}/o.wav"],
     2, "checkpoint {t}/trunc.pt cannot be read"),
    ("reconstruct checkpoint empty", REC + ["{t}/empty.pt", "{t}/D/clip.wav", "{t}/o.wav"], 2,
     "checkpoint {t}/empty.pt cannot be read"),
    ("reconstruct with a separator", REC + ["{t}/sep.pt", "{t}/D/clip.wav", "{t}/o.wav"], 2,
     "{t}/sep.pt holds a DemucsLike; reconstruct needs an Autoencoder"),
    ("reconstruct input missing", REC + ["{t}/ae.pt", "{t}/missing.wav", "{t}/o.wav"], 2,
     "input {t}/missing.wav does not exist"),
    ("reconstruct input is a folder", REC + ["{t}/ae.pt", "{t}/D", "{t}/o.wav"], 2,
     "input {t}/D is a folder, not a file"),
    ("reconstruct input garbage", REC + ["{t}/ae.pt", "{t}/garbage.wav", "{t}/o.wav"], 2,
     "{t}/garbage.wav: not a readable audio file"),
    ("reconstruct input truncated", REC + ["{t}/ae.pt", "{t}/trunc.wav", "{t}/o.wav"], 2,
     "{t}/trunc.wav: not a readable audio file"),
    ("reconstruct input empty", REC + ["{t}/ae.pt", "{t}/empty.wav", "{t}/o.wav"], 2,
     "{t}/empty.wav: empty file"),
    ("reconstruct input a text file", REC + ["{t}/ae.pt", "{t}/afile", "{t}/o.wav"], 2,
     "{t}/afile: not a readable audio file"),
    ("reconstruct output is a folder", REC + ["{t}/ae.pt", "{t}/D/clip.wav", "{t}/D"], 2,
     "output {t}/D is a folder; name a file"),
    ("reconstruct output under a file", REC + ["{t}/ae.pt", "{t}/D/clip.wav", "{t}/afile/o.wav"],
     2, "'{t}/afile' is a file"),
    ("reconstruct output suffix", REC + ["{t}/ae.pt", "{t}/D/clip.wav", "{t}/o.xyz"], 2,
     "output file must end in one of .wav, .flac, .ogg; received {t}/o.xyz"),
    ("reconstruct mono into stereo model", REC + ["{t}/ae2.pt", "{t}/D/clip.wav", "{t}/o.wav"], 2,
     "the model takes 2-channel audio; the file has 1"),
    ("reconstruct chunk 0", REC_AE + ["--chunk", "0"], 2, "received chunk=0"),
    ("reconstruct chunk -1", REC_AE + ["--chunk", "-1"], 2, "received chunk=-1"),
    ("reconstruct chunk x", REC_AE + ["--chunk", "x"], 2, "argument --chunk: invalid int value"),
    ("reconstruct overlap -1", REC_AE + ["--overlap", "-1"], 2, "received overlap=-1"),
    ("reconstruct overlap > chunk", REC_AE + ["--overlap", "1000000000"], 2,
     "overlap must be smaller than chunk=1024; received overlap=1000000000"),
    # ---- separate
    ("separate checkpoint missing", SEP + ["{t}/missing.pt", "{t}/D/clip.wav", "{t}/s"], 2,
     "checkpoint {t}/missing.pt does not exist"),
    ("separate checkpoint garbage", SEP + ["{t}/garbage.pt", "{t}/D/clip.wav", "{t}/s"], 2,
     "checkpoint {t}/garbage.pt cannot be read"),
    ("separate checkpoint truncated", SEP + ["{t}/trunc.pt", "{t}/D/clip.wav", "{t}/s"], 2,
     "checkpoint {t}/trunc.pt cannot be read"),
    ("separate input missing", SEP + ["{t}/sep.pt", "{t}/missing.wav", "{t}/s"], 2,
     "input {t}/missing.wav does not exist"),
    ("separate input is a folder", SEP + ["{t}/sep.pt", "{t}/D", "{t}/s"], 2,
     "input {t}/D is a folder, not a file"),
    ("separate input garbage", SEP + ["{t}/sep.pt", "{t}/garbage.wav", "{t}/s"], 2,
     "{t}/garbage.wav: not a readable audio file"),
    ("separate input empty", SEP + ["{t}/sep.pt", "{t}/empty.wav", "{t}/s"], 2,
     "{t}/empty.wav: empty file"),
    ("separate out is a file", SEP + ["{t}/sep.pt", "{t}/D/clip.wav", "{t}/afile"], 2,
     "output folder {t}/afile is a file"),
    ("separate format unknown", SEP_OK + ["--format", "mp3"], 2,
     "argument --format: invalid choice: 'mp3'"),
    ("separate chunk 0", SEP_OK + ["--chunk", "0"], 2, "received chunk=0"),
    ("separate overlap -1", SEP_OK + ["--overlap", "-1"], 2, "received overlap=-1"),
    # ---- audit
    ("audit target file missing", ["audit", "{t}/missing.py:build", "--sample-rate", "16000"], 2,
     "{t}/missing.py: no such file"),
    ("audit target is a folder", ["audit", "{t}/D:f", "--sample-rate", "16000"], 2,
     "{t}/D: no such file"),
    ("audit target not Python", ["audit", "{t}/afile:f", "--sample-rate", "16000"], 2,
     "{t}/afile: cannot be imported as a Python file"),
    ("audit target without factory", ["audit", "{t}/x2.py", "--sample-rate", "16000"], 2,
     "TARGET must be PATH_OR_MODULE:FACTORY"),
    ("audit factory unknown", ["audit", "{t}/x2.py:nope", "--sample-rate", "16000"], 2,
     "{t}/x2.py does not define 'nope'; it defines: TransposedUpsample1d, build"),
    ("audit module unknown", ["audit", "no_such_module_12:f", "--sample-rate", "16000"], 2,
     "cannot import no_such_module_12"),
    ("audit factory not a model", ["audit", "{t}/x2.py:notmodel", "--sample-rate", "16000"], 2,
     "model must be a torch.nn.Module or a callable"),
    ("audit factory raises", ["audit", "{t}/x2.py:raises", "--sample-rate", "16000"], 2,
     "{t}/x2.py:raises() failed: RuntimeError: inside the factory"),
    ("audit rate missing", ["audit", "{t}/x2.py:build"], 2,
     "the following arguments are required: --sample-rate"),
    ("audit rate 0", AUDIT + ["0"], 2, "received sample_rate=0.0"),
    ("audit rate -1", AUDIT + ["-1"], 2, "received sample_rate=-1.0"),
    ("audit rate inf", AUDIT + ["inf"], 2, "received sample_rate=inf"),
    ("audit rate x", AUDIT + ["x"], 2, "argument --sample-rate: invalid float value: 'x'"),
    ("audit factors wrong", AUDIT + ["16000", "--factors", "3"], 2,
     "factors=(3,) multiply to 3, but the model upsamples by 2"),
    ("audit factors 2,2", AUDIT + ["16000", "--factors", "2,2"], 2, "multiply to 4"),
    ("audit factors 0", AUDIT + ["16000", "--factors", "0"], 2,
     "argument --factors: factors must be positive integers; received '0'"),
    ("audit factors a", AUDIT + ["16000", "--factors", "a"], 2,
     "argument --factors: factors must be integers like 8,8,2,2; received 'a'"),
    ("audit inputs unknown", AUDIT + ["16000", "--inputs", "nope"], 2,
     "inputs must be among 'ones', 'silence', 'noise', 'tones', 'aliasing'; received 'nope'"),
    ("audit inputs empty", AUDIT + ["16000", "--inputs", ","], 2,
     "inputs must name at least one probe"),
    ("audit seconds 0", AUDIT + ["16000", "--seconds", "0"], 2, "received seconds=0.0"),
    ("audit seconds -1", AUDIT + ["16000", "--seconds", "-1"], 2, "received seconds=-1.0"),
    ("audit seconds inf", AUDIT + ["16000", "--seconds", "inf"], 2, "received seconds=inf"),
    ("audit in channels 0", AUDIT + ["16000", "--in-channels", "0"], 2,
     "in_channels must be an integer >= 1; received in_channels=0"),
    ("audit in channels 3", AUDIT + ["16000", "--in-channels", "3"], 2,
     "in_channels (--in-channels) must be the model's input channels: the model failed on 3: "
     "InvalidValue: x must have 1 channels (dimension 1 of (B, C, T)); received shape "
     "(1, 3, 64); received in_channels=3"),
    ("audit seed -1", AUDIT + ["16000", "--seed", "-1"], 2,
     "seed must be an integer >= 0; received seed=-1"),
    ("audit out is a file", AUDIT + ["16000", "--out", "{t}/afile"], 2, "'{t}/afile' is a file"),
    # ---- aliasing
    ("aliasing target missing", ["aliasing", "{t}/missing.py:build"], 2,
     "{t}/missing.py: no such file"),
    ("aliasing kind unknown", ["aliasing", "upsampler:cubic"], 2,
     "TARGET upsampler:KIND takes KIND among transposed, subpixel, nearest, linear, sinc, "
     "resample, istft; received 'upsampler:cubic'"),
    ("aliasing length not prime", ["aliasing", "{t}/x2.py:build", "--length", "4096"], 2,
     "length must be a prime number >= 31 (e.g. 4099); received length=4096"),
    ("aliasing f0 letters", ["aliasing", "{t}/x2.py:build", "--f0", "0.1,a"], 2,
     "--f0 must be comma-separated numbers like 0.1,0.2; received --f0 '0.1,a'"),
    ("aliasing amplitude 0", ["aliasing", "{t}/x2.py:build", "--amplitudes", "0"], 2,
     "amplitudes must be positive finite numbers; received amplitudes=(0.0,)"),
    ("aliasing warmup -1", ["aliasing", "{t}/x2.py:build", "--warmup", "-1"], 2,
     "warmup must be an integer >= 0; received warmup=-1"),
    ("aliasing out is a file", ["aliasing", "{t}/x2.py:build", "--out", "{t}/afile"], 2,
     "'{t}/afile' is a file"),
    # ---- lint
    ("lint target missing", ["lint", "{t}/missing.py:build"], 2, "{t}/missing.py: no such file"),
    ("lint factory unknown", ["lint", "{t}/x2.py:nope"], 2, "{t}/x2.py does not define 'nope'"),
    ("lint rate 0", ["lint", "{t}/x2.py:build", "--sample-rate", "0"], 2,
     "sample_rate must be a positive finite number (Hz); received sample_rate=0.0"),
    ("lint rate -1", ["lint", "{t}/x2.py:build", "--sample-rate", "-1"], 2,
     "received sample_rate=-1.0"),
    ("lint rate nan", ["lint", "{t}/x2.py:build", "--sample-rate", "nan"], 2,
     "received sample_rate=nan"),
    ("lint rate inf", ["lint", "{t}/x2.py:build", "--sample-rate", "inf"], 2,
     "received sample_rate=inf"),
    # ---- figures
    ("figures only nothing", FIGS + [","], 2, "names must name at least one figure among fig5"),
    ("figures seed -1", FIGS + ["fig7", "--seed", "-1"], 2,
     "seed must be an integer >= 0; received seed=-1"),
    ("figures seed x", FIGS + ["fig7", "--seed", "x"], 2, "argument --seed: invalid int value"),
    ("figures out under a file", ["figures", "--out", "{t}/ae.pt/x", "--only", "fig7"], 2,
     "'{t}/ae.pt' is a file"),
    ("figures out missing", ["figures", "--only", "fig7"], 2,
     "the following arguments are required: --out"),
    # ---- compare
    ("compare task unknown", CMP + ["--task", "nope"], 2, "argument --task: invalid choice"),
    ("compare data missing", CMP + ["--data", "{t}/missing"], 2,
     "data must be an existing folder of audio; received data='{t}/missing'"),
    ("compare data is a file", CMP + ["--data", "{t}/afile"], 2, "received data='{t}/afile'"),
    ("compare data empty", CMP + ["--data", "{t}/empty"], 2, "data folder {t}/empty is empty"),
    ("compare data of text files", CMP + ["--data", "{t}/txt"], 2,
     "data='{t}/txt' is not one"),
    ("compare data one clip", CMP + ["--task", "autoencoder", "--crop", "1024", "--data",
                                     "{t}/D"], 2, "no validation split in {t}/D"),
    ("compare model unknown", CMP + ["--model", "nope"], 2, "received model='nope'"),
    ("compare variant unknown", CMP + ["--variants", "nope"], 2, "unknown variant 'nope'"),
    ("compare seeds 0", CMP + ["--seeds", "0"], 2, "received seeds=0"),
    ("compare seeds -1", CMP + ["--seeds", "-1"], 2, "received seeds=-1"),
    ("compare seeds 1e12", CMP + ["--seeds", "1000000000000"], 2,
     "variants x seeds must be at most 10,000 training runs"),
    ("compare jobs 0", CMP + ["--jobs", "0"], 2, "received jobs=0"),
    ("compare jobs -1", CMP + ["--jobs", "-1"], 2, "received jobs=-1"),
    ("compare steps 0", CMP + ["--steps", "0"], 2, "received steps=0"),
    ("compare steps -1", CMP + ["--steps", "-1"], 2, "received steps=-1"),
    ("compare steps and minutes", CMP + ["--steps", "1", "--minutes", "1"], 2,
     "argument --minutes: not allowed with argument --steps"),
    ("compare minutes 0", CMP + ["--minutes", "0"], 2, "received minutes=0.0"),
    ("compare minutes nan", CMP + ["--minutes", "nan"], 2, "received minutes=nan"),
    ("compare minutes -1", CMP + ["--minutes", "-1"], 2, "received minutes=-1.0"),
    ("compare minutes inf", CMP + ["--minutes", "inf"], 2, "received minutes=inf"),
    ("compare batch 0", CMP + ["--batch-size", "0"], 2, "received batch_size=0"),
    ("compare batch 1e12", CMP + ["--batch-size", "1000000000000"], 2,
     "batch_size * crop must be at most"),
    ("compare crop 0", CMP + ["--crop", "0"], 2, "received crop=0"),
    ("compare crop 1e12", CMP + ["--crop", "1000000000000"], 2, "crop=1000000000000"),
    ("compare lr nan", CMP + ["--lr", "nan"], 2, "received lr=nan"),
    ("compare lr 0", CMP + ["--lr", "0"], 2, "received lr=0.0"),
    ("compare stft -1", CMP + ["--stft-weight", "-1"], 2, "received stft_weight=-1.0"),
    ("compare eval every -1", CMP + ["--eval-every", "-1"], 2, "received eval_every=-1"),
    ("compare eval seconds nan", CMP + ["--eval-seconds", "nan"], 2,
     "received eval_seconds=nan"),
    ("compare plateau db nan", CMP + ["--plateau-db", "nan"], 2, "received plateau_db=nan"),
    ("compare plateau fraction 2", CMP + ["--plateau-fraction", "2"], 2,
     "received plateau_fraction=2.0"),
    ("compare min steps -1", CMP + ["--min-steps", "-1"], 2, "received min_steps=-1"),
    ("compare audit seconds nan", CMP + ["--audit-seconds", "nan"], 2,
     "received audit_seconds=nan"),
    ("compare audit seconds 0", CMP + ["--audit-seconds", "0"], 2,
     "received audit_seconds=0.0"),
    ("compare clip seconds nan", CMP + ["--clip-seconds", "nan"], 2,
     "received clip_seconds=nan"),
    ("compare clip seconds -1", CMP + ["--clip-seconds", "-1"], 2,
     "received clip_seconds=-1.0"),
    ("compare timing steps 0", CMP + ["--timing-steps", "0"], 2, "received timing_steps=0"),
    ("compare threads 0", CMP + ["--threads", "0"], 2, "received threads=0"),
    ("compare threads -1", CMP + ["--threads", "-1"], 2, "received threads=-1"),
    ("compare device unknown", CMP + ["--device", "tpu"], 2,
     "argument --device: invalid choice: 'tpu'"),
    ("compare seed -1", CMP + ["--seed", "-1"], 2, "received seed=-1"),
    ("compare model option no =", CMP + ["--model-option", "bad"], 2,
     "options must be KEY=VALUE; received 'bad'"),
    ("compare model option unknown", CMP + ["--model-option", "nope=1"], 2,
     "model_options: DemucsLike takes no argument nope"),
    ("compare out is a file", ["compare", "--out", "{t}/afile"], 2,
     "out must be a folder; '{t}/afile' is a file"),
    # ---- compare --collect
    ("collect missing folder", COLLECT + ["{t}/missing"], 2, "{t}/missing " + NOT_A_RUN),
    ("collect a file", COLLECT + ["{t}/afile"], 2, "{t}/afile " + NOT_A_RUN),
    ("collect an empty folder", COLLECT + ["{t}/empty"], 2, "{t}/empty " + NOT_A_RUN),
    ("collect a data folder", COLLECT + ["{t}/D"], 2, "{t}/D " + NOT_A_RUN),
    ("collect broken config.json", COLLECT + ["{t}/run_badcfg"], 2,
     "{t}/run_badcfg/config.json is not valid JSON"),
    ("collect damaged model.pt", COLLECT + ["{t}/run_badpt"], 2,
     "checkpoint {t}/run_badpt/model.pt cannot be read (corrupt or not a checkpoint: the file "
     "is truncated or not a file torch.save wrote)"),
    ("collect separator in an autoencoder run", COLLECT + ["{t}/run_sep"], 2,
     "{t}/run_sep/model.pt holds a DemucsLike, but the run's config.json trained "
     "model='autoencoder' (Autoencoder)"),
    ("collect bad audit seconds", COLLECT + ["{t}/run", "--audit-seconds", "nan"], 2,
     "received audit_seconds=nan"),
    ("collect data missing", COLLECT + ["{t}/run", "--data", "{t}/missing"], 2,
     "received data='{t}/missing'"),
    ("collect into the run", COLLECT + ["{t}/run", "--out", "{t}/run"], 2,
     "{t}/run, which collect only reads"),
    ("collect a run a live process holds", COLLECT + ["{t}/run", "{t}/run_locked"], 2,
     "{t}/run_locked is in use by process "),
    ("collect a run without its log", COLLECT + ["{t}/run_nolog"], 2,
     "{t}/run_nolog holds no training run (log.jsonl is missing)"),
    # ---- audit, aliasing, lint: a factory that needs arguments
    ("audit factory needs an argument",
     ["audit", "{t}/x2.py:needs_arg", "--no-plot", "--sample-rate", "16000"], 2,
     "{t}/x2.py:needs_arg could not be called without arguments: it requires k; used as a "
     "model"),
    ("lint factory needs an argument", ["lint", "{t}/x2.py:needs_arg"], 2,
     "{t}/x2.py:needs_arg could not be called without arguments: it requires k"),
    ("aliasing factory needs an argument", ["aliasing", "{t}/x2.py:needs_arg"], 2,
     "{t}/x2.py:needs_arg could not be called without arguments: it requires k; used as a "
     "model (a function from a numpy array to a numpy array) it failed on an array of shape "
     "(840,): InvalidType: factor must be a positive integer"),
    *[(f"{command} factory needs two arguments", [command, "{t}/x2.py:needs_two", *more], 2,
       "{t}/x2.py:needs_two could not be called without arguments: it requires k, taps; a "
       "factory must build the model without arguments")
      for command, more in (("audit", ["--sample-rate", "16000"]), ("lint", []),
                            ("aliasing", []))],
]


def _aliasing_rows() -> list[tuple[str, list[str], int, str]]:
    """Every numeric option of ``aliasing`` at 0, -1, NaN, infinity and 1e12 (refused,
    or accepted where the value is valid: ``--warmup 0``, a 1e12 Hz label or amplitude),
    every amplitude a float32 module cannot hold."""
    huge = 10**12
    probe = {"length": f"received channels=1, warmup=2, length={huge}:",
             "warmup": f"received channels=1, warmup={huge}, length=4099:",
             "channels": f"received channels={huge}, warmup=2, length=4099:",
             "factor": f"received channels=1, warmup=2, length=4099, factor={huge}:"}
    rows = []
    for option, name, lowest in (("--length", "length", 31), ("--warmup", "warmup", 0),
                                 ("--channels", "channels", 1), ("--factor", "factor", 1)):
        target = "aa:relu" if name == "factor" else "{t}/x2.py:build"
        for value in ("0", "-1", "nan", "inf", "1e12", "1000000000000"):
            if value in ("nan", "inf", "1e12"):
                shown = "--in-channels/--channels" if option == "--channels" else option
                text = f"argument {shown}: invalid int value: '{value}'"
            elif value == "1000000000000":
                text = probe[name]
            elif int(value) >= lowest:
                continue  # --warmup 0: valid
            elif name == "factor":
                text = f"factor must be a positive integer; received factor={value}"
            else:
                text = f"{name} must be an integer >= {lowest}; received {name}={value}"
            rows.append((f"aliasing {name} {value}", ["aliasing", target, option, value], 2,
                         text))
    for option, name in (("--f0", "f0s"), ("--wave-f0", "wave_f0s"),
                         ("--amplitudes", "amplitudes"), ("--sample-rate", "sample_rate")):
        for value in ("0", "-1", "nan", "inf", "1e12"):
            if value == "1e12" and name in ("amplitudes", "sample_rate"):
                continue  # a 1e12 amplitude fits float32; a rate is a label for Hz
            number = float(value)
            received = (f"{name}={number!r}" if name == "sample_rate"
                        else f"{name}=({number!r},)")
            rows.append((f"aliasing {name} {value}",
                         ["aliasing", "{t}/x2.py:build", option, value], 2,
                         f"received {received}"))
    for value in ("3.5e38", "1e39", "1e300", "0.5,1e300"):
        rows.append((f"aliasing amplitude {value} overflows float32",
                     ["aliasing", "{t}/x2.py:build", "--amplitudes", value], 2,
                     "amplitudes must be at most 3.40282e+38, the largest float32 (the module's "
                     "dtype): a larger test signal is not finite in it; received amplitudes="))
    rows.append(("aliasing channels x length x warmup", ["aliasing", "{t}/x2.py:build",
                 "--channels", "100", "--length", "100003", "--warmup", "10"], 2,
                 "received channels=100, warmup=10, length=100003: 220,006,600 samples"))
    rows.append(("aliasing factor with a factory", ["aliasing", "{t}/x2.py:build", "--factor",
                                                    "3"], 2,
                 "factor applies to the built-in targets upsampler:KIND and aa:NAME only"))
    rows.append(("aliasing tanh amplitude 1e300", ["aliasing", "tanh", "--amplitudes", "1e300"],
                 2, "received amplitudes=(1e+300,)"))
    return rows


def _wrong_task_rows() -> list[tuple[str, list[str], int, str]]:
    """Every variant of a task given to another task whose model cannot take it."""
    from upsamplers.compare.config import variant_fits
    from upsamplers.compare.tasks import TASKS
    from upsamplers.compare.variants import VARIANTS

    return [(f"compare {variant} on task {task}", CMP + ["--task", task, "--variants", variant],
             2, f"variant {variant!r} belongs to the vocoder task (it sets the model options "
             f"{', '.join(VARIANTS[variant].model_overrides)}); the {task} task "
             f"(model={spec.model!r}) takes the variants transposed, ")
            for task, spec in TASKS.items() for variant in VARIANTS
            if not variant_fits(variant, spec.model)]


CLI_ROWS += _aliasing_rows() + _wrong_task_rows()


@pytest.mark.parametrize(("argv", "code", "text"), [row[1:] for row in CLI_ROWS],
                         ids=[row[0] for row in CLI_ROWS])
def test_every_command_refuses_bad_input_in_one_line_and_changes_nothing(
        place, capsys, argv, code, text):
    before = _snapshot(place)
    start = time.perf_counter()
    got, lines, _ = _run([a.format(t=place) for a in argv], capsys)
    elapsed = time.perf_counter() - start
    assert got == code
    assert len(lines) == 1, lines
    assert text.format(t=place) in lines[0], lines[0]
    assert lines[0].startswith(f"upsamplers {argv[0]}: error: ")
    assert elapsed < QUICK_S, f"took {elapsed:.1f} s"
    assert _snapshot(place) == before


# Accepted on purpose: the input is unusual, not wrong. Each must do the right thing.
def test_accepted_inputs_do_the_documented_thing(place, capsys):
    t = place
    # a stereo file through a mono model: one channel at a time, the file's channels out
    assert main(REC + [f"{t}/ae.pt", f"{t}/stereo.wav", f"{t}/o2.wav"]) == 0
    assert sf.info(t / "o2.wav").channels == 2 and sf.info(t / "o2.wav").frames == 4000
    # a 44.1 kHz file through a 16 kHz model: resampled there and back, the file's rate out
    assert main(REC + [f"{t}/ae.pt", f"{t}/c44.wav", f"{t}/o44.wav"]) == 0
    assert sf.info(t / "o44.wav").samplerate == 44100 and sf.info(t / "o44.wav").frames == 4000
    # a chunk longer than the file is one chunk: the same output as the default chunking
    # (a convolutional model's chunks overlap by its receptive field: one whole pass)
    assert main(REC + [f"{t}/ae.pt", f"{t}/D/clip.wav", f"{t}/a.wav"]) == 0
    assert main(REC + [f"{t}/ae.pt", f"{t}/D/clip.wav", f"{t}/b.wav", "--chunk",
                       "1000000000000"]) == 0
    np.testing.assert_allclose(sf.read(t / "a.wav")[0], sf.read(t / "b.wav")[0], atol=1e-4)
    # more tracks asked than there are: every track is scored
    out = t / "e.json"
    assert main([a.format(t=t) for a in EVAL_AE]
                + ["--max-tracks", "1000000000000", "--out", str(out)]) == 0
    assert "clip.wav" in out.read_text()
    capsys.readouterr()


# ---------------------------------------------------------------- the layers

def _layer_rows() -> list[tuple[str, object, type[Exception], str]]:
    rows: list[tuple[str, object, type[Exception], str]] = []
    for kind in upsampler_kinds():
        def make(*args, kind=kind, **options):
            return lambda: make_upsampler(kind, *args, **options)
        rows += [
            (f"{kind} factor 0", make(1, 1, 0), InvalidValue, "received factor=0"),
            (f"{kind} factor 2.5", make(1, 1, 2.5), InvalidType, "received factor=2.5"),
            (f"{kind} factor True", make(1, 1, True), InvalidType, "received factor=True"),
            (f"{kind} factor '2'", make(1, 1, "2"), InvalidType, "received factor='2'"),
            (f"{kind} in_channels 0", make(0, 1, 2), InvalidValue, "received in_channels=0"),
            (f"{kind} out_channels -1", make(1, -1, 2), InvalidValue,
             "received out_channels=-1"),
            (f"{kind} in_channels 1.0", make(1.0, 1, 2), InvalidType,
             "received in_channels=1.0"),
            (f"{kind} kernel_size 0", make(1, 1, 2, kernel_size=0), InvalidValue,
             "received kernel_size=0"),
            (f"{kind} kernel_size -3", make(1, 1, 2, kernel_size=-3), InvalidValue,
             "received kernel_size=-3"),
            (f"{kind} bias 'yes'", make(1, 1, 2, bias="yes"), InvalidType,
             "received bias='yes'"),
            (f"{kind} unknown option", make(1, 1, 2, nope=1), InvalidType,
             f"options: {kind} upsamplers"),
        ]
        for shape, text in (((2, 8), "received shape (2, 8)"), ((1, 2, 1, 8), "(1, 2, 1, 8)"),
                            ((1, 2, 0), "T >= 1"), ((1, 3, 8), "must have 2 channels")):
            rows.append((f"{kind} input {shape}", _forward(kind, torch.zeros(shape)),
                         InvalidValue, text))
        rows += [
            (f"{kind} input int", _forward(kind, torch.zeros(1, 2, 8, dtype=torch.int64)),
             InvalidType, "x must be a floating-point tensor; received dtype=torch.int64"),
            (f"{kind} input numpy", _forward(kind, np.zeros((1, 2, 8), np.float32)),
             InvalidType, "x must be a torch.Tensor of shape (B, C, T); received ndarray"),
        ]
    rows += [
        ("kind unknown", lambda: make_upsampler("nope", 1, 1, 2), InvalidValue,
         "kind must be one of 'transposed', 'subpixel', 'nearest', 'linear', 'sinc', "
         "'resample', 'istft'; received kind='nope'"),
        ("nearest fixes mode", lambda: make_upsampler("nearest", 1, 1, 2, mode="linear"),
         InvalidType, "kind='nearest' fixes mode='nearest'; do not pass mode"),
        ("subpixel init unknown", lambda: make_upsampler("subpixel", 1, 1, 2, init="nope"),
         InvalidValue, "received init='nope'"),
        ("sinc cutoff 0", lambda: make_upsampler("sinc", 1, 1, 2, cutoff=0.0), InvalidValue,
         "cutoff"),
        ("sinc cutoff nan", lambda: make_upsampler("sinc", 1, 1, 2, cutoff=math.nan),
         InvalidValue, "received cutoff=nan"),
        ("linear impl unknown", lambda: make_upsampler("linear", 1, 1, 2, impl="fast"),
         InvalidValue, "received impl='fast'"),
    ]
    return rows


def _forward(kind: str, x: object):
    return lambda: make_upsampler(kind, 2, 3, 2)(x)


LAYER_ROWS = _layer_rows()


@pytest.mark.parametrize(("call", "error", "text"), [row[1:] for row in LAYER_ROWS],
                         ids=[row[0] for row in LAYER_ROWS])
def test_every_layer_refuses_bad_arguments_naming_them(call, error, text):
    start = time.perf_counter()
    with pytest.raises(error) as caught:
        call()
    assert text in str(caught.value)
    assert isinstance(caught.value, UserInputError)
    assert time.perf_counter() - start < QUICK_S


# ---------------------------------------------------------------- the analysis

def _x2():
    torch.manual_seed(0)
    return make_upsampler("transposed", 1, 1, 2)


TONE = np.sin(2 * np.pi * 1000 * np.arange(16000) / 16000)

ANALYSIS_ROWS = [
    ("audit model None", lambda: audit(None, 16000), InvalidType,
     "model must be a torch.nn.Module or a callable"),
    ("audit rate 0", lambda: audit(_x2(), 0), InvalidValue, "received sample_rate=0"),
    ("audit rate str", lambda: audit(_x2(), "16000"), InvalidType, "sample_rate"),
    ("audit seconds -1", lambda: audit(_x2(), 16000, seconds=-1), InvalidValue,
     "received seconds=-1"),
    ("audit probe unknown", lambda: audit(_x2(), 16000, inputs=("nope",)), InvalidValue,
     "received 'nope'"),
    ("audit factors 0", lambda: audit(_x2(), 16000, factors=0), InvalidValue, "factors"),
    ("audit in_channels 2", lambda: audit(_x2(), 16000, in_channels=2), InvalidValue,
     "received in_channels=2"),
    ("audit margin -1", lambda: audit(_x2(), 16000, margin=-1), InvalidValue,
     "received margin=-1"),
    ("audit seed -1", lambda: audit(_x2(), 16000, seed=-1), InvalidValue, "received seed=-1"),
    ("audit seed 1.5", lambda: audit(_x2(), 16000, seed=1.5), InvalidType, "received seed=1.5"),
    ("lint rate 0", lambda: lint(_x2(), sample_rate=0), InvalidValue, "received sample_rate=0"),
    ("lint rate nan", lambda: lint(_x2(), sample_rate=math.nan), InvalidValue, "sample_rate=nan"),
    ("lint not a module", lambda: lint("model", 16000), InvalidType, "received str"),
    ("find_tones rate 0", lambda: find_tones(TONE, 0, 2), InvalidValue, "sample_rate"),
    ("find_tones factor 0", lambda: find_tones(TONE, 16000, 0), InvalidValue, "factor"),
    ("find_tones signal nan", lambda: find_tones(np.full(1024, np.nan), 16000, 2), InvalidValue,
     "signal must be finite; received 1024 NaN"),
    ("find_tones signal empty", lambda: find_tones(np.zeros(0), 16000, 2), InvalidValue,
     "signal"),
    ("measure_response factor 0", lambda: measure_response(lambda x: x, 8000, 0), InvalidValue,
     "received factor=0"),
    ("measure_response length 8", lambda: measure_response(lambda x: np.repeat(x, 2), 8000, 2,
                                                           length=8),
     InvalidValue, "received length=8"),
    ("measure_response method", lambda: measure_response(lambda x: np.repeat(x, 2), 8000, 2,
                                                         method="chirp"),
     InvalidValue, "received method='chirp'"),
    ("measure_response seed -1", lambda: measure_response(lambda x: np.repeat(x, 2), 8000, 2,
                                                          seed=-1),
     InvalidValue, "received seed=-1"),
    ("tone_measures rate 0", lambda: tone_measures(_x2(), 0, 2), InvalidValue, "sample_rate"),
    ("tone_measures hop 0", lambda: tone_measures(_x2(), 16000, 0), InvalidValue,
     "received hop=0"),
    ("tone_measures seconds nan", lambda: tone_measures(_x2(), 16000, 2, seconds=math.nan),
     InvalidValue, "seconds"),
    ("figures reproduce no names", lambda: reproduce([]), InvalidValue,
     "names must name at least one figure"),
    ("figures reproduce unknown", lambda: reproduce(["fig1"]), InvalidValue,
     "received 'fig1'"),
    ("figures reproduce seed -1", lambda: reproduce(["fig7"], seed=-1), InvalidValue,
     "received seed=-1"),
    ("figures reproduce seed str", lambda: reproduce(["fig7"], seed="0"), InvalidType,
     "received seed='0'"),
]


@pytest.mark.parametrize(("call", "error", "text"), [row[1:] for row in ANALYSIS_ROWS],
                         ids=[row[0] for row in ANALYSIS_ROWS])
def test_the_analysis_refuses_bad_arguments_naming_them(call, error, text):
    start = time.perf_counter()
    with pytest.raises(error) as caught:
        call()
    assert text in str(caught.value)
    assert isinstance(caught.value, UserInputError)
    assert time.perf_counter() - start < QUICK_S

