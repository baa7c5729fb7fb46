"""Anti-aliased activations and the Snake family, against independent references:
a dense-matrix form of the high-rate definition (float64, differentiable), alias-free-torch's
``Activation1d`` for the BigVGAN preset, and the antiderivative definition of ADAA."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal
import torch
from torch import nn

from upsamplers.activations import (
    AntiAliasedActivation1d,
    Snake1d,
    SnakeBeta1d,
    activation_names,
    make_activation,
)


def dense_matrices(r: int, h: np.ndarray, up_delay: int, g: np.ndarray, down_delay: int,
                   time: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The oversampling (``(r T, T)``) and decimation (``(T, r T)``) as matrices, written
    from the definition: zero stuffing, full convolution, ends continued by the edge
    samples at both rates (index clamping)."""
    up = np.zeros((r * time, time))
    for n in range(r * time):
        for k, tap in enumerate(h):
            if (n + up_delay - k) % r == 0:
                i = min(max((n + up_delay - k) // r, 0), time - 1)
                up[n, i] += r * tap
    down = np.zeros((time, r * time))
    for m in range(time):
        for k, tap in enumerate(g):
            down[m, min(max(r * m + k - down_delay, 0), r * time - 1)] += tap
    return torch.from_numpy(up), torch.from_numpy(down)


def dense_reference(x: torch.Tensor, act: nn.Module, up: torch.Tensor, down: torch.Tensor,
                    ratio: int, interleaved_act: bool = True) -> torch.Tensor:
    b, c, _ = x.shape
    u = x @ up.T  # (B, C, r T), time order
    return act(u) @ down.T


def designed_filter(taps: int, cutoff: float, ratio: int, attenuation_db: float) -> np.ndarray:
    """scipy's Kaiser-window design of the same low-pass (DC gain one)."""
    return scipy.signal.firwin(taps, cutoff / ratio,
                               window=("kaiser", scipy.signal.kaiser_beta(attenuation_db)))


ACTIVATIONS = {
    "leaky_relu": lambda c: nn.LeakyReLU(0.2),
    "tanh": lambda c: nn.Tanh(),
    "snakebeta": lambda c: SnakeBeta1d(c, alpha=1.7, beta=0.6),
    "snake_adaa": lambda c: Snake1d(c, alpha=0.8, adaa=True),
}


@pytest.mark.parametrize("seed", range(6))
def test_default_filter_matches_the_dense_definition_forward_and_backward(seed):
    rng = np.random.default_rng(seed)
    ratio = int(rng.integers(1, 5))
    taps = int(rng.choice([1, 5, 13, 31]))
    cutoff = float(rng.uniform(0.6, 1.0))
    time = int(rng.choice([1, 2, 3, 8, 37]))
    channels, batch = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    name = list(ACTIVATIONS)[seed % len(ACTIVATIONS)]
    act = ACTIVATIONS[name](channels).double()
    layer = AntiAliasedActivation1d(act, ratio, taps=taps, cutoff=cutoff).double()
    h = designed_filter(taps, cutoff, ratio, 80.0)
    up, down = dense_matrices(ratio, h, taps // 2, h, taps // 2, time)
    x = torch.randn(batch, channels, time, dtype=torch.float64, requires_grad=True)
    y = layer(x)
    ref = dense_reference(x, act, up, down, ratio)
    torch.testing.assert_close(y, ref, rtol=1e-9, atol=1e-10)
    g = torch.randn_like(y)
    params = [p for p in act.parameters()]
    got = torch.autograd.grad(y, [x, *params], g)
    want = torch.autograd.grad(ref, [x, *params], g)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("ratio,taps", [(2, 12), (3, 12), (2, 16), (4, 24)])
def test_bigvgan_preset_equals_alias_free_torch_activation1d_ends_included(ratio, taps):
    from alias_free_torch import Activation1d

    torch.manual_seed(ratio * 100 + taps)
    for time in (1, 2, 5, 64, 301):
        act = SnakeBeta1d(3, alpha=1.3, beta=0.7)
        theirs = Activation1d(act, ratio, ratio, taps, taps)
        ours = AntiAliasedActivation1d.bigvgan(act, ratio, taps)
        x = torch.randn(2, 3, time, requires_grad=True)
        y_theirs, y_ours = theirs(x), ours(x)
        torch.testing.assert_close(y_ours, y_theirs, rtol=0, atol=1e-5)
        g = torch.randn_like(y_ours)
        for a, b in zip(torch.autograd.grad(y_ours, [x, *act.parameters()], g),
                        torch.autograd.grad(y_theirs, [x, *act.parameters()], g), strict=True):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_filter_passes_the_band_and_is_linear_phase():
    """With the identity inside, the layer is the cascade of its two filters: the gain
    at a sine up to 0.7 of the Nyquist frequency is 1 within 0.02 dB and no delay."""
    layer = AntiAliasedActivation1d(nn.Identity(), 2).double()
    n = 1031
    t = np.arange(4 * n)
    for k in (20, 150, 300, 360):  # 0.04 .. 0.70 of the Nyquist frequency
        x = np.cos(2 * np.pi * k * t / n)
        y = layer(torch.from_numpy(x).view(1, 1, -1)).numpy()[0, 0]
        period = y[2 * n: 3 * n]
        np.testing.assert_allclose(period, x[2 * n: 3 * n], atol=10 ** (0.02 / 20) - 1)


def test_plain_form_equals_the_eager_form_for_every_activation():
    """The phase form that traced, exported and scripted graphs run (grouped
    convolutions) and the block form of eager mode (matrix products) agree."""
    torch.manual_seed(0)
    for name, make in ACTIVATIONS.items():
        for layer in (AntiAliasedActivation1d(make(4), 3, taps=21),
                      AntiAliasedActivation1d.bigvgan(make(4))):
            for time in (1, 3, 50):
                x = torch.randn(3, 4, time)
                torch.testing.assert_close(layer(x), layer._plain(x), rtol=1e-5, atol=2e-6,
                                           msg=name)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_torchscript_trace_and_export_give_the_eager_output(name):
    torch.manual_seed(1)
    layer = AntiAliasedActivation1d(ACTIVATIONS[name](2), 2)
    x, other = torch.randn(2, 2, 90), torch.randn(2, 2, 61)
    scripted = torch.jit.script(layer)
    traced = torch.jit.trace(layer, x)
    exported = torch.export.export(
        layer, (x,), dynamic_shapes={"x": {2: torch.export.Dim("T", min=32, max=1 << 16)}})
    for run in (scripted, traced, exported.module()):
        torch.testing.assert_close(run(other), layer(other), rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("tile_bytes", [1, 700, 5000])
@pytest.mark.parametrize("name", ["snakebeta", "snake_adaa"])
def test_small_tiles_give_the_dense_definition(monkeypatch, tile_bytes, name):
    """Tiles of one block (and a few) with their halos, at both ends and inside,
    forward and backward, against the dense definition."""
    from upsamplers.ops import resample

    monkeypatch.setattr(resample, "TILE_BYTES", tile_bytes)
    torch.manual_seed(tile_bytes)
    for ratio, taps, time in ((2, 13, 150), (3, 31, 97), (4, 5, 40)):
        act = ACTIVATIONS[name](3).double()
        layer = AntiAliasedActivation1d(act, ratio, taps=taps).double()
        h = designed_filter(taps, 0.9, ratio, 80.0)
        up, down = dense_matrices(ratio, h, taps // 2, h, taps // 2, time)
        x = torch.randn(3, 3, time, dtype=torch.float64, requires_grad=True)
        y, ref = layer(x), dense_reference(x, act, up, down, ratio)
        torch.testing.assert_close(y, ref, rtol=1e-9, atol=1e-10)
        g = torch.randn_like(y)
        for a, b in zip(torch.autograd.grad(y, [x, *act.parameters()], g),
                        torch.autograd.grad(ref, [x, *act.parameters()], g), strict=True):
            torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-10)


# ---- Snake ----

def test_snake_values_and_log_scale_parameters():
    x = torch.linspace(-3, 3, 50).view(1, 2, 25)
    snake = Snake1d(2, alpha=0.5)
    beta = SnakeBeta1d(2, alpha=2.0, beta=0.25)
    torch.testing.assert_close(snake.log_alpha, torch.full((2,), math.log(0.5)))
    torch.testing.assert_close(snake(x), x + torch.sin(0.5 * x) ** 2 / 0.5)
    torch.testing.assert_close(beta(x), x + torch.sin(2.0 * x) ** 2 / 0.25)


@pytest.mark.parametrize("cls", [Snake1d, SnakeBeta1d])
@pytest.mark.parametrize("adaa", [False, True])
def test_snake_gradients_are_exact(cls, adaa):
    torch.manual_seed(3)
    layer = cls(3, alpha=1.3, adaa=adaa).double()
    x = torch.randn(2, 3, 17, dtype=torch.float64, requires_grad=True)
    values = [p.detach().clone().requires_grad_() for p in layer.parameters()]
    names = [n for n, _ in layer.named_parameters()]

    def run(x, *v):
        return torch.func.functional_call(layer, dict(zip(names, v, strict=True)), (x,))

    assert torch.autograd.gradcheck(run, (x, *values))


def test_adaa_is_the_mean_of_f_between_consecutive_samples():
    """y[n] = (F(x[n]) - F(x[n-1])) / (x[n] - x[n-1]) with F the antiderivative of
    x + sin^2(a x) / b, checked where the difference is large enough to divide by."""
    a, b = 1.7, 0.6
    layer = SnakeBeta1d(1, alpha=a, beta=b, adaa=True).double()
    x = torch.tensor([0.3, -1.2, 0.9, 2.5, -0.4, 1.1], dtype=torch.float64)

    def antiderivative(v):
        return v ** 2 / 2 + (v / 2 - torch.sin(2 * a * v) / (4 * a)) / b

    y = layer(x.view(1, 1, -1))[0, 0]
    want = (antiderivative(x[1:]) - antiderivative(x[:-1])) / (x[1:] - x[:-1])
    torch.testing.assert_close(y[1:], want)
    torch.testing.assert_close(y[0], x[0] + torch.sin(a * x[0]) ** 2 / b)  # x[-1] = x[0]


@pytest.mark.parametrize("cls", [Snake1d, SnakeBeta1d])
def test_adaa_is_finite_in_float32_on_runs_of_equal_samples(cls):
    layer = cls(2, alpha=3.0, adaa=True)
    base = torch.tensor([0.5, 0.5, 0.5, 0.5 + 1e-7, 0.5 + 1e-7, -2.0, -2.0, 0.0, 0.0, 0.0])
    x = base.repeat(1, 2, 1).clone().requires_grad_()
    y = layer(x)
    y.square().sum().backward()
    assert torch.isfinite(y).all()
    assert torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in layer.parameters())
    # on a run of equal samples the output is f itself
    f = 0.5 + torch.sin(torch.tensor(3.0 * 0.5)) ** 2 / (3.0 if cls is Snake1d else 1.0)
    torch.testing.assert_close(y[0, 0, 1], f)
    inside = AntiAliasedActivation1d(cls(2, adaa=True), 2)
    z = torch.zeros(1, 2, 64, requires_grad=True)
    out = inside(z)
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(z.grad).all()


# ---- names and bad input ----

def test_make_activation_builds_every_name_plain_and_anti_aliased():
    x = torch.randn(2, 3, 40)
    for name in activation_names():
        plain = make_activation(name, 3)
        assert plain(x).shape == x.shape
        for form in ("default", "bigvgan"):
            wrapped = make_activation(name, 3, anti_aliased=form)
            assert isinstance(wrapped, AntiAliasedActivation1d)
            assert wrapped(x).shape == x.shape
    assert make_activation("leaky_relu", negative_slope=0.2).negative_slope == 0.2
    assert make_activation("snakebeta_adaa", 2).adaa


@pytest.mark.parametrize("call,error,text", [
    (lambda: AntiAliasedActivation1d("relu"), TypeError, "activation must be a torch.nn.Module"),
    (lambda: AntiAliasedActivation1d(nn.ReLU(), 0), ValueError, "ratio must be a positive"),
    (lambda: AntiAliasedActivation1d(nn.ReLU(), taps=12), ValueError, "taps must be odd"),
    (lambda: AntiAliasedActivation1d(nn.ReLU(), cutoff=0), ValueError, "cutoff must be in"),
    (lambda: AntiAliasedActivation1d(nn.ReLU(), window="box"), ValueError, "window must be one"),
    (lambda: AntiAliasedActivation1d(nn.ReLU())(torch.randn(3, 4)), ValueError,
     r"x must have shape \(B, C, T\)"),
    (lambda: AntiAliasedActivation1d(nn.ReLU())(torch.randn(1, 1, 8, dtype=torch.complex64)),
     TypeError, "x must be a real floating-point tensor"),
    (lambda: Snake1d(0), ValueError, "channels must be a positive integer"),
    (lambda: SnakeBeta1d(2, beta=-1.0), ValueError, "beta must be in"),
    (lambda: Snake1d(2)(torch.randn(1, 3, 5)), ValueError, "x must have 2 channels"),
    (lambda: make_activation("gelu"), ValueError, "name must be one of"),
    (lambda: make_activation("relu", anti_aliased="yes"), ValueError, "anti_aliased must be"),
    (lambda: make_activation("tanh", slope=1), TypeError, "tanh takes no option slope"),
])
def test_bad_input_is_named(call, error, text):
    with pytest.raises(error, match=text):
        call()
