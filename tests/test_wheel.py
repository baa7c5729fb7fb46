"""The package as a user installs it: the wheel carries the embedded data set,
and `upsamplers compare` runs from another directory with no checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT / "src" / "upsamplers" / "datasets" / "bach_chorales"
DATASETS = DATASET.parent  # every embedded set: chorales, speech, music, speech_music


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, timeout=900, **kwargs)
    assert result.returncode == 0, (f"{' '.join(args)}\n{result.stdout[-3000:]}\n"
                                    f"{result.stderr[-3000:]}")
    return result


def _build_wheel(tmp_path: Path) -> Path:
    # build from a copy, so the test leaves no build/ or egg-info in the checkout
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    out = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--no-index", "-q", "-w", str(out), str(source)])
    wheels = sorted(out.glob("neural_upsamplers-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_carries_the_data_and_compare_runs_from_anywhere(tmp_path):
    wheel = _build_wheel(tmp_path)
    assert wheel.stat().st_size < 80e6, f"{wheel.stat().st_size / 1e6:.1f} MB"
    shipped = sorted(str(p.relative_to(DATASET.parents[2])).replace(os.sep, "/")
                     for p in DATASET.rglob("*") if p.is_file())
    assert len(shipped) > 40 and any(name.endswith(".flac") for name in shipped)
    embedded = sorted(str(p.relative_to(DATASETS.parents[1])).replace(os.sep, "/")
                      for p in DATASETS.rglob("*") if p.is_file())
    for folder in ("speech/train/", "speech/validation/", "music/train/",
                   "music/validation/", "speech_music/mix.json"):
        assert any(f"datasets/{folder}" in name for name in embedded), folder
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert [name for name in shipped + embedded if name not in names] == []

    # a fresh environment: the wheel alone on the path, first; torch & co. reused
    target = tmp_path / "site"
    _run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
          "--target", str(target), str(wheel)])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "UPSAMPLERS_DATA"}
    env.update(PYTHONPATH=str(target), OMP_NUM_THREADS="1")
    where = _run([sys.executable, "-c", "import upsamplers, upsamplers.data as d; "
                  "print(upsamplers.__file__); print(d.default_data_dir()); "
                  "print(d.open_dataset('stems', d.embedded_data_dir('speech_music'), "
                  "split='validation').root)"],
                 cwd=elsewhere, env=env).stdout.split()
    assert all(Path(p).is_relative_to(target) for p in where), where

    # the default task (separate) on the packaged recordings, two seeds in two worker
    # processes that import the installed package
    _run([sys.executable, "-m", "upsamplers", "compare", "--out", "report",
          "--variants", "subpixel", "--no-naive-timing", "--steps", "2", "--crop", "1024",
          "--batch-size", "2", "--timing-steps", "1", "--audit-seconds", "0.5",
          "--clip-seconds", "0.25", "--model-option", "width=4", "--model-option", "depth=2",
          "--seeds", "2", "--jobs", "2", "--eval-every", "1", "--eval-seconds", "1",
          "--min-steps", "2", "--no-progress"],
         cwd=elsewhere, env=env)
    report = json.loads((elsewhere / "report" / "report.json").read_text())
    assert report["task"]["name"] == "separate" and report["jobs"] == 2
    assert Path(report["settings"]["data"]).is_relative_to(target)
    assert Path(report["settings"]["data"]).name == "speech_music"
    assert [row["variant"] for row in report["rows"]][0] == "subpixel"
    seeds = report["variants"]["subpixel"]["seeds"]
    assert [s["seed"] for s in seeds] == [0, 1] and all(s["curve"] for s in seeds)
