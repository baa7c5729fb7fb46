"""Keras upsamplers on the TensorFlow backend: forward + backward speed.

Compares ``SubPixelConv1D``, ``Conv1DTranspose``, ``UpSampling1D`` + ``Conv1D``
and linear interpolation + ``Conv1D`` (all from ``upsamplers.keras.make_upsampler``),
float32, on the shapes of the PyTorch benchmark. Each step is a compiled
``tf.function`` computing the gradients of the sum of the output with respect to
the input and the weights; the median of repeated runs after warm-up is
reported, with its ratio to the subpixel layer measured in the same run.

    python benchmarks/bench_keras.py [--repeats 10] [--out benchmarks/results]

TensorFlow issue 23948 reported ``UpSampling1D`` to be slow on GPU; on a machine
with a GPU visible to TensorFlow the same script measures it there.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from upsamplers.keras import make_upsampler  # noqa: E402

SHAPES = ((8, 64, 4096, 4), (2, 32, 1024, 4), (8, 128, 8192, 4))  # B, C, T, factor
KINDS = (("subpixel", "SubPixelConv1D"), ("transposed", "Conv1DTranspose"),
         ("nearest", "UpSampling1D + Conv1D"), ("linear", "linear + Conv1D"))


def time_kind(kind: str, shape: tuple[int, int, int, int], repeats: int,
              warmup: int) -> list[float]:
    batch, channels, length, factor = shape
    layer = make_upsampler(kind, channels, factor)
    x = tf.constant(np.random.default_rng(0).standard_normal((batch, length, channels)),
                    dtype=tf.float32)  # (B, T, C)
    layer(x)  # build the weights

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.reduce_sum(layer(x))
        return tape.gradient(y, [x, *layer.trainable_weights])

    for _ in range(warmup):
        step(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        grads = step(x)
        _ = [g.numpy() for g in grads[:1]]  # wait for the result
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    assert keras.backend.backend() == "tensorflow", "run with KERAS_BACKEND=tensorflow"
    gpus = tf.config.list_physical_devices("GPU")
    device = gpus[0].name if gpus else f"CPU ({platform.machine()}, {os.cpu_count()} cores)"
    rows = []
    for shape in SHAPES:
        medians = {}
        for kind, label in KINDS:
            times = time_kind(kind, shape, args.repeats, args.warmup)
            medians[kind] = statistics.median(times)
            rows.append({"shape": dict(zip(("batch", "channels", "time", "factor"), shape,
                                           strict=True)),
                         "kind": kind, "layer": label, "median_ms": 1e3 * medians[kind],
                         "times_ms": [1e3 * t for t in times]})
            print(f"{shape} {label}: {1e3 * medians[kind]:.2f} ms", flush=True)
        for row in rows[-len(KINDS):]:
            row["vs_subpixel"] = row["median_ms"] / (1e3 * medians["subpixel"])
    lines = [f"Keras {keras.__version__}, TensorFlow {tf.__version__}, {device}; "
             "forward + backward (tf.function), float32, median of "
             f"{args.repeats} runs.", "",
             "| shape (B, C, T, factor) | layer | median (ms) | vs SubPixelConv1D |",
             "|---|---|---:|---:|"]
    for row in rows:
        s = row["shape"]
        lines.append(f"| {s['batch']}, {s['channels']}, {s['time']}, x{s['factor']} | "
                     f"{row['layer']} | {row['median_ms']:.2f} | {row['vs_subpixel']:.2f}x |")
    table = "\n".join(lines) + "\n"
    print(table)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "keras_tensorflow.md").write_text(table)
        (args.out / "keras_tensorflow.json").write_text(
            json.dumps({"device": device, "keras": keras.__version__,
                        "tensorflow": tf.__version__, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
