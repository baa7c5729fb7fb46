"""Keras upsamplers, forward + backward speed, on the TensorFlow, JAX or torch backend.

Compares ``SubPixelConv1D``, ``Conv1DTranspose``, ``UpSampling1D`` + ``Conv1D``
and linear interpolation + ``Conv1D`` (all from ``upsamplers.keras.make_upsampler``,
which computes the last three in their low-rate forms), and the same three as
Keras composes them (``impl="native"`` / ``"composition"``), float32, on the
shapes of the PyTorch benchmark. One step computes the gradients of the sum of
the output with respect to the input and the weights, compiled the way the
backend compiles a train step (TensorFlow: ``tf.function``; JAX: ``jax.jit``;
torch: eager autograd). The cases of a shape are timed round-robin (one run of
each per round, so a change of load hits them alike); the median is reported with
its ratio to the subpixel layer of the same rounds, beside the machine, the
threads and the load average.

    python benchmarks/bench_keras.py --backend jax [--repeats 10] [--out benchmarks/results]
    python benchmarks/bench_keras.py --backend tensorflow --shapes main
    python benchmarks/bench_keras.py --quick   # main shape, 3 runs: a smoke check

``--out`` writes ``keras_<backend>.md`` and ``keras_<backend>.json``; with
``--append`` this run is added to the runs already there (the bar asks for the
ratios of two separate runs), each with its own machine line. Keras reads
``KERAS_BACKEND`` when it is first imported: this script sets it from
``--backend`` before importing Keras (and refuses to run if Keras was already
imported with another backend).

TensorFlow issue 23948 reported ``UpSampling1D`` to be slow on GPU; on a machine
with a GPU visible to the backend the same script measures it there.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

BACKENDS = ("tensorflow", "jax", "torch")
SHAPES = ((8, 64, 4096, 4), (2, 32, 1024, 4), (8, 128, 8192, 4))  # B, C, T, factor
KINDS = (("subpixel", "SubPixelConv1D"), ("transposed", "Conv1DTranspose"),
         ("nearest", "UpSampling1D + Conv1D"), ("linear", "linear + Conv1D"))
# the forms the low-rate ones replace: kind -> (make_upsampler options, label)
BASELINES = {"transposed": ({"impl": "native"}, "Conv1DTranspose (native)"),
             "nearest": ({"impl": "composition"}, "UpSampling1D + Conv1D (composition)"),
             "linear": ({"impl": "composition"}, "linear + Conv1D (composition)")}


def select_backend(backend: str) -> None:
    """Set ``KERAS_BACKEND`` before Keras is imported."""
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "keras" in sys.modules and sys.modules["keras"].backend.backend() != backend:
        raise SystemExit(f"Keras was imported with another backend before --backend {backend}")


def make_step(layer: Any, x: Any, backend: str) -> Callable[[], object]:
    """One forward + backward of ``sum(layer(x))`` w.r.t. ``x`` and the weights,
    compiled as the backend compiles a train step, waiting for the result.
    ``x``: numpy ``(B, T, C)``."""
    if backend == "tensorflow":
        import tensorflow as tf

        tx = tf.constant(x)

        @tf.function
        def step(x: Any) -> Any:
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = tf.reduce_sum(layer(x))
            return tape.gradient(y, [x, *layer.trainable_weights])

        return lambda: [g.numpy() for g in step(tx)]
    if backend == "jax":
        import jax
        from keras import ops

        weights = [v.value for v in layer.trainable_variables]

        def loss(weights: Any, x: Any) -> Any:
            y, _ = layer.stateless_call(weights, [], x)
            return ops.sum(y)

        grad = jax.jit(jax.grad(loss, argnums=(0, 1)))
        jx = jax.numpy.asarray(x)
        return lambda: jax.block_until_ready(grad(weights, jx))
    import torch

    tx = torch.tensor(x, requires_grad=True)
    weights = [v.value for v in layer.trainable_variables]
    return lambda: torch.autograd.grad(layer(tx).sum(), [tx, *weights])


def machine(backend: str) -> dict[str, Any]:
    """The machine, the backend's version and threads, and the load average."""
    import keras

    from upsamplers.timing import cpu_name

    info: dict[str, Any] = {"backend": backend, "keras": keras.__version__,
                            "processor": cpu_name(), "cpus": os.cpu_count(),
                            "platform": platform.platform()}
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        intra = tf.config.threading.get_intra_op_parallelism_threads()
        info.update(version=tf.__version__, device=gpus[0].name if gpus else "CPU",
                    threads=intra or f"TensorFlow default (0: all {os.cpu_count()} cores)")
    elif backend == "jax":
        import jax

        device = jax.devices()[0]
        info.update(version=jax.__version__, device=f"{device.platform} ({device})",
                    threads=f"XLA default (all {os.cpu_count()} cores)")
    else:
        import torch

        info.update(version=torch.__version__,
                    device="cuda" if torch.cuda.is_available() else "CPU",
                    threads=torch.get_num_threads())
    return info


def time_shape(shape: tuple[int, int, int, int], backend: str, repeats: int,
               warmup: int) -> list[dict[str, Any]]:
    """Every case at one shape, round-robin; rows with medians and ratios."""
    import numpy as np

    from upsamplers.keras import make_upsampler
    from upsamplers.timing import measure_round_robin

    batch, channels, length, factor = shape
    x = np.random.default_rng(0).standard_normal((batch, length, channels)).astype("float32")
    cases = [(kind, {}, label) for kind, label in KINDS]
    cases += [(kind, options, label) for kind, (options, label) in BASELINES.items()]
    steps = []
    for kind, options, _ in cases:
        layer = make_upsampler(kind, channels, factor, **options)
        layer(x[:1])  # build the weights
        steps.append(make_step(layer, x, backend))
    load_before = os.getloadavg()
    times = measure_round_robin(steps, repeats=repeats, warmup=warmup)
    load = [round(v, 2) for v in (*load_before, *os.getloadavg())]
    subpixel = statistics.median(times[0])
    rows = []
    for (kind, options, label), runs in zip(cases, times, strict=True):
        median = statistics.median(runs)
        rows.append({"shape": dict(zip(("batch", "channels", "time", "factor"), shape,
                                       strict=True)),
                     "kind": kind, **options, "layer": label, "median_ms": 1e3 * median,
                     "vs_subpixel": median / subpixel, "times_ms": [1e3 * t for t in runs],
                     "load_average_before_after": load})
        print(f"{shape} {label}: {rows[-1]['median_ms']:.2f} ms "
              f"({rows[-1]['vs_subpixel']:.2f}x)", flush=True)
    return rows


def render(run: dict[str, Any]) -> str:
    """The markdown table of one run (:func:`machine`'s keys, ``repeats``, ``rows``)."""
    lines = [f"Keras {run['keras']}, {run['backend']} {run['version']}, "
             f"{run['device']}: {run['processor']}, {run['cpus']} cores, threads: "
             f"{run['threads']}; forward + backward, float32, median of {run['repeats']} runs, "
             "cases round-robin. Load average (1, 5, 15 min) before and after each "
             "shape beside it.", "",
             "| shape (B, C, T, factor) | layer | median (ms) | vs SubPixelConv1D "
             "| load average before / after |", "|---|---|---:|---:|---|"]
    for row in run["rows"]:
        s, load = row["shape"], row["load_average_before_after"]
        lines.append(f"| {s['batch']}, {s['channels']}, {s['time']}, x{s['factor']} | "
                     f"{row['layer']} | {row['median_ms']:.2f} | {row['vs_subpixel']:.2f}x | "
                     f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} / "
                     f"{load[3]:.2f} {load[4]:.2f} {load[5]:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=BACKENDS, default="tensorflow")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--shapes", choices=("all", "main"), default="all",
                        help="every shape, or the main one (8, 64, 4096, x4)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--append", action="store_true",
                        help="add this run to those in --out instead of replacing them")
    parser.add_argument("--quick", action="store_true",
                        help="the main shape only, 3 runs after 1 warm-up")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.warmup, args.shapes = 3, 1, "main"
    select_backend(args.backend)
    info = machine(args.backend)
    rows = []
    for shape in SHAPES[:1] if args.shapes == "main" else SHAPES:
        rows += time_shape(shape, args.backend, args.repeats, args.warmup)
    run = {**info, "repeats": args.repeats, "rows": rows}
    print(render(run))
    if args.out is not None:
        write_runs(args.out, args.backend, run, append=args.append)


def write_runs(out: Path, backend: str, run: dict[str, Any], *, append: bool) -> None:
    """``keras_<backend>.json`` (``{"runs": [...]}``) and its tables, one per run."""
    from upsamplers._io import atomic_write_text

    out.mkdir(parents=True, exist_ok=True)
    path = out / f"keras_{backend}.json"
    runs = json.loads(path.read_text()).get("runs", []) if append and path.exists() else []
    runs.append(run)
    atomic_write_text(path, json.dumps({"runs": runs}, indent=2) + "\n")
    tables = [f"## Run {n}\n\n{render(r)}" for n, r in enumerate(runs, 1)]
    atomic_write_text(out / f"keras_{backend}.md",
                      f"# Keras upsamplers on {backend}\n\n" + "\n".join(tables))


if __name__ == "__main__":
    main()
