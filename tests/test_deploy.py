"""Deployment paths of every upsampler kind (docs/deployment.md).

Each path exports a layer traced at one length and runs the result at other
lengths (and another batch size), against the eager layer, float32, to 1e-5:

* ``torch.export.export`` with a dynamic batch and length (``torch.export.Dim``);
* the ONNX exporter of torch 2.x (``torch.onnx.export(..., dynamo=True)``), run in
  onnxruntime (CPU, one thread);
* ``torch.jit.trace``, and the legacy ONNX exporter built on it
  (``dynamo=False``) run in onnxruntime;
* ``torch.jit.script`` is refused with one :class:`UnsupportedExportError` that
  names the layer and the alternatives, also for a layer inside a model.

Shapes are small: the exporters take seconds per layer.
"""

from __future__ import annotations

import importlib.util
import io
import json
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from upsamplers import UnsupportedExportError
from upsamplers.layers import (
    SUPPORTED_EXPORTS,
    PeriodicShuffle1d,
    PeriodicUnshuffle1d,
    make_upsampler,
    upsampler_kinds,
)

C_IN, C_OUT, FACTOR = 3, 2, 3
TRACED = (2, 16)  # (B, T) of the example input every path is traced with
RUNS = ((3, 1), (3, 2), (1, 7), (2, 50))  # (B, T) it is run at afterwards
TOLERANCE = 1e-5
#: A long input, checked against the layer computed in float64: every path stays within
#: TOLERANCE there too (measured: under 1e-6 at T = 50000, docs/deployment.md) except
#: linear interpolation run naively, where F.interpolate (and ONNX Resize after it)
#: computes the sample positions in float32, so its error grows with T (4e-4 at T = 4000
#: in eager torch itself); the default impl="polyphase" has no such error.
LONG = 4000
FLOAT32_POSITIONS = {("linear", "naive")}
#: the drift those variants show at LONG samples, eager torch included (4e-4 measured)
FLOAT32_POSITIONS_TOLERANCE = 1e-3
# Per kind, options that reach the code paths that once broke an exporter: an even
# kernel (end corrections of the folded kinds), a bias, the "phase" shuffle order.
OPTIONS = {
    "transposed": {"kernel_size": 6, "bias": True},
    "subpixel": {"kernel_size": 4, "bias": True, "order": "phase"},
    "nearest": {"kernel_size": 4, "bias": True},
    "linear": {"kernel_size": 4, "bias": True},
    "sinc": {"kernel_size": 4, "bias": True},
    "resample": {"kernel_size": 4, "bias": True},
    "istft": {"kernel_size": 4, "bias": True},
}
# every form the engine may choose, forced (exported graphs run the layer's `form`)
IMPLS = {kind: ("polyphase", "folded", "filtered", "projected", "naive")
         for kind in ("nearest", "linear", "sinc")}
IMPLS["resample"] = ("mix_first", "filter_first")
VARIANTS = [(kind, impl) for kind in upsampler_kinds() for impl in IMPLS.get(kind, (None,))]


def test_every_kind_has_export_options():
    assert set(OPTIONS) == set(upsampler_kinds())


def build(kind: str, impl: str | None) -> torch.nn.Module:
    torch.manual_seed(0)
    options = dict(OPTIONS[kind], **({} if impl is None else {"impl": impl}))
    layer = make_upsampler(kind, C_IN, C_OUT, FACTOR, **options).eval()
    with torch.no_grad():  # a bias large enough to matter
        (layer.conv.bias if layer.conv.bias is not None else layer.bias).normal_()
    return layer


def inputs(runs=RUNS) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    return [torch.randn(b, C_IN, t, generator=gen) for b, t in runs]


def dynamic_shapes() -> tuple[dict[int, torch.export.Dim], ...]:
    return ({0: torch.export.Dim("batch", min=1, max=64),
             2: torch.export.Dim("time", min=1, max=1 << 20)},)


def onnx_session(model: bytes) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def worst_error(run, layer: torch.nn.Module) -> float:
    """Largest absolute difference between ``run(x)`` and the eager layer over
    :data:`RUNS` (each output also checked for its shape)."""
    worst = 0.0
    for x in inputs():
        with torch.no_grad():
            expected = layer(x).numpy()
        got = np.asarray(run(x))
        assert got.shape == expected.shape == (x.shape[0], C_OUT, x.shape[-1] * FACTOR)
        worst = max(worst, float(np.abs(got - expected).max()))
    return worst


def long_error(run, kind: str, impl: str | None) -> float:
    """Largest absolute difference between ``run(x)`` (float32) and the layer in
    float64 on one input of :data:`LONG` samples."""
    x = torch.randn(1, C_IN, LONG, generator=torch.Generator().manual_seed(2),
                    dtype=torch.float64)
    with torch.no_grad():
        reference = build(kind, impl).double()(x).numpy()
    return float(np.abs(np.asarray(run(x.float())) - reference).max())


def long_tolerance(kind: str, impl: str | None) -> float:
    """:data:`TOLERANCE`, or the documented drift of float32 sample positions."""
    return FLOAT32_POSITIONS_TOLERANCE if (kind, impl) in FLOAT32_POSITIONS else TOLERANCE


def onnx_runner(model: bytes):
    session = onnx_session(model)
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x.numpy()})[0]


@pytest.mark.parametrize(("kind", "impl"), VARIANTS)
def test_torch_export_and_onnx_dynamo_at_other_lengths(kind, impl, one_thread):
    layer = build(kind, impl)
    example = inputs((TRACED,))[0]
    program = torch.export.export(layer, (example,), dynamic_shapes=dynamic_shapes())
    assert worst_error(lambda x: program.module()(x).detach().numpy(), layer) < TOLERANCE
    # the ONNX exporter of torch 2.x, from the same program
    onnx_program = torch.onnx.export(program, dynamo=True, verbose=False)
    run = onnx_runner(onnx_program.model_proto.SerializeToString())
    assert worst_error(run, layer) < TOLERANCE
    assert long_error(run, kind, impl) < long_tolerance(kind, impl)


@pytest.mark.parametrize(("kind", "impl"), VARIANTS)
def test_jit_trace_and_legacy_onnx_at_other_lengths(kind, impl, one_thread):
    layer = build(kind, impl)
    example = inputs((TRACED,))[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch deprecates both paths and warns
        traced = torch.jit.trace(layer, example)  # also checks a second trace agrees
        buffer = io.BytesIO()
        torch.onnx.export(layer, (example,), buffer, dynamo=False, input_names=["x"],
                          dynamic_axes={"x": {0: "batch", 2: "time"}})
    assert worst_error(lambda x: traced(x).detach().numpy(), layer) < TOLERANCE
    run = onnx_runner(buffer.getvalue())
    assert worst_error(run, layer) < TOLERANCE
    assert long_error(run, kind, impl) < long_tolerance(kind, impl)


def test_traced_layer_still_trains_like_the_eager_one(one_thread):
    """The traced form of a fused layer (plain operations instead of the
    hand-written backward) gives the same gradients."""
    layer = build("sinc", "polyphase")
    x = inputs(((2, 9),))[0].requires_grad_(True)
    traced = torch.jit.trace(layer, inputs((TRACED,))[0])
    grads = []
    for module in (layer, traced):
        x.grad = None
        layer.zero_grad()
        (module(x) * torch.linspace(-1, 1, 9 * FACTOR)).sum().backward()
        grads.append((x.grad.clone(), layer.conv.weight.grad.clone()))
    for eager, trace in zip(*grads, strict=True):
        torch.testing.assert_close(trace, eager, atol=1e-5, rtol=0)


@pytest.mark.parametrize("kind", upsampler_kinds())
def test_jit_script_is_refused_with_the_alternatives(kind):
    layer = make_upsampler(kind, C_IN, C_OUT, FACTOR, **OPTIONS[kind])
    with pytest.raises(UnsupportedExportError) as caught:
        torch.jit.script(layer)
    message = str(caught.value)
    assert type(layer).__name__ in message and "torch.jit.script" in message
    assert all(path in message for path in SUPPORTED_EXPORTS)
    assert isinstance(caught.value, NotImplementedError)


def test_jit_script_refuses_a_model_holding_a_layer_by_its_name():
    model = torch.nn.Sequential(torch.nn.Conv1d(C_IN, C_IN, 1),
                                make_upsampler("linear", C_IN, C_OUT, FACTOR))
    with pytest.raises(UnsupportedExportError, match=r"InterpUpsample1d\(3, 2, factor=3"):
        torch.jit.script(model)


@pytest.mark.parametrize("module", [PeriodicShuffle1d(FACTOR), PeriodicUnshuffle1d(FACTOR)])
def test_shuffle_modules_trace_and_refuse_script(module):
    x = torch.randn(2, C_OUT * FACTOR, 12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(module, x)
    for other in (torch.randn(3, C_OUT * FACTOR, 6), torch.randn(1, C_OUT * FACTOR, 30)):
        torch.testing.assert_close(traced(other), module(other), atol=0, rtol=0)
    with pytest.raises(UnsupportedExportError, match=type(module).__name__):
        torch.jit.script(module)


def test_onnxruntime_benchmark_runs_and_agrees(tmp_path, one_thread):
    """benchmarks/bench_onnxruntime.py on a tiny shape: it writes its table and the
    onnxruntime output it timed matches eager torch (no timing is asserted)."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_onnxruntime.py"
    spec = importlib.util.spec_from_file_location("bench_onnxruntime", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.main(["--shape", "2,4,32,3", "--case", "sinc", "--case", "subpixel",
                "--repeats", "1", "--out", str(tmp_path)])
    rows = json.loads((tmp_path / "onnxruntime.json").read_text())["rows"]
    assert [row["case"] for row in rows] == ["subpixel", "sinc"]
    assert all(row["max_abs_difference"] < TOLERANCE for row in rows)
    assert all(row["torch_ms"] > 0 and row["onnxruntime_ms"] > 0 for row in rows)
    table = (tmp_path / "onnxruntime.md").read_text()
    assert "| 2, 4, 32, x3 | sinc |" in table
