"""Re-run the defects issue 12 names, one probe each, and classify the outcome:
clear error (one line / a typed exception naming the thing), correct behaviour,
data loss, silent wrong result, traceback, hang. Run from the repo root:
    OMP_NUM_THREADS=1 python scripts/probe_reliability.py
"""

import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

ROOT = Path(tempfile.mkdtemp(prefix="probes12-"))
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
RESULTS = []


def snapshot():
    return {
        str(p): hashlib.sha1(p.read_bytes()).hexdigest() for p in ROOT.rglob("*") if p.is_file()
    }


def cli(name, args, expect_code=2, must=None, timeout=120, changes_ok=()):
    before = snapshot()
    t = time.time()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "upsamplers", *args],
            capture_output=True,
            text=True,
            env=ENV,
            timeout=timeout,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        RESULTS.append((name, "HANG", f">{timeout}s"))
        return
    after = snapshot()
    changed = [
        k
        for k in set(before) | set(after)
        if before.get(k) != after.get(k) and not any(c in k for c in changes_ok)
    ]
    lost = [
        k for k in before if before.get(k) != after.get(k) and not any(c in k for c in changes_ok)
    ]
    err = proc.stderr.strip().splitlines()
    if "Traceback" in proc.stderr:
        kind = "TRACEBACK"
    elif lost:
        kind = "DATA LOSS"
    elif proc.returncode != expect_code:
        kind = f"UNEXPECTED exit {proc.returncode}"
    elif must and not any(must in line for line in err):
        kind = "UNCLEAR"
    else:
        kind = "clear error" if expect_code else "correct"
    detail = err[-1] if err else proc.stdout.strip().splitlines()[-1:] or [""]
    detail = detail if isinstance(detail, str) else detail[0]
    RESULTS.append(
        (
            name,
            kind,
            f"{time.time() - t:.1f}s | exit {proc.returncode} | "
            f"{len(err)} stderr line(s) | {detail[:150]}"
            + (f" | changed {changed}" if changed else ""),
        )
    )


def train_args(data, out):
    """A two-step training of a tiny autoencoder on ``data`` into ``out``."""
    return ["train", "--model", "autoencoder", "--model-option", "widths=[4, 8]", "--steps",
            "2", "--batch-size", "2", "--crop", "2048", "--data", data, "--out", out,
            "--no-progress"]


def api(name, call, exc=None, must=None, timeout_s=5.0, check=None):
    t = time.time()
    try:
        value = call()
    except Exception as e:  # noqa: BLE001
        took = time.time() - t
        if exc is not None and isinstance(e, exc) and (must is None or must in str(e)):
            kind = "clear error" if took < timeout_s else "SLOW"
        else:
            kind = f"UNCLEAR/WRONG {type(e).__name__}"
        RESULTS.append((name, kind, f"{took:.2f}s | {type(e).__name__}: {str(e)[:150]}"))
        return
    took = time.time() - t
    if exc is not None:
        kind = "SILENT (no error)"
    else:
        kind = "correct" if check is None or check(value) else "SILENT WRONG result"
    RESULTS.append((name, kind, f"{took:.2f}s | {str(value)[:150]}"))


def main():
    from upsamplers.analysis import audit, lint
    from upsamplers.layers import InterpUpsample1d, SincUpsample1d, SubPixel1d, TransposedUpsample1d
    from upsamplers.models import Autoencoder

    rng = np.random.default_rng(0)
    d = ROOT / "d"
    d.mkdir()
    sf.write(d / "clip.wav", 0.1 * rng.standard_normal(40000), 16000)
    sf.write(d / "other.wav", 0.1 * rng.standard_normal(40000), 16000)
    run = ROOT / "run"
    model = Autoencoder(widths=(4, 8), length=2048)
    run.mkdir()
    model.save(run / "model.pt")
    ev = ["evaluate", "--checkpoint", "run/model.pt", "--data", "d", "--no-progress"]
    # data loss
    cli(
        "evaluate --out the checkpoint --force",
        ev + ["--out", "run/model.pt", "--force"],
        must="input",
    )
    cli(
        "evaluate --out a source recording --force",
        ev + ["--out", "d/clip.wav", "--force"],
        must="input",
    )
    (ROOT / "theirs").mkdir()
    (ROOT / "theirs" / "config.json").write_text(
        '{"model": "autoencoder", "upsampler": "nearest", "mine": 1}'
    )
    cli(
        "train --out folder with a config.json it did not write",
        ["train", "--steps", "1", "--out", "theirs"],
        must="config.json",
    )
    # silent wrong
    x = 0.1 * rng.standard_normal(16000)
    x[8000] = np.nan
    sf.write(ROOT / "nan.wav", x, 16000, subtype="FLOAT")
    cli(
        "reconstruct a recording with a NaN",
        ["reconstruct", "--checkpoint", "run/model.pt", "nan.wav", "o.wav"],
        must="0.500 s",
    )
    bad = Autoencoder(widths=(4, 8), length=2048)
    with torch.no_grad():
        next(bad.parameters())[0] = float("nan")
    bad.save(ROOT / "nanw.pt")
    cli(
        "reconstruct with a NaN-weight checkpoint",
        ["reconstruct", "--checkpoint", "nanw.pt", "d/clip.wav", "o.wav"],
        must="non-finite",
    )
    dn = ROOT / "dnan"
    dn.mkdir()
    y = 0.1 * rng.standard_normal(48000)
    y[100] = np.nan  # far from the last 4096 frames
    sf.write(dn / "a.wav", y, 16000, subtype="FLOAT")
    sf.write(dn / "b.wav", 0.1 * rng.standard_normal(48000), 16000)
    sf.write(dn / "c.wav", 0.1 * rng.standard_normal(48000), 16000)
    cli(
        "train on a folder with NaN early in a file",
        train_args("dnan", "rn"),
        expect_code=0,
        changes_ok=("rn/",),
    )
    api(
        "lint TransposedUpsample1d(1,1,2) at 16 kHz",
        lambda: [(f.factor, f.tone_frequencies)
                 for f in lint(TransposedUpsample1d(1, 1, 2), sample_rate=16000).findings],
        check=lambda rows: rows == [(2, [8000.0])],  # one row, x2, the tone at 8 kHz only
    )
    api(
        "audit threshold_db=nan",
        lambda: audit(TransposedUpsample1d(1, 1, 2), sample_rate=16000, threshold_db=float("nan")),
        ValueError,
        "threshold_db",
    )
    one = ROOT / "one"
    one.mkdir()
    sf.write(one / "ok.wav", 0.1 * rng.standard_normal(40000), 16000)
    cli(
        "train on a folder with one file ok.wav",
        train_args("one", "r1"),
        expect_code=0,
        changes_ok=("r1/",),
    )
    # tracebacks
    cli(
        "evaluate --out into a missing folder",
        ev + ["--out", "new/deeper/report.json"],
        expect_code=0,
        changes_ok=("new/",),
    )
    (ROOT / "factory.py").write_text(
        "from upsamplers.layers import TransposedUpsample1d\n"
        "def build():\n    return TransposedUpsample1d(1, 1, 2)\n"
    )
    cli(
        "audit --seconds 1e12",
        ["audit", "--sample-rate", "16000", "--seconds", "1e12", "factory.py:build", "--out", "a1"],
        must="seconds must be at most",
    )
    cli(
        "audit of a checkpoint file",
        ["audit", "--sample-rate", "16000", "run/model.pt"],
        must="upsamplers evaluate --checkpoint",
    )
    cli(
        "evaluate --audit-seconds 1e9",
        ev + ["--audit-seconds", "1e9", "--out", "e.json"],
        must="audit_seconds",
    )
    cli(
        "evaluate --out with a 240-character name",
        ev + ["--out", "x" * 235 + ".json"],
        expect_code=0,
        changes_ok=("xxxx",),
    )
    with torch.device("meta"):
        meta = TransposedUpsample1d(1, 1, 2)
    api("lint of a meta-device module", lambda: lint(meta, sample_rate=16000), ValueError, "meta")
    deep = torch.nn.Sequential()
    node = deep
    for _ in range(3000):
        child = torch.nn.Sequential()
        node.append(child)
        node = child
    api("lint of a 3000-deep nesting", lambda: lint(deep, sample_rate=16000), ValueError, "nested")
    for dtype in (torch.float64, torch.float16, torch.bfloat16, torch.complex64):
        api(
            f"{dtype} input into a float32 layer",
            lambda dtype=dtype: SubPixel1d(1, 1, 2)(torch.zeros(1, 1, 8, dtype=dtype)),
            TypeError,
            "dtype",
        )
    # hang
    api("SincUpsample1d(4, 2, 10**6)", lambda: SincUpsample1d(4, 2, 10**6), ValueError, "factor")
    api(
        "InterpUpsample1d(1, 1, 10**6)", lambda: InterpUpsample1d(1, 1, 10**6), ValueError, "factor"
    )
    api(
        "InterpUpsample1d(1, 1, 10**6, mode='linear')",
        lambda: InterpUpsample1d(1, 1, 10**6, mode="linear"),
        ValueError,
        "factor",
    )
    # unclear
    (ROOT / "garbage.pt").write_bytes(b"\x80\x04not a pickle at all")
    cli(
        "reconstruct with a garbage checkpoint (weights_only advice?)",
        ["reconstruct", "--checkpoint", "garbage.pt", "d/clip.wav", "o.wav"],
        must="garbage.pt",
    )
    (ROOT / "afile").write_text("x")
    cli(
        "audit --out a file",
        ["audit", "--sample-rate", "16000", "run/model.pt", "--out", "afile"],
        must="afile",
    )
    # new in this session
    cli(
        "compare --collect into a held folder",
        ["compare", "--collect", "run", "--out", "run"],
        must="collect only reads",
    )
    (ROOT / "mine").mkdir()
    (ROOT / "mine" / "config.json").write_text(
        '{"model": "autoencoder", "upsampler": "nearest", "steps": 1}'
    )
    cli(
        "train --config OUT/config.json that the run would rewrite",
        ["train", "--config", "mine/config.json", "--out", "mine"],
        must="it would be replaced",
    )
    for name, kind, detail in RESULTS:
        print(f"{kind:22s} | {name} | {detail}")
    bad = [
        r
        for r in RESULTS
        if r[1] in ("HANG", "TRACEBACK", "DATA LOSS")
        or r[1].startswith(("SILENT", "UNEXPECTED", "UNCLEAR"))
    ]
    print(f"{len(RESULTS)} probes, {len(bad)} not clear/correct; folder {ROOT}")


if __name__ == "__main__":
    main()
