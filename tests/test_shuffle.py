import numpy as np
import pytest
import torch
from reference import shuffle_loop

from upsamplers import PeriodicShuffle1d, PeriodicUnshuffle1d, periodic_shuffle, periodic_unshuffle

ORDERS = ("channel", "phase")


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("seed", range(6))
def test_shuffle_matches_numpy_loop_on_random_shapes(order, seed):
    rng = np.random.default_rng(seed)
    for factor in range(1, 9):
        batch, channels, time = (int(v) for v in rng.integers(1, 5, size=3))
        x = rng.standard_normal((batch, channels * factor, time))
        y = periodic_shuffle(torch.from_numpy(x), factor, order=order)
        assert y.shape == (batch, channels, time * factor)
        np.testing.assert_array_equal(y.numpy(), shuffle_loop(x, factor, order))


@pytest.mark.parametrize("order", ORDERS)
def test_unshuffle_is_exact_inverse(order):
    gen = torch.Generator().manual_seed(1)
    for factor in range(1, 9):
        x = torch.randn(3, 2 * factor, 7, generator=gen)
        y = periodic_shuffle(x, factor, order=order)
        assert torch.equal(periodic_unshuffle(y, factor, order=order), x)
        z = torch.randn(3, 2, 7 * factor, generator=gen)
        assert torch.equal(periodic_shuffle(periodic_unshuffle(z, factor, order=order), factor,
                                            order=order), z)


def test_orders_differ_and_agree_for_one_output_channel():
    x = torch.arange(12.0).reshape(1, 6, 2)
    # with C = 2 output channels the two conventions pick different input channels
    assert not torch.equal(periodic_shuffle(x, 3, order="channel"),
                           periodic_shuffle(x, 3, order="phase"))
    # with C = 1 they coincide: channel i is phase i
    x1 = torch.arange(6.0).reshape(1, 3, 2)
    assert torch.equal(periodic_shuffle(x1, 3, order="channel"),
                       periodic_shuffle(x1, 3, order="phase"))


@pytest.mark.parametrize("order", ORDERS)
def test_non_contiguous_input(order):
    base = torch.randn(5, 3, 8)  # (B, T, C)
    x = base.transpose(1, 2)  # (B, T, C) -> (B, C, T), not contiguous
    assert not x.is_contiguous()
    y = periodic_shuffle(x, 4, order=order)
    np.testing.assert_array_equal(y.numpy(), shuffle_loop(x.contiguous().numpy(), 4, order))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_float_dtypes(dtype):
    x = torch.randn(2, 6, 5).to(dtype)
    y = periodic_shuffle(x, 3)
    assert y.dtype == dtype
    assert torch.equal(periodic_unshuffle(y, 3), x)


@pytest.mark.parametrize("order", ORDERS)
def test_gradcheck(order):
    x = torch.randn(2, 6, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: periodic_shuffle(t, 3, order=order), (x,))
    z = torch.randn(2, 2, 12, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: periodic_unshuffle(t, 3, order=order), (z,))


def test_modules_wrap_the_functions():
    x = torch.randn(2, 8, 3)
    shuffle, unshuffle = PeriodicShuffle1d(4, order="phase"), PeriodicUnshuffle1d(4, order="phase")
    assert torch.equal(shuffle(x), periodic_shuffle(x, 4, order="phase"))
    assert torch.equal(unshuffle(shuffle(x)), x)
    assert repr(shuffle) == "PeriodicShuffle1d(factor=4, order='phase')"


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: periodic_shuffle(torch.randn(1, 4, 3), 0), ValueError,
         "factor must be a positive integer; received factor=0"),
        (lambda: periodic_shuffle(torch.randn(1, 4, 3), 2.5), TypeError,
         "factor must be a positive integer; received factor=2.5"),
        (lambda: periodic_shuffle(torch.randn(1, 4, 3), True), TypeError,
         "received factor=True"),
        (lambda: periodic_shuffle(torch.randn(1, 5, 3), 2), ValueError,
         r"divisible by factor=2; received 5 channels"),
        (lambda: periodic_shuffle(torch.randn(4, 3), 2), ValueError,
         r"shape \(B, C, T\) \(3 dimensions\); received shape \(4, 3\)"),
        (lambda: periodic_shuffle(torch.randn(1, 4, 0), 2), ValueError,
         r"at least one time step \(T >= 1\); received shape \(1, 4, 0\)"),
        (lambda: periodic_shuffle(torch.ones(1, 4, 3, dtype=torch.int64), 2), TypeError,
         "floating-point tensor; received dtype=torch.int64"),
        (lambda: periodic_shuffle(torch.randn(1, 4, 3), 2, order="time"), ValueError,
         "order must be one of 'channel', 'phase'; received order='time'"),
        (lambda: periodic_shuffle(np.zeros((1, 4, 3)), 2), TypeError,
         "x must be a torch.Tensor of shape \\(B, C, T\\); received ndarray"),
        (lambda: periodic_unshuffle(torch.randn(1, 2, 7), 2), ValueError,
         r"length of x must be divisible by factor=2; received length 7"),
        (lambda: PeriodicShuffle1d(-1), ValueError, "received factor=-1"),
    ],
)
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()
