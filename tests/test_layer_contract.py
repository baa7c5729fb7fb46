"""The contract every upsampler kind meets, parametrized over the registry
(:func:`~upsamplers.layers.upsampler_kinds`) so that a new kind is covered
without a new test: double backward, a second backward through a retained
graph, complex and integer input refused in one line, ``.to(dtype)`` / ``.half()``
/ ``.bfloat16()`` / ``.double()`` / ``.float()`` round trips with half-precision
input computed, and the reach of each input sample equal to the span chunked
inference reads (:func:`~upsamplers.models.chunking.layer_span`).

Every kind runs with each of its ``impl`` values (read from its signature)."""

from __future__ import annotations

import typing

import pytest
import torch

from upsamplers._checks import InvalidType
from upsamplers.layers import make_upsampler, upsampler_kinds
from upsamplers.layers.interpolation import FoldedUpsample1d
from upsamplers.layers.registry import _KINDS
from upsamplers.models.chunking import layer_span

pytestmark = pytest.mark.usefixtures("one_thread")

# (factor, kernel_size): identity factor, the default kernel, a kernel shorter and
# longer than the factor
CONFIGS = [(1, 3), (2, None), (3, 4), (4, 1)]


def _impls(kind: str) -> list[str | None]:
    """``None`` (the default) and every other value of the kind's ``impl`` argument."""
    cls = _KINDS[kind][0]
    hint = typing.get_type_hints(cls.__init__).get("impl")
    return [None, *[v for v in typing.get_args(hint) if v != _default_impl(cls)]]


def _default_impl(cls: type) -> object:
    import inspect

    param = inspect.signature(cls.__init__).parameters.get("impl")
    return None if param is None else param.default


CASES = [(kind, impl) for kind in upsampler_kinds() for impl in _impls(kind)]
IDS = [f"{kind}-{impl or 'default'}" for kind, impl in CASES]


def _layer(kind: str, impl: str | None, factor: int, kernel_size: int | None, *,
           c_in: int = 2, c_out: int = 2, bias: bool = True, seed: int = 0):
    torch.manual_seed(seed)
    options: dict[str, object] = {"bias": bias}
    if impl is not None:
        options["impl"] = impl
    if kernel_size is not None:
        options["kernel_size"] = kernel_size
    return make_upsampler(kind, c_in, c_out, factor, **options)


def _functional(layer):
    names = [n for n, _ in layer.named_parameters()]

    def fn(x, *weights):
        return torch.func.functional_call(layer, dict(zip(names, weights, strict=True)), (x,))

    return fn, tuple(layer.parameters())


def test_every_kind_has_a_case():
    assert {kind for kind, _ in CASES} == set(upsampler_kinds())


# ------------------------------------------------------------------ autograd


@pytest.mark.parametrize(("kind", "impl"), CASES, ids=IDS)
@pytest.mark.parametrize(("factor", "kernel_size"), [(2, None), (3, 4)])
def test_gradgradcheck(kind, impl, factor, kernel_size):
    layer = _layer(kind, impl, factor, kernel_size).double()
    fn, params = _functional(layer)
    x = torch.randn(1, 2, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(fn, (x, *params))
    assert torch.autograd.gradgradcheck(fn, (x, *params))


@pytest.mark.parametrize(("kind", "impl"), CASES, ids=IDS)
def test_a_second_backward_through_a_retained_graph(kind, impl):
    layer = _layer(kind, impl, 3, None).double()
    x = torch.randn(2, 2, 7, dtype=torch.float64, requires_grad=True)
    y = layer(x)
    g = torch.randn_like(y)
    y.backward(g, retain_graph=True)
    first = [t.grad.clone() for t in (x, *layer.parameters())]
    y.backward(g)
    for grad, tensor in zip(first, (x, *layer.parameters()), strict=True):
        torch.testing.assert_close(tensor.grad, 2 * grad, rtol=1e-12, atol=1e-12)
    # and the Jacobian (backward once per output row, through one graph)
    jac = torch.autograd.functional.jacobian(layer, x[:1, :, :3].detach())
    assert jac.shape == (1, 2, 9, 1, 2, 3) and torch.isfinite(jac).all()


# ------------------------------------------------------------------- dtypes


@pytest.mark.parametrize(("kind", "impl"), CASES, ids=IDS)
@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128, torch.int32,
                                   torch.int64, torch.bool])
@pytest.mark.parametrize("layer_dtype", [torch.float32, torch.float64])
def test_complex_and_integer_input_are_refused_in_one_line(kind, impl, dtype, layer_dtype):
    layer = _layer(kind, impl, 2, None).to(layer_dtype)
    x = torch.zeros(1, 2, 6, dtype=dtype)
    with pytest.raises(InvalidType) as caught:
        layer(x)
    message = str(caught.value)
    assert "\n" not in message and str(dtype) in message
    if dtype.is_complex:
        assert "real input" in message
    else:
        assert f"floating-point tensor; received dtype={dtype}" in message


@pytest.mark.parametrize(("kind", "impl"), CASES, ids=IDS)
@pytest.mark.parametrize(("convert", "dtype"), [
    (lambda m: m.half(), torch.float16), (lambda m: m.bfloat16(), torch.bfloat16),
    (lambda m: m.to(torch.float16), torch.float16), (lambda m: m.double(), torch.float64),
    (lambda m: m.to(dtype=torch.float64), torch.float64), (lambda m: m.float(), torch.float32),
], ids=["half", "bfloat16", "to-float16", "double", "to-float64", "float"])
def test_dtype_conversions_compute_in_the_new_dtype(kind, impl, convert, dtype):
    layer = _layer(kind, impl, 3, None)
    x = torch.randn(2, 2, 19)
    reference = _layer(kind, impl, 3, None).double()
    want = reference(x.double()).detach()
    converted = convert(layer)
    assert converted is layer
    assert all(p.dtype == dtype for p in layer.parameters())
    xd = x.to(dtype).requires_grad_(True)
    y = layer(xd)
    assert y.dtype == dtype and y.shape == want.shape
    # rounding of the input, the weights, the sums (and, linear's plain form, of
    # F.interpolate's positions) in that precision: measured up to 4.6 eps (float32,
    # linear x3), 1.4 (float16) and 1.0 (bfloat16)
    eps = torch.finfo(dtype).eps
    scale = want.abs().max()
    assert (y.double() - want).abs().max() <= max(16 * eps, 1e-12) * scale
    y.float().square().sum().backward()
    assert xd.grad is not None and xd.grad.dtype == dtype and torch.isfinite(xd.grad).all()


@pytest.mark.parametrize(("kind", "impl"), CASES, ids=IDS)
def test_a_float_layer_round_trips_through_other_dtypes(kind, impl):
    layer = _layer(kind, impl, 2, None)
    x = torch.randn(1, 2, 11)
    before = layer(x).detach()
    # float -> double -> float is exact; the fixed tables are kept in float64 and
    # converted per dtype, so nothing is lost on the way
    assert torch.equal(layer.double().float()(x), before)
    assert torch.equal(layer.to(torch.float64).to(torch.float32)(x), before)
    # half loses the weights' low bits; the layer still runs in float32 after it
    assert layer.half().float()(x).dtype == torch.float32


# ------------------------------------------------------ reach of one sample

def _blocks(mask: torch.Tensor, factor: int) -> set[int]:
    """The low-rate steps (blocks of ``factor`` outputs) where ``mask`` (B, C, T r) holds."""
    return set((mask.any(0).any(0).nonzero().flatten() // factor).tolist())


def _form(layer, batch: int, time: int) -> str | None:
    return layer.form_for(batch, time) if isinstance(layer, FoldedUpsample1d) else None


@pytest.mark.parametrize(("kind", "impl"), CASES, ids=IDS)
@pytest.mark.parametrize(("factor", "kernel_size"), CONFIGS)
def test_one_sample_reaches_exactly_the_declared_span(kind, impl, factor, kernel_size):
    """A change of input sample ``p`` changes exactly the output blocks whose declared
    span (the one chunked inference reads) holds ``p``, and a NaN there turns those
    blocks NaN. A NaN reaches further only where the layer multiplies it by one of
    its fixed interpolation's exact zeros (the plain and filtered forms of an
    interpolation with a zero tap: linear x3, the sinc's zero crossings), one or two
    steps, which no finite input notices."""
    layer = _layer(kind, impl, factor, kernel_size).double()
    time = 16
    declared_by_p = {}
    for p in range(time):
        declared_by_p[p] = {s for s in range(time)
                            if layer_span((s * factor, s * factor + factor - 1), layer)[0]
                            <= p <= layer_span((s * factor, s * factor + factor - 1), layer)[1]}
    zeros_multiplied = (isinstance(layer, FoldedUpsample1d)
                        and _form(layer, 1, time) in ("naive", "filtered")
                        and bool((layer.phases.taps == 0).any()))
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in range(time):
            x = torch.randn(1, 2, time, dtype=torch.float64, generator=generator)
            bumped = x.clone()
            bumped[0, 1, p] += 1.0
            changed = _blocks(layer(bumped) != layer(x), factor)
            assert changed == declared_by_p[p], p
            x[0, 1, p] = float("nan")
            reached = _blocks(torch.isnan(layer(x)), factor)
            if zeros_multiplied:
                assert reached >= declared_by_p[p], p
            else:
                assert reached == declared_by_p[p], p
