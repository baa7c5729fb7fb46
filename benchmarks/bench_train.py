"""Training throughput and inference speed of the reference models, per upsampler kind.

Measures, on this machine (CPU, float32, torch's default thread count):

* training throughput (samples/s of 16384-sample crops) of the default
  ``Autoencoder`` and of a ``DemucsLike``: one step is forward, the L1 +
  multi-resolution STFT loss, backward and an Adam update, on a batch of crops
  from the embedded data set (loaded beforehand, so data loading is not timed);
* inference speed of the default ``Autoencoder`` as a real-time factor at
  16 kHz (seconds of audio per second of computation): the model on batches of
  16384-sample chunks, and the whole ``reconstruct`` path (chunks overlapping by a
  quarter, cross-faded) on one minute of audio.

Figures are medians of repeated runs (and the best run, which shows how much a
busy machine slowed the median); ratios only compare figures of one run.

    python benchmarks/bench_train.py [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from upsamplers.data import MixtureFolder, StemFolder, default_data_dir
from upsamplers.inference import DEFAULT_OVERLAP, overlap_add
from upsamplers.layers import upsampler_kinds
from upsamplers.models import Autoencoder, DemucsLike
from upsamplers.timing import cpu_name, measure
from upsamplers.train import ReconstructionLoss

RATE = 16000
CROP = 16384
OVERLAP = int(CROP * DEFAULT_OVERLAP)
DEMUCS = {"width": 32, "depth": 5, "lstm_layers": 2}  # the class defaults


def median_seconds(fn: Callable[[], object], repeats: int, warmup: int) -> tuple[float, list]:
    times = measure(fn, repeats=repeats, warmup=warmup)
    return statistics.median(times), times


def training_step(model: torch.nn.Module, batch: Any, target: torch.Tensor) -> Callable[[], None]:
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    criterion = ReconstructionLoss()
    model.train()

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss, _ = criterion(model(batch), target)
        loss.backward()
        optimizer.step()

    return step


def bench_training(kinds: list[str], batch_size: int, repeats: int, warmup: int,
                   demucs_batch: int) -> list[dict[str, Any]]:
    rows = []
    root = default_data_dir()
    mixtures = MixtureFolder(root, crop=CROP)
    x = torch.stack([mixtures[i] for i in range(batch_size)])
    stems = StemFolder(root, crop=CROP)
    items = [stems[i] for i in range(demucs_batch)]
    mix = torch.stack([m for m, _ in items])
    sources = torch.stack([s for _, s in items])
    for kind in kinds:
        torch.manual_seed(0)
        model = Autoencoder(kind)
        t, times = median_seconds(training_step(model, x, x), repeats, warmup)
        rows.append(_row("Autoencoder (default)", kind, model, batch_size, t, times))
        print(_line(rows[-1]), flush=True)
    for kind in kinds:
        torch.manual_seed(0)
        model = DemucsLike(kind, sources=4, **DEMUCS)
        t, times = median_seconds(training_step(model, mix, sources), repeats, warmup)
        rows.append(_row("DemucsLike (default)", kind, model, demucs_batch, t, times))
        print(_line(rows[-1]), flush=True)
    return rows


def _row(model_name: str, kind: str, model: torch.nn.Module, batch: int, t: float,
         times: list[float]) -> dict[str, Any]:
    return {"model": model_name, "kind": kind, "parameters": sum(p.numel() for p in
                                                                 model.parameters()),
            "batch": batch, "median_step_s": t, "samples_per_s": batch / t,
            "best_samples_per_s": batch / min(times),
            "audio_x_realtime": batch * CROP / RATE / t, "times_s": times}


def _line(row: dict[str, Any]) -> str:
    return (f"train {row['model']:<22} {row['kind']:<10} batch {row['batch']:>2}: "
            f"{row['samples_per_s']:7.2f} samples/s ({row['audio_x_realtime']:.1f}x real time)")


def bench_inference(kinds: list[str], repeats: int, warmup: int, chunks: int,
                    seconds: float) -> list[dict[str, Any]]:
    rows = []
    torch.manual_seed(0)
    x = torch.randn(chunks, 1, CROP) * 0.1
    long = torch.randn(1, int(seconds * RATE)) * 0.1
    for kind in kinds:
        model = Autoencoder(kind).eval()

        def forward(model: torch.nn.Module = model) -> None:
            with torch.inference_mode():
                model(x)

        t, times = median_seconds(forward, repeats, warmup)

        def whole(model: torch.nn.Module = model) -> None:
            overlap_add(model, long, chunk=CROP, overlap=OVERLAP, batch=16)

        t2, times2 = median_seconds(whole, max(1, repeats // 2), 1)
        rows.append({"model": "Autoencoder (default)", "kind": kind, "chunks": chunks,
                     "model_x_realtime": chunks * CROP / RATE / t,
                     "model_best_x_realtime": chunks * CROP / RATE / min(times),
                     "reconstruct_x_realtime": seconds / t2,
                     "model_times_s": times, "reconstruct_times_s": times2})
        print(f"infer Autoencoder {kind:<10}: model {rows[-1]['model_x_realtime']:7.0f}x, "
              f"reconstruct (25% overlap) {rows[-1]['reconstruct_x_realtime']:7.0f}x real time",
              flush=True)
    return rows


def machine() -> dict[str, Any]:
    import os

    return {"platform": platform.platform(), "processor": cpu_name(), "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "torch": torch.__version__, "threads": torch.get_num_threads()}


def to_markdown(train_rows: list[dict[str, Any]], infer_rows: list[dict[str, Any]],
                info: dict[str, Any]) -> str:
    lines = [f"CPU: {info['processor']}, {info['cpus']} cores, torch {info['torch']} "
             f"({info['threads']} threads), float32; medians.", "",
             "| model | upsampler | parameters | batch | samples/s (median) | samples/s (best) "
             "| x real time (median) |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in train_rows:
        lines.append(f"| {r['model']} | {r['kind']} | {r['parameters']:,} | {r['batch']} | "
                     f"{r['samples_per_s']:.2f} | {r['best_samples_per_s']:.2f} | "
                     f"{r['audio_x_realtime']:.1f} |")
    lines += ["", "| model | upsampler | model alone, x real time (median) | best | "
              "reconstruct (chunked, 25% overlap), x real time (median) |",
              "|---|---|---:|---:|---:|"]
    for r in infer_rows:
        lines.append(f"| {r['model']} | {r['kind']} | {r['model_x_realtime']:.0f} | "
                     f"{r['model_best_x_realtime']:.0f} | {r['reconstruct_x_realtime']:.0f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, two kinds")
    parser.add_argument("--kinds", nargs="*", default=None, help="default: every kind")
    parser.add_argument("--out", type=Path, default=None, help="write bench_train.md/.json")
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    kinds = args.kinds or (["transposed", "nearest"] if args.quick else list(upsampler_kinds()))
    unknown = [k for k in kinds if k not in upsampler_kinds()]
    if unknown:
        parser.error(f"--kinds must be among {', '.join(upsampler_kinds())}; received "
                     f"{', '.join(unknown)}")
    if args.out is not None and (args.out / "bench_train.md").exists() and not args.force:
        parser.error(f"{args.out / 'bench_train.md'} exists; pass --force")
    repeats, warmup = (3, 1) if args.quick else (7, 2)
    info = machine()
    train_rows = bench_training(kinds, 8, repeats, warmup, demucs_batch=4)
    infer_rows = bench_inference(kinds, repeats * 3, warmup, chunks=16,
                                 seconds=20.0 if args.quick else 60.0)
    table = to_markdown(train_rows, infer_rows, info)
    print(table)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "bench_train.md").write_text(table)
        (args.out / "bench_train.json").write_text(json.dumps(
            {"machine": info, "training": train_rows, "inference": infer_rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
