"""GPU smoke check: ``python benchmarks/gpu_check.py`` on a machine with CUDA.

* every upsampler kind in float32 on CUDA against the same layer in float64 on
  the CPU: output, input gradient and weight gradient; on CUDA, its phase
  kernels run by ``polyphase_forward`` and its ``to_subpixel`` form, where exact;
* a few training steps of the autoencoder and of the Demucs-like model on CUDA
  (``upsamplers.train`` moves model and Adam's state to the GPU), then a resume;
  the same weights with and without evaluation during training;
* a tiny ``compare`` run of the separate and bandwidth tasks on CUDA (two seeds).

Needs soundfile (the embedded data set) besides torch, numpy and scipy. Exits
non-zero when a check fails.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
import time

import torch

from upsamplers import make_upsampler, polyphase_forward, to_subpixel, upsampler_kinds
from upsamplers.compare import CompareConfig, compare
from upsamplers.train import TrainConfig, train

CASES = ((2, 5, 33), (4, 9, 100), (3, 7, 1))  # factor, kernel size, input length


def _difference(kind: str, factor: int, kernel_size: int, length: int) -> float:
    device = torch.device("cuda")
    torch.manual_seed(factor + kernel_size)
    cpu = make_upsampler(kind, 3, 2, factor, kernel_size=kernel_size, bias=True).double()
    gpu = make_upsampler(kind, 3, 2, factor, kernel_size=kernel_size, bias=True).to(device)
    gpu.load_state_dict({name: v.float() for name, v in cpu.state_dict().items()})
    x = torch.randn(2, 3, length, dtype=torch.float64, requires_grad=True)
    xg = x.detach().float().to(device).requires_grad_(True)
    y, yg = cpu(x), gpu(xg)
    grad = torch.randn_like(y)
    y.backward(grad)
    yg.backward(grad.float().to(device))
    pairs = [(yg, y), (xg.grad, x.grad), (gpu.conv.weight.grad, cpu.conv.weight.grad)]
    worst = max(float((a.detach().double().cpu() - b).abs().max()) for a, b in pairs)
    with torch.no_grad():
        kernels = gpu.phase_kernels()
        assert kernels.weight.device.type == "cuda"
        if gpu.end_effects is None:
            worst = max(worst, float((polyphase_forward(xg, kernels) - yg).abs().max()))
            worst = max(worst, float((to_subpixel(gpu)(xg) - yg).abs().max()))
    return worst


def check_layers() -> None:
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    worst = {kind: max(_difference(kind, *case) for case in CASES) for kind in upsampler_kinds()}
    print("max |cuda float32 - cpu float64| per kind:",
          json.dumps({k: f"{v:.2e}" for k, v in worst.items()}))
    assert all(v < 1e-4 for v in worst.values()), worst


def check_training() -> None:
    for model in ("autoencoder", "demucs"):
        options = {"width": 8, "depth": 4, "lstm_layers": 0} if model == "demucs" else {}
        config = TrainConfig(model=model, upsampler="nearest", steps=6, batch_size=2,
                             crop=16384, checkpoint_every=3, log_every=2, model_options=options)
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            train(config, out, progress=False)
            torch.cuda.synchronize()
            print(f"{model}: 6 steps on cuda in {time.perf_counter() - start:.1f} s")
            train(dataclasses.replace(config, steps=9), out, resume=True, progress=False)
            print(f"{model}: resumed to 9 steps on cuda")
    # evaluation during training restores the CUDA random state: the same weights
    # with and without it, to what two runs without it differ by (GPU kernels may
    # not be bitwise reproducible)
    config = TrainConfig(model="demucs", upsampler="nearest", steps=6, batch_size=2,
                         crop=16384, model_options={"width": 8, "depth": 4, "lstm_layers": 0})
    torch.backends.cudnn.deterministic = True
    states = []
    for every in (0, 0, 2):
        with tempfile.TemporaryDirectory() as out:
            result = train(dataclasses.replace(config, eval_every=every, eval_seconds=4.0), out,
                           progress=False)
            states.append(torch.load(f"{out}/model.pt", map_location="cpu")["state_dict"])
            print(f"demucs eval_every={every}: status {result.status}, curve {result.curve}")

    def apart(a: dict, b: dict) -> float:
        return max(float((a[k].double() - b[k].double()).abs().max()) for k in a)
    plain, evaluated = apart(states[0], states[1]), apart(states[0], states[2])
    print(f"max |weights| difference on cuda: two runs without eval {plain:.2e}, "
          f"without and with eval {evaluated:.2e}")
    assert evaluated <= max(10 * plain, 1e-6), (plain, evaluated)


def check_compare() -> None:
    for task, options in (("separate", {"width": 4, "depth": 2}),
                          ("bandwidth", {"width": 4, "depth": 1})):
        config = CompareConfig(task=task, variants=("subpixel", "nearest"), steps=3, seeds=2,
                               crop=4096, batch_size=2, timing_steps=2, audit_seconds=2.0,
                               clip_seconds=0.5, device="cuda", eval_every=1,
                               eval_seconds=2.0, min_steps=3, model_options=options)
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            report = compare(config, out, progress=False, echo=lambda message: None)
            rows = [(row["variant"], row["status"], row.get("stats", {}).get(report["metric"]))
                    for row in report["rows"] if row["trained"]]
            print(f"compare --task {task} on cuda ({report['jobs']} job): "
                  f"{time.perf_counter() - start:.1f} s, rows {rows}")


def main() -> int:
    if not torch.cuda.is_available():
        print("gpu_check.py needs a CUDA device; torch sees none", file=sys.stderr)
        return 2
    print("torch", torch.__version__, torch.cuda.get_device_name(0))
    check_layers()
    check_training()
    check_compare()
    print("GPU CHECK OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
