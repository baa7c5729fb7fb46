"""The inverse-STFT head (``make_upsampler("istft", ...)``): against a numpy loop and a
naive torch composition (``torch.fft.irfft`` per frame), forward and backward, on
random shapes; against ``torch.istft`` on STFT spectra; its phase kernels; the lines
it leaves at the frame rate when the window and hop miss the overlap-add condition."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from reference import istft_loop

from upsamplers import ISTFTUpsample1d, make_upsampler, polyphase_forward
from upsamplers._checks import InvalidType, InvalidValue
from upsamplers.analysis.lines import tone_measures

pytestmark = pytest.mark.usefixtures("one_thread")


def _window(name: str, n: int) -> np.ndarray:
    """The periodic windows, written out here (not the package's)."""
    phase = 2 * np.pi * np.arange(n) / n
    return {"hann": 0.5 - 0.5 * np.cos(phase), "sqrt_hann": np.sqrt(0.5 - 0.5 * np.cos(phase)),
            "hamming": 0.54 - 0.46 * np.cos(phase), "rectangular": np.ones(n)}[name]


def _case(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    factor = int(rng.integers(1, 5))
    window = str(rng.choice(["hann", "sqrt_hann", "hamming", "rectangular"]))
    zeros = 1 if window in ("hann", "sqrt_hann") else 0  # the periodic Hann's w[0] = 0
    return {"factor": factor, "kernel_size": int(rng.integers(1, 6)),
            "n_fft": int(rng.integers(factor + zeros, 5 * factor + 3)), "window": window,
            "normalize": bool(rng.integers(2)), "c_in": int(rng.integers(1, 4)),
            "c_out": int(rng.integers(1, 4)), "time": int(rng.integers(1, 13))}


def _layer(case: dict) -> ISTFTUpsample1d:
    layer = make_upsampler("istft", case["c_in"], case["c_out"], case["factor"],
                           kernel_size=case["kernel_size"], n_fft=case["n_fft"],
                           window=case["window"], normalize=case["normalize"], bias=True)
    with torch.no_grad():
        layer.bias.normal_()
    return layer.double()


def _naive(x, weight, bias, factor, window, normalize):
    """The head as a naive torch composition: the spectra step by step (zero-extended
    input), ``torch.fft.irfft`` of each frame, the window, a scatter-add, the division
    by the window-square overlap-add."""
    n, k_size = len(window), weight.shape[-1]
    left, bins = (k_size - 1) // 2, n // 2 + 1
    batch, _, time = x.shape
    c_out = weight.shape[0] // n
    win = torch.as_tensor(window)
    y = torch.zeros(batch, c_out, time * factor, dtype=x.dtype)
    env = torch.zeros(time * factor, dtype=x.dtype)
    for t in range(-n - k_size, time + n + k_size):
        spec = torch.zeros(batch, weight.shape[0], dtype=x.dtype)
        for k in range(k_size):
            if 0 <= t + k - left < time:
                spec = spec + x[:, :, t + k - left] @ weight[:, :, k].T
        spec = spec.reshape(batch, c_out, n)
        imag = F.pad(spec[..., bins:], (1, 2 * bins - n - 1))  # DC (and Nyquist) imag = 0
        frame = torch.fft.irfft(torch.complex(spec[..., :bins], imag), n) * win
        for q in range(n):
            m = t * factor + q - n // 2
            if 0 <= m < time * factor:
                env[m] += window[q] ** 2
                y = y + F.one_hot(torch.tensor(m), time * factor).to(x.dtype) * frame[..., q:q + 1]
    if normalize:
        y = y / env
    return y + bias[:, None]


@pytest.mark.parametrize("seed", range(8))
def test_matches_a_numpy_loop_and_a_naive_composition_forward_and_backward(seed):
    case = _case(seed)
    layer = _layer(case)
    window = _window(case["window"], case["n_fft"])
    x = torch.randn(2, case["c_in"], case["time"], dtype=torch.float64,
                    generator=torch.Generator().manual_seed(seed), requires_grad=True)
    y = layer(x)
    assert y.shape == (2, case["c_out"], case["time"] * case["factor"])
    weight, bias = layer.conv.weight, layer.bias
    want = istft_loop(x.detach().numpy(), weight.detach().numpy(), bias.detach().numpy(),
                      case["factor"], window, case["normalize"])
    np.testing.assert_allclose(y.detach().numpy(), want, rtol=1e-10, atol=1e-10)
    naive = _naive(x, weight, bias, case["factor"], window, case["normalize"])
    torch.testing.assert_close(y, naive, rtol=1e-10, atol=1e-10)
    g = torch.randn_like(y)
    grads = torch.autograd.grad(y, (x, weight, bias), g)
    naive_grads = torch.autograd.grad(naive, (x, weight, bias), g)
    for got, expected in zip(grads, naive_grads, strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(("factor", "n_fft", "window"),
                         [(4, 16, "hann"), (3, 12, "hann"), (2, 8, "hamming"), (5, 16, "hann")])
def test_stft_spectra_come_back_as_torch_istft_and_as_the_signal(factor, n_fft, window):
    """The layer as a head whose convolution passes STFT coefficients through (``C_in =
    n_fft``, identity weights, ``kernel_size=1``): in the middle, where every frame is
    present, it is ``torch.istft`` of them and the analysed signal itself."""
    torch.manual_seed(factor)
    signal = torch.randn(1, 40 * factor, dtype=torch.float64)
    win = torch.as_tensor(_window(window, n_fft))
    spec = torch.stft(signal, n_fft, factor, window=win, center=True, return_complex=True,
                      pad_mode="constant")  # (1, N // 2 + 1, T)
    bins = n_fft // 2 + 1
    x = torch.cat([spec.real, spec.imag[:, 1:1 + n_fft - bins]], dim=1)  # (1, N, T)
    layer = make_upsampler("istft", n_fft, 1, factor, kernel_size=1, n_fft=n_fft,
                           window=window).double()
    with torch.no_grad():
        layer.conv.weight.copy_(torch.eye(n_fft, dtype=torch.float64)[:, :, None])
    y = layer(x)[:, 0]  # (1, T * factor)
    time = spec.shape[-1]
    assert y.shape[-1] == time * factor
    reference = torch.istft(spec, n_fft, factor, window=win, center=True,
                            length=signal.shape[-1])
    inner = slice(n_fft, signal.shape[-1] - n_fft)  # every frame there, in both
    torch.testing.assert_close(y[:, inner], reference[:, inner], rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(y[:, inner], signal[:, inner], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("seed", range(6))
def test_phase_kernels_reproduce_the_layer_and_count_its_taps(seed):
    case = _case(100 + seed)
    layer = _layer(case)
    x = torch.randn(2, case["c_in"], 11, dtype=torch.float64)
    kernels = layer.phase_kernels()
    assert layer.end_effects is None
    torch.testing.assert_close(polyphase_forward(x, kernels), layer(x), rtol=1e-10, atol=1e-10)
    # the taps counted are the non-zero span of each phase's kernel
    weight = kernels.weight.detach()
    support = 0
    for i in range(case["factor"]):
        nonzero = weight[i].abs().sum(dim=(0, 1)).nonzero().flatten()
        support += int(nonzero[-1] - nonzero[0] + 1)
    assert layer.phase_taps() == support
    support_of_window = int((_window(case["window"], case["n_fft"]) != 0).sum())
    assert layer.macs_per_input_sample() == case["c_out"] * case["n_fft"] * (
        case["c_in"] * case["kernel_size"] + support_of_window)
    # differentiable in the weights
    kernels.weight.sum().backward()
    assert layer.conv.weight.grad is not None and layer.conv.weight.grad.abs().sum() > 0


def _stationary_head(factor: int, n_fft: int, window: str, normalize: bool) -> ISTFTUpsample1d:
    """A head whose spectrum, for a constant input ``c``, is the STFT of the constant ``c``
    with the same window: ``c * rfft(w)``; each frame is then ``c * w**2``."""
    layer = make_upsampler("istft", 1, 1, factor, kernel_size=1, n_fft=n_fft, window=window,
                           normalize=normalize)
    spectrum = np.fft.rfft(_window(window, n_fft))
    bins = n_fft // 2 + 1
    rows = np.concatenate([spectrum.real, spectrum.imag[1:1 + n_fft - bins]])
    with torch.no_grad():
        layer.conv.weight.copy_(torch.as_tensor(rows, dtype=torch.float32)[:, None, None])
    return layer


def test_a_window_and_hop_off_the_overlap_add_condition_leave_frame_rate_lines():
    """Hann at ``n_fft = 2 * hop``: the frames ``w**2`` add up to ``0.75 + 0.25 cos(2 pi
    n / hop)``, a line at ``fs / hop`` at ``10 log10(0.25**2 / 2 / (0.75**2 + 0.25**2 /
    2)) = -12.79 dB`` re the output power on a constant; the normalised head divides
    it out; Hann at ``n_fft = 4 * hop`` adds up to the constant 1.5 either way."""
    fs, hop = 16000, 8
    raw = tone_measures(_stationary_head(hop, 2 * hop, "hann", False), fs, hop,
                        seconds=0.25, in_channels=1)
    line = raw.constant_db_re_rms
    assert line.frequency_hz == pytest.approx(fs / hop)
    assert line.db == pytest.approx(10 * np.log10(0.25 ** 2 / 2 / (0.75 ** 2 + 0.25 ** 2 / 2)),
                                    abs=0.05)
    for head in (_stationary_head(hop, 2 * hop, "hann", True),
                 _stationary_head(hop, 4 * hop, "hann", False),
                 _stationary_head(hop, 4 * hop, "hann", True)):
        flat = tone_measures(head, fs, hop, seconds=0.25, in_channels=1).constant_db_re_rms
        assert flat.db is None and "no line above float rounding" in flat.note
    # a rectangular window of 3 samples at hop 2: one sample in two gets two frames
    uneven = tone_measures(_stationary_head(2, 3, "rectangular", False), fs, 2, seconds=0.25,
                           in_channels=1).constant_db_re_rms
    # the sum alternates 1, 2: a line at fs / 2 of power 0.5**2 re 1.5**2 + 0.5**2
    assert uneven.frequency_hz == pytest.approx(fs / 2)
    assert uneven.db == pytest.approx(10 * np.log10(0.25 / 2.5), abs=0.05)
    evened = tone_measures(_stationary_head(2, 3, "rectangular", True), fs, 2, seconds=0.25,
                           in_channels=1).constant_db_re_rms
    assert evened.db is None and "no line above float rounding" in evened.note


def test_a_learned_spectrum_has_phases_of_its_own():
    """At default initialisation each phase has its own kernel (``learned_phases``): the
    phases' DC gains differ, and a constant input leaves lines at the frame rate even
    with a window and hop that hold the overlap-add condition."""
    torch.manual_seed(0)
    layer = make_upsampler("istft", 1, 1, 4)
    gains = layer.phase_kernels().dc_gains().detach()
    assert layer.learned_phases and float(gains.max() - gains.min()) > 1e-3
    line = tone_measures(layer, 16000, 4, seconds=0.25, in_channels=1).constant_db_re_rms
    assert line.db is not None and line.db > -60


@pytest.mark.parametrize(("options", "error", "text"), [
    ({"n_fft": 3}, InvalidValue, "the 'hann' window of n_fft=3 has 2; received n_fft=3"),
    ({"n_fft": 0}, InvalidValue, "received n_fft=0"),
    ({"n_fft": 8.0}, InvalidType, "received n_fft=8.0"),
    ({"n_fft": 2 ** 14}, InvalidValue, "fixed iSTFT tables"),
    ({"window": "kaiser"}, InvalidValue, "received window='kaiser'"),
    ({"normalize": "yes"}, InvalidType, "received normalize='yes'"),
])
def test_bad_options_are_refused_naming_them(options, error, text):
    with pytest.raises(error, match=None) as caught:
        make_upsampler("istft", 1, 1, 4, **options)
    assert text in str(caught.value)


def test_rectangular_window_at_n_fft_equal_factor_is_plain_frames():
    """A rectangular window with ``n_fft = factor`` places frames side by side: no
    overlap, envelope 1, the layer is a subpixel convolution whose phases are the
    inverse DFT of the coefficients."""
    layer = make_upsampler("istft", 2, 1, 4, n_fft=4, window="rectangular", kernel_size=1)
    x = torch.randn(1, 2, 5)
    spectra = F.conv1d(x, layer.conv.weight)  # (1, 4, 5)
    frames = torch.fft.irfft(torch.complex(spectra[:, :3], F.pad(spectra[:, 3:], (0, 0, 1, 1))),
                             4, dim=1)  # (1, 4, 5): sample n of frame t
    # frame t covers outputs 4 t - 2 .. 4 t + 1 (centred): output 4 t + i is frame
    # t's sample i + 2 for i < 2, frame t + 1's sample i - 2 otherwise
    want = torch.zeros(1, 20)
    for t in range(5):
        for n in range(4):
            m = 4 * t + n - 2
            if 0 <= m < 20:
                want[0, m] = frames[0, n, t]
    torch.testing.assert_close(layer(x)[:, 0], want, rtol=1e-5, atol=1e-6)
