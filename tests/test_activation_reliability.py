"""Every activation (each name of ``make_activation``, plain and in both anti-aliased
forms) held to the reliability rows: double backward (gradgradcheck, a gradient
penalty against the same Snake in plain operations), a second backward and the
Jacobian, float16 / bfloat16 and ``.to(dtype)``, one dtype rule, the reach of a
non-finite sample against the declared ``input_span``, bounds refused before any
allocation, parameters that float32 cannot hold, and the length check of a traced
graph."""

from __future__ import annotations

import copy
import time

import numpy as np
import pytest
import torch
from torch import nn

from upsamplers._checks import InvalidType, InvalidValue
from upsamplers.activations import (
    AntiAliasedActivation1d,
    Snake1d,
    SnakeBeta1d,
    activation_names,
    make_activation,
)
from upsamplers.ops import resample, resample_design
from upsamplers.ops.resample_design import MAX_TABLE_BYTES, alias_free_kaiser_sinc

FORMS = (None, "default", "bigvgan")
EVERY = [(name, form) for name in activation_names() for form in FORMS]
#: the modules of this library (torch's own ReLU, LeakyReLU and Tanh keep torch's
#: dtype rules when used plain)
OURS = [(name, form) for name, form in EVERY if form is not None or name.startswith("snake")]


def build(name: str, form: str | None, *, channels: int = 2, ratio: int = 2,
          dtype: torch.dtype = torch.float64, seed: int = 0) -> nn.Module:
    """The activation, with parameters away from their initial value of one."""
    torch.manual_seed(seed)
    module = make_activation(name, channels, anti_aliased=form, ratio=ratio)
    with torch.no_grad():
        for p in module.parameters():
            p.uniform_(-0.6, 0.6)
    return module.to(dtype)


def ident(case: tuple[str, str | None]) -> str:
    return f"{case[0]}-{case[1] or 'plain'}"


# ---- double backward ----

@pytest.mark.parametrize("case", EVERY, ids=ident)
def test_gradgradcheck(case):
    module = build(*case)
    x = torch.randn(1, 2, 5, dtype=torch.float64, requires_grad=True)
    params = list(module.parameters())

    def run(x, *_):  # the parameters are the module's own tensors, perturbed in place
        return module(x)

    assert torch.autograd.gradcheck(run, (x, *params))
    assert torch.autograd.gradgradcheck(run, (x, *params))


class PlainSnake(nn.Module):
    """A Snake written in plain operations on another Snake's parameters."""

    def __init__(self, snake: Snake1d | SnakeBeta1d) -> None:
        super().__init__()
        self.snake = snake

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.snake.log_alpha.exp().view(1, -1, 1)
        b = a if isinstance(self.snake, Snake1d) else self.snake.log_beta.exp().view(1, -1, 1)
        return x + torch.sin(a * x) ** 2 / (b + 1e-9)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("cls", [Snake1d, SnakeBeta1d])
def test_gradient_penalty_reaches_log_alpha(cls, form):
    """The penalty ``|dy/dx|^2`` differentiated with respect to ``log_alpha``: the same
    value as through the Snake in plain operations (and its phase form), not zero."""
    snake = cls(3, alpha=1.7).double()
    plain = PlainSnake(snake)
    if form is None:
        module, reference = snake, plain
    elif form == "default":
        module = AntiAliasedActivation1d(snake, 2).double()
        reference = AntiAliasedActivation1d(plain, 2).double()._plain
    else:
        module = AntiAliasedActivation1d.bigvgan(snake, 3).double()
        reference = AntiAliasedActivation1d.bigvgan(plain, 3).double()._plain
    x = torch.randn(2, 3, 40, dtype=torch.float64, requires_grad=True)
    found = []
    for run in (module, reference):
        y = run(x)
        (gx,) = torch.autograd.grad(y.sum(), x, create_graph=True)
        assert gx.requires_grad
        penalty = gx.square().sum()
        found.append(torch.autograd.grad(penalty, snake.log_alpha)[0])
    torch.testing.assert_close(found[0], found[1], rtol=1e-9, atol=1e-10)
    assert found[0].abs().min() > 1e-3


# ---- repeated backward, the Jacobian ----

@pytest.mark.parametrize("case", EVERY, ids=ident)
def test_second_backward_and_jacobian(case):
    module = build(*case)
    x = torch.randn(1, 2, 6, dtype=torch.float64, requires_grad=True)
    params = list(module.parameters())
    y = module(x)
    v = torch.randn_like(y)
    first = torch.autograd.grad(y, [x, *params], v, retain_graph=True)
    second = torch.autograd.grad(y, [x, *params], v, retain_graph=True)
    for a, b in zip(first, second, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    (y * v).sum().backward(retain_graph=True)
    (y * v).sum().backward()
    torch.testing.assert_close(x.grad, 2 * first[0], rtol=1e-12, atol=1e-14)
    jacobian = torch.autograd.functional.jacobian(module, x.detach())
    rows = []
    for i in range(y.numel()):  # one fresh graph per output sample
        xi = x.detach().clone().requires_grad_()
        rows.append(torch.autograd.grad(module(xi).flatten()[i], xi)[0])
    torch.testing.assert_close(jacobian.reshape(y.numel(), -1),
                               torch.stack(rows).reshape(y.numel(), -1),
                               rtol=1e-10, atol=1e-12)


# ---- dtypes ----

@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("case", EVERY, ids=ident)
def test_half_precision_input_keeps_its_dtype(case, dtype):
    """float16 / bfloat16 in, the same dtype out, equal to the float32 computation on
    the same (rounded) values to one rounding of the output; also with the module
    itself converted (``.half()``, ``.to(dtype)``)."""
    eps = torch.finfo(dtype).eps
    module = build(*case, dtype=torch.float32)
    x = (2 * torch.randn(2, 2, 50)).to(dtype)
    y = module(x)
    assert y.dtype == dtype
    want = module(x.float())
    torch.testing.assert_close(y.float(), want, rtol=eps, atol=eps)
    converted = module.half() if dtype == torch.float16 else module.to(dtype)
    rounded = copy.deepcopy(converted).float()  # the parameters rounded to dtype
    y = converted(x)
    assert y.dtype == dtype
    torch.testing.assert_close(y.float(), rounded(x.float()), rtol=eps, atol=eps)


@pytest.mark.parametrize("case", EVERY, ids=ident)
def test_to_double_and_back_loses_nothing(case):
    module = build(*case, dtype=torch.float32)
    x = torch.randn(2, 2, 40)
    y = module(x)
    wide = copy.deepcopy(module).double()
    assert all(p.dtype == torch.float64 for p in wide.parameters())
    y64 = wide(x.double())
    assert y64.dtype == torch.float64
    torch.testing.assert_close(y64.float(), y, rtol=1e-5, atol=1e-6)
    assert wide(x).dtype == torch.float32  # the input's dtype, whatever the module's
    back = wide.to(torch.float32)
    torch.testing.assert_close(back(x), y, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128, torch.int32,
                                   torch.int64, torch.bool])
@pytest.mark.parametrize("case", OURS, ids=ident)
def test_one_dtype_rule(case, dtype):
    module = build(*case, dtype=torch.float32)
    x = torch.ones(1, 2, 9).to(dtype)
    with pytest.raises(InvalidType) as error:
        module(x)
    assert str(error.value) == f"x must be a real floating-point tensor; received dtype={dtype}"


# ---- the reach of a non-finite sample ----

def declared_reach(module: nn.Module, position: int, time_: int) -> set[int]:
    """The outputs whose declared input span holds ``position`` (an elementwise module
    without ``input_span`` reads its own sample)."""
    span = getattr(module, "input_span", lambda s: s)
    return {m for m in range(time_) if span((m, m))[0] <= position <= span((m, m))[1]}


def filters(form: str | None):
    """(ratio, taps) of the filters the reach is measured on."""
    if form is None:
        return [(2, None)]
    if form == "default":
        return [(1, None), (2, None), (3, 13), (4, 5), (2, 21)]
    return [(2, 12), (3, 12), (4, 7), (2, 16)]


def with_filter(name: str, form: str | None, ratio: int, taps: int | None) -> nn.Module:
    module = build(name, form)
    if form is None or taps is None:
        return build(name, form, ratio=ratio)
    inner = module.activation
    if form == "default":
        return AntiAliasedActivation1d(inner, ratio, taps=taps).double()
    return AntiAliasedActivation1d.bigvgan(inner, ratio, taps=taps).double()


@pytest.mark.parametrize("case", EVERY, ids=ident)
def test_nan_reach_is_the_declared_span(case):
    """One NaN anywhere (the ends, the middle, each side of a block boundary): the NaN
    outputs are exactly those whose ``input_span`` holds it, in that row only, and the
    other outputs are those of the same input with a finite sample there."""
    time_ = 203
    for ratio, taps in filters(case[1]):
        module = with_filter(*case, ratio, taps)
        block = module.blocks.block if hasattr(module, "blocks") else 8
        x = torch.randn(2, 2, time_, dtype=torch.float64)
        for position in sorted({0, 1, time_ // 2, block - 1, block, 3 * block,
                                time_ - 2, time_ - 1}):
            bad = x.clone()
            bad[1, 0, position] = float("nan")
            y = module(bad)
            measured = set(torch.nonzero(y[1, 0].isnan()).flatten().tolist())
            what = f"{case} ratio={ratio} taps={taps} position={position}"
            assert measured == declared_reach(module, position, time_), what
            others = torch.ones_like(y, dtype=torch.bool)
            others[1, 0, sorted(measured)] = False
            assert torch.isfinite(y[others]).all(), what
            finite = x.clone()
            finite[1, 0, position] = 0.25
            torch.testing.assert_close(y[others], module(finite)[others], rtol=1e-10,
                                       atol=1e-12, msg=what)


@pytest.mark.parametrize("case", OURS, ids=ident)
def test_infinite_samples_stay_within_the_declared_span(case):
    module = build(*case)
    x = torch.randn(1, 2, 120, dtype=torch.float64)
    for position, value in ((0, float("inf")), (60, float("-inf")), (119, float("inf"))):
        bad = x.clone()
        bad[0, 1, position] = value
        y = module(bad)
        measured = set(torch.nonzero(~torch.isfinite(y[0, 1])).flatten().tolist())
        assert measured <= declared_reach(module, position, 120)
        assert torch.isfinite(y[0, 0]).all()


# ---- bounds, checked before any allocation ----

@pytest.mark.parametrize(("call", "text"), [
    (lambda: AntiAliasedActivation1d(nn.ReLU(), 10 ** 4),
     r"received ratio=10000, taps=None \(estimated 250923 from transition=0.4"),
    (lambda: AntiAliasedActivation1d(nn.ReLU(), 10 ** 6), "received ratio=1000000, taps=None"),
    (lambda: AntiAliasedActivation1d(nn.ReLU(), 10 ** 30), "received ratio=10{30}, taps=None"),
    (lambda: AntiAliasedActivation1d(nn.ReLU(), 2, taps=10 ** 7 + 1),
     "received ratio=2, taps=10000001$"),
    (lambda: AntiAliasedActivation1d(nn.ReLU(), 2, taps=10 ** 5 + 1),
     "received ratio=2, taps=100001$"),
    (lambda: AntiAliasedActivation1d(nn.ReLU(), 2, taps=10 ** 5 + 1, window="hann"),
     "received ratio=2, taps=100001$"),
    (lambda: AntiAliasedActivation1d(nn.ReLU(), 2, transition=1e-9),
     r"from transition=1e-09, attenuation_db=80.0\)"),
    (lambda: AntiAliasedActivation1d(nn.ReLU(), 2, transition=1e-320),
     r"from transition=1e-320, attenuation_db=80.0\)"),
    (lambda: AntiAliasedActivation1d(nn.ReLU(), 2, transition=1e-3, attenuation_db=300),
     r"estimated \d+ from transition=0.001, attenuation_db=300.0\)"),
    (lambda: AntiAliasedActivation1d(nn.ReLU(), 64, transition=0.05, attenuation_db=200),
     "received ratio=64, taps=None"),
    (lambda: AntiAliasedActivation1d.bigvgan(nn.ReLU(), 2, taps=10 ** 7),
     r"received ratio=2, taps=10000000 \(bigvgan\)"),
    (lambda: AntiAliasedActivation1d.bigvgan(nn.ReLU(), 3 * 10 ** 5),
     r"received ratio=300000, taps=12 \(bigvgan\)"),
    (lambda: make_activation("snake", 2, anti_aliased="default", ratio=10 ** 5),
     "received ratio=100000, taps=None"),
    (lambda: make_activation("relu", anti_aliased="bigvgan", ratio=10 ** 6),
     "received ratio=1000000, taps=12"),
])
def test_tables_over_the_limit_are_refused_at_once(call, text):
    start = time.perf_counter()
    with pytest.raises(InvalidValue, match=text) as error:
        call()
    assert time.perf_counter() - start < 5
    message = str(error.value)
    assert "\n" not in message and f"within {MAX_TABLE_BYTES >> 20} MiB" in message


def test_configurations_near_the_limit_are_built_and_run():
    """The largest tables admitted are built from vectorised loops (ratio 4096 at the
    default filter: 118 MiB), and the long BigVGAN filters stay finite (``np.kaiser``
    gave NaN from 1498 taps at ratio 2)."""
    for module in (AntiAliasedActivation1d(nn.Tanh(), 4096),
                   AntiAliasedActivation1d(nn.Tanh(), 2, taps=2049),
                   AntiAliasedActivation1d.bigvgan(nn.Tanh(), 2, taps=2000)):
        assert resample_design.table_bytes(module.ratio, module.tables.up.shape[1],
                                    0, 0) <= MAX_TABLE_BYTES
        y = module(torch.randn(1, 1, 64))
        assert torch.isfinite(y).all() and torch.isfinite(module.block_down).all()
    for ratio, taps in ((2, 1498), (2, 2800), (4, 2995)):
        h = alias_free_kaiser_sinc(0.5 / ratio, 0.6 / ratio, taps)
        assert np.isfinite(h).all() and abs(h.sum() - 1) < 1e-12


@pytest.mark.parametrize("seed", range(4))
def test_table_bytes_is_the_size_of_what_is_built(seed):
    rng = np.random.default_rng(seed)
    for _ in range(20):
        ratio, taps = int(rng.integers(1, 9)), int(rng.integers(1, 80))
        delays = ((taps // 2, taps // 2) if taps % 2 else
                  ((taps - ratio) // 2, taps // 2 - 1))
        h = np.ones(taps)
        tables = resample_design.resample_tables(ratio, h, delays[0], h, delays[1])
        blocks = resample.block_matrices(tables, h, delays[1])
        built = 2 * taps + sum(a.size for a in (tables.up, tables.down, tables.up_left,
                                                tables.up_right, tables.down_left,
                                                tables.down_right, blocks.up, blocks.down))
        assert resample_design.table_bytes(ratio, taps, *delays) == 8 * built


# ---- parameters and options ----

@pytest.mark.parametrize(("call", "text"), [
    (lambda: Snake1d(2, alpha=1e39), r"alpha must be in \[1.175e-38, 3.403e\+38\].*"
                                     r"received alpha=1e\+39$"),
    (lambda: Snake1d(2, alpha=1e-39), "received alpha=1e-39$"),
    (lambda: SnakeBeta1d(2, beta=1e39), "received beta=1e\\+39$"),
    (lambda: SnakeBeta1d(2, alpha=1e-45), "received alpha=1e-45$"),
    (lambda: make_activation("snakebeta_adaa", 2, beta=4e38), "received beta=4e\\+38$"),
    (lambda: make_activation("snake", 2, anti_aliased="bigvgan", alpha=1e39),
     "received alpha=1e\\+39$"),
])
def test_parameters_float32_cannot_hold_are_refused(call, text):
    with pytest.raises(InvalidValue, match=text):
        call()


def test_parameters_at_the_ends_of_the_range_give_finite_outputs():
    x = torch.linspace(-1, 1, 20).view(1, 1, 20)
    for alpha in (1.2e-38, 1e38):
        for module in (Snake1d(1, alpha=alpha), SnakeBeta1d(1, alpha=alpha, beta=alpha)):
            assert torch.isfinite(module(x)).all()


@pytest.mark.parametrize(("name", "options", "text"), [
    ("snakebeta_adaa", {"adaa": False}, r"snakebeta_adaa takes no option adaa \(its options: "
                                         r"alpha, beta, trainable\); received options="),
    ("snake", {"beta": 2.0}, "snake takes no option beta"),
    ("relu", {"alpha": 2.0}, r"relu takes no option alpha \(its options: none\)"),
])
def test_options_a_name_does_not_take_are_named(name, options, text):
    with pytest.raises(InvalidType, match=text):
        make_activation(name, 2, **options)


# ---- traced graphs ----

@pytest.mark.parametrize(("name", "form", "ratio"), [
    ("tanh", "default", 2), ("snakebeta_adaa", "default", 3), ("snake", "bigvgan", 2),
    ("leaky_relu", "bigvgan", 4), ("relu", "default", 1)])
def test_traced_module_checks_its_length(name, form, ratio):
    module = build(name, form, ratio=ratio, dtype=torch.float32)
    with pytest.warns(DeprecationWarning):  # torch.jit.trace is deprecated in torch 2.10+
        traced = torch.jit.trace(module, torch.randn(1, 2, 100))
    shortest = module.min_traced_length
    x = torch.randn(1, 2, shortest)
    torch.testing.assert_close(traced(x), module(x), rtol=1e-5, atol=2e-6)
    if shortest > 1:
        with pytest.raises(torch.jit.Error) as error:
            traced(torch.randn(1, 2, shortest - 1))
        assert str(error.value).splitlines()[-1] == (
            f"builtins.ValueError: x must have at least {shortest} time steps in a traced "
            f"AntiAliasedActivation1d (the filters' reach; torch.jit.script takes any length); "
            f"received T={shortest - 1}")
