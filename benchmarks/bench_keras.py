"""Keras upsamplers on the TensorFlow backend: forward + backward speed.

Compares ``SubPixelConv1D``, ``Conv1DTranspose``, ``UpSampling1D`` + ``Conv1D``
and linear interpolation + ``Conv1D`` (all from ``upsamplers.keras.make_upsampler``,
which computes the last three in their low-rate forms), and the same three as
Keras composes them (``impl="native"`` / ``"composition"``), float32, on the
shapes of the PyTorch benchmark. Each step is a compiled
``tf.function`` computing the gradients of the sum of the output with respect to
the input and the weights; the median of repeated runs after warm-up is
reported, with its ratio to the subpixel layer measured in the same run.

    python benchmarks/bench_keras.py [--repeats 10] [--out benchmarks/results]
    python benchmarks/bench_keras.py --quick   # first shape, 3 runs: a smoke check

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
# the forms the low-rate ones replace: kind -> (make_upsampler options, label)
BASELINES = {"transposed": ({"impl": "native"}, "Conv1DTranspose (native)"),
             "nearest": ({"impl": "composition"}, "UpSampling1D + Conv1D (composition)"),
             "linear": ({"impl": "composition"}, "linear + Conv1D (composition)")}


def time_kind(kind: str, shape: tuple[int, int, int, int], repeats: int,
              warmup: int, **options: str) -> list[float]:
    batch, channels, length, factor = shape
    layer = make_upsampler(kind, channels, factor, **options)
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
    parser.add_argument("--quick", action="store_true",
                        help="the first shape only, 3 runs after 1 warm-up")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.warmup = 3, 1
    assert keras.backend.backend() == "tensorflow", "run with KERAS_BACKEND=tensorflow"
    gpus = tf.config.list_physical_devices("GPU")
    device = gpus[0].name if gpus else f"CPU ({platform.machine()}, {os.cpu_count()} cores)"
    rows = []
    cases = [(kind, {}, label) for kind, label in KINDS]
    cases += [(kind, options, label) for kind, (options, label) in BASELINES.items()]
    for shape in SHAPES[:1] if args.quick else SHAPES:
        for kind, options, label in cases:
            times = time_kind(kind, shape, args.repeats, args.warmup, **options)
            rows.append({"shape": dict(zip(("batch", "channels", "time", "factor"), shape,
                                           strict=True)),
                         "kind": kind, **options, "layer": label,
                         "median_ms": 1e3 * statistics.median(times),
                         "times_ms": [1e3 * t for t in times]})
            print(f"{shape} {label}: {rows[-1]['median_ms']:.2f} ms", flush=True)
        subpixel = rows[-len(cases)]["median_ms"]
        for row in rows[-len(cases):]:
            row["vs_subpixel"] = row["median_ms"] / subpixel
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
