"""Reproduce the figures of Pons et al. 2021 ("Upsampling artifacts in neural
audio synthesis", ICASSP, arXiv 2010.14356) as measured numbers.

Every figure is rebuilt with PyTorch's default initialisation after
``torch.manual_seed(seed)``, run on its probe, and measured with this package's
instruments: a table of tones / notches / responses, a list of checks (the
paper's claim, the measured number, the bar), and a spectrogram PNG when an
output folder is given. The stacks are small private ``torch.nn`` modules built
here (scaled down to run in seconds on a CPU):

* ``fig7``: three subpixel layers (``Conv1d(1, 2, 3, padding=1)`` with bias +
  shuffle x2), ones at 4 kHz;
* ``fig8``: three ``ConvTranspose1d(1, 1, 4, stride=2, padding=1)`` with bias,
  ones at 4 kHz (left); three linear interpolations x2, white noise at 4 kHz
  (right);
* ``fig6``: (nearest | linear) x2 + ``Conv1d(1, 1, 9, padding=4)``, three times,
  at 4 kHz; nearest fed a synthetic music-like signal, linear fed white noise;
* ``fig5``: ``ConvTranspose1d(1, 1, 8)`` with stride 6 (partial overlap) and 4
  (full overlap), weights all ones or default-random, no bias, ones input;
* ``fig9`` (also Fig. 1): a MelGAN-like generator at 22.05 kHz (kernels 16, 16,
  4, 4; strides 8, 8, 2, 2; channels 128 -> 64 -> 32 -> 16 -> 8, LeakyReLU 0.2;
  the residual stacks left out) and a Demucs-like decoder at 44.1 kHz (6 x
  [Conv1d(c, 2c, 3) + GLU + ConvTranspose1d(c, c/2, 8, stride 4) + ReLU],
  channels 128 -> 4 -> 1, no ReLU after the last), fed white noise at their
  input rates; variants: ``modified`` (no biases; only the activation after the
  first layer kept), Demucs ``nearest`` (nearest x4 + Conv1d(7)) and
  ``subpixel`` (Conv1d(3) to 4x channels + shuffle).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import signal as sps

from .._checks import InvalidValue
from .._io import atomic_write_text, plain
from ._validate import check_int, check_positive_float
from .plots import marked_frequencies, save_figure, spectrogram_png
from .replicas import replica_energy
from .response import (
    filtering_summary,
    interpolation_response,
    measure_response,
    sinc_response,
    zero_stuff,
)
from .spectrum import db, welch_spectrum
from .tones import find_tones

#: The paper's bar: an expected tone is at least this far above its local floor.
TONE_BAR_DB = 30.0
DEFAULT_SEED = 0
#: The files :func:`save` writes (besides the PNGs that ``out=`` asks for).
OUTPUT_NAMES = ("figures.md", "figures.json")
#: Welch segment of the Fig. 9 analysis (see :func:`fig9`).
FIG9_NPERSEG = 1 << 16
#: The longest Fig. 9 output (s): the models run on it whole, about 50 MiB of
#: memory and 0.7 s of one CPU core per second of output.
FIG9_MAX_SECONDS = 120.0


def _check_fig9(seconds: Any, nperseg: Any) -> tuple[float, int]:
    """``seconds`` and ``nperseg`` of :func:`fig9`, or one clear error: the
    MelGAN-like output (22.05 kHz) must hold one Welch segment, and its length is
    bounded by :data:`FIG9_MAX_SECONDS`."""
    nperseg = check_int("nperseg", nperseg, minimum=256)
    seconds = check_positive_float("seconds", seconds)
    shortest = nperseg / 22050.0
    if not shortest <= seconds <= FIG9_MAX_SECONDS:
        raise InvalidValue(
            f"seconds must be between {shortest:.3g} s (one nperseg={nperseg} segment at "
            f"22050 Hz) and {FIG9_MAX_SECONDS:g} s (upsamplers.analysis.figures."
            f"FIG9_MAX_SECONDS); received seconds={seconds!r}")
    return seconds, nperseg


@dataclass
class Check:
    """One claim of the paper, measured: ``passed`` when ``measured`` meets ``bar``."""

    claim: str
    measured: str
    bar: str
    passed: bool


@dataclass
class FigureResult:
    """A reproduced figure: ``rows`` (a table of measured numbers), ``checks``, PNGs."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    checks: list[Check]
    pngs: list[Path] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def to_markdown(self) -> str:
        lines = [f"## {self.name}: {self.title}", "",
                 "| " + " | ".join(self.columns) + " |",
                 "|" + "---|" * len(self.columns)]
        for row in self.rows:
            lines.append("| " + " | ".join(_fmt(v) for v in row) + " |")
        lines += ["", "| claim | measured | bar | ok |", "|---|---|---|---|"]
        for c in self.checks:
            lines.append(f"| {c.claim} | {c.measured} | {c.bar} | {'yes' if c.passed else 'NO'} |")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "columns": self.columns,
                "rows": [[plain(v, infinities=True) for v in row] for row in self.rows],
                "checks": [vars(c) for c in self.checks], "passed": self.passed,
                "pngs": [str(p) for p in self.pngs]}


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "-inf" if v == -math.inf else f"{v:.6g}" if abs(v) >= 100 else f"{v:.2f}"
    return str(v)


# ----------------------------------------------------------------------------- stacks


def _torch() -> Any:
    import torch

    return torch


def _run(module: Any, x: np.ndarray) -> np.ndarray:
    """``(C, T)`` numpy -> module -> ``(C_out, T_out)`` numpy, in float64.

    The stacks run in float64: at default initialisation a deep stack attenuates
    white noise by 100 dB or more while its biases keep a DC offset, and in float32
    the noise (and the notches in it) would sink under the rounding floor."""
    torch = _torch()
    module = module.double()
    with torch.no_grad():
        y = module(torch.as_tensor(x, dtype=torch.float64)[None])
    return y[0].numpy()


def _stages(layers: Sequence[Any]) -> Callable[[np.ndarray], list[np.ndarray]]:
    """Run ``layers`` one after the other; return every stage's output."""
    def run(x: np.ndarray) -> list[np.ndarray]:
        outs = []
        for layer in layers:
            x = _run(layer, x)
            outs.append(x)
        return outs
    return run


def _subpixel_stage(c_in: int, c_out: int, factor: int, kernel: int, bias: bool) -> Any:
    torch = _torch()
    from ..layers import PeriodicShuffle1d

    return torch.nn.Sequential(
        torch.nn.Conv1d(c_in, c_out * factor, kernel, padding=kernel // 2, bias=bias),
        PeriodicShuffle1d(factor))


def _interp_stage(mode: str, c_in: int, c_out: int, factor: int, kernel: int,
                  bias: bool = True) -> Any:
    torch = _torch()
    up = (torch.nn.Upsample(scale_factor=factor, mode="nearest") if mode == "nearest" else
          torch.nn.Upsample(scale_factor=factor, mode="linear", align_corners=False))
    return torch.nn.Sequential(up, torch.nn.Conv1d(c_in, c_out, kernel, padding=kernel // 2,
                                                   bias=bias))


def _Residual(dim: int, dilation: int, bias: bool, act: Callable[[], Any]) -> Any:
    """A MelGAN residual block: ``x -> shortcut(x) + block(x)``, ``(B, C, T) -> (B, C, T)``."""
    torch = _torch()
    nn = torch.nn

    class Residual(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block = nn.Sequential(
                act(), nn.Conv1d(dim, dim, 3, dilation=dilation, padding=dilation, bias=bias),
                act(), nn.Conv1d(dim, dim, 1, bias=bias))
            self.shortcut = nn.Conv1d(dim, dim, 1, bias=bias)

        def forward(self, x: Any) -> Any:
            return self.shortcut(x) + self.block(x)

    return Residual()


def melgan_like(*, modified: bool = False, mel_channels: int = 80,
                channels: Sequence[int] = (128, 64, 32, 16, 8),
                residual: bool = True) -> Any:
    """MelGAN-like generator: ``(B, 80, T) -> (B, 1, 256 T)``, factors 8, 8, 2, 2.

    ``Conv1d(80, c0, 7)``, then per stage LeakyReLU(0.2) + ``ConvTranspose1d`` +
    (``residual``) three residual blocks with dilations 1, 3, 9 (LeakyReLU +
    Conv1d(3, dilation) + LeakyReLU + Conv1d(1), plus a Conv1d(1) shortcut), then
    LeakyReLU + ``Conv1d(c4, 1, 7)`` + Tanh. ``modified``: no biases, and only the
    activation after the first convolution is kept.
    """
    torch = _torch()
    nn = torch.nn
    bias = not modified

    def act() -> Any:
        return nn.Identity() if modified else nn.LeakyReLU(0.2)

    strides, kernels = (8, 8, 2, 2), (16, 16, 4, 4)
    layers: list[Any] = [nn.Conv1d(mel_channels, channels[0], 7, padding=3, bias=bias),
                         nn.LeakyReLU(0.2)]
    for i, (s, k) in enumerate(zip(strides, kernels, strict=True)):
        if i > 0:
            layers.append(act())
        layers.append(nn.ConvTranspose1d(channels[i], channels[i + 1], k, stride=s,
                                         padding=s // 2 + s % 2, output_padding=s % 2,
                                         bias=bias))
        if residual:
            layers += [_Residual(channels[i + 1], d, bias, act) for d in (1, 3, 9)]
    layers += [act(), nn.Conv1d(channels[-1], 1, 7, padding=3, bias=bias), nn.Tanh()]
    return nn.Sequential(*layers)


def demucs_like(*, variant: str = "transposed", channels: Sequence[int] = (128, 64, 32, 16, 8, 4),
                out_channels: int = 1) -> Any:
    """Demucs-like decoder: ``(B, 128, T) -> (B, 1, 4096 T)``, six x4 stages.

    ``variant``: ``"transposed"`` (Demucs), ``"modified"`` (no biases, only the
    first stage's ReLU), ``"nearest"`` (nearest x4 + Conv1d(7)), ``"subpixel"``.
    """
    torch = _torch()
    nn = torch.nn
    bias = variant != "modified"
    layers: list[Any] = []
    outs = list(channels[1:]) + [out_channels]
    for i, (c, o) in enumerate(zip(channels, outs, strict=True)):
        layers += [nn.Conv1d(c, 2 * c, 3, padding=1, bias=bias), nn.GLU(dim=1)]
        if variant in ("transposed", "modified"):
            layers.append(nn.ConvTranspose1d(c, o, 8, stride=4, padding=2, bias=bias))
        elif variant == "nearest":
            layers.append(_interp_stage("nearest", c, o, 4, 7))
        elif variant == "subpixel":
            layers.append(_subpixel_stage(c, o, 4, 3, True))
        else:
            raise InvalidValue("variant must be one of 'transposed', 'modified', 'nearest', "
                               f"'subpixel'; received variant={variant!r}")
        last = i == len(channels) - 1
        if not last and (variant != "modified" or i == 0):
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


# ----------------------------------------------------------------------------- helpers


def _tone_rows(label: str, signal: np.ndarray, fs: float, factors: tuple[int, ...],
               expected: Sequence[float], checks: list[Check], *, claim: str) -> list[list[Any]]:
    ta = find_tones(signal, fs, factors)
    rows = []
    for f0 in expected:
        t = ta.tone_at(f0)
        within = abs(t.measured_frequency - f0) <= ta.bin_width * (1 + 1e-9)
        rows.append([label, f0, t.measured_frequency, t.level_db, t.relative_db])
        checks.append(Check(f"{label}: {claim} at {f0:g} Hz",
                            f"{t.level_db:.1f} dB above floor at {t.measured_frequency:g} Hz",
                            f">= {TONE_BAR_DB:g} dB, within one bin ({ta.bin_width:.3g} Hz)",
                            within and t.level_db >= TONE_BAR_DB))
    return rows


def _no_tones_check(label: str, signal: np.ndarray, fs: float, factors: tuple[int, ...],
                    checks: list[Check]) -> Any:
    ta = find_tones(signal, fs, factors)
    top = max(ta.tones, key=lambda t: t.level_db)
    checks.append(Check(f"{label}: no tone", f"{len(ta.found)} found; highest "
                        f"{top.level_db:.1f} dB at {top.frequency:g} Hz",
                        f"none >= {ta.threshold_db:g} dB above floor", not ta.found))
    return ta


def _png(out: Path | None, name: str, signal: np.ndarray, fs: float, factors: Sequence[int],
         title: str) -> list[Path]:
    if out is None:
        return []
    return [spectrogram_png(out / f"{name}.png", signal, fs, title=title,
                            marks=marked_frequencies(fs, factors))]


# ----------------------------------------------------------------------------- figures


def fig7(*, seed: int = 0, out: Path | None = None) -> FigureResult:
    """Three subpixel layers x2 (Conv1d 1->2, kernel 3, bias), ones at 4 kHz."""
    torch = _torch()
    torch.manual_seed(seed)
    stages = [_subpixel_stage(1, 1, 2, 3, True) for _ in range(3)]
    return _tonal_stack("fig7", "subpixel x2, three layers, ones at 4 kHz: tones", stages,
                        out)


def _tonal_stack(name: str, title: str, stages: list[Any], out: Path | None,
                 n_in: int = 4096, trim_in: int = 16) -> FigureResult:
    outs = _stages(stages)(np.ones((1, n_in)))
    rows, checks, pngs = [], [], []
    expected = {1: [4000.0], 2: [4000.0, 8000.0], 3: [4000.0, 8000.0, 12000.0, 16000.0]}
    for layer, y in enumerate(outs, start=1):
        fs = 4000.0 * 2**layer
        trim = trim_in * 2**layer
        y = y[:, trim:-trim]
        rows += _tone_rows(f"layer {layer} ({fs / 1000:g} kHz)", y, fs, (2,) * layer,
                           expected[layer], checks, claim="tone")
        pngs += _png(out, f"{name}_layer{layer}", y[0], fs, (2,) * layer,
                     f"{name} layer {layer}")
    return FigureResult(name, title, ["layer", "expected (Hz)", "measured (Hz)",
                                      "dB above floor", "dB re total"], rows, checks, pngs)


def fig8(*, seed: int = 0, out: Path | None = None) -> FigureResult:
    """Left: three ConvTranspose1d(1, 1, 4, stride 2, bias), ones at 4 kHz: tones.
    Right: linear interpolation x2 three times, white noise at 4 kHz: sinc^2, notches."""
    torch = _torch()
    torch.manual_seed(seed)
    stages = [torch.nn.ConvTranspose1d(1, 1, 4, stride=2, padding=1) for _ in range(3)]
    left = _tonal_stack("fig8_left", "", stages, out)
    rows = [["left: " + r[0]] + r[1:] + [""] for r in left.rows]
    checks = list(left.checks)

    def linear3(x: np.ndarray) -> np.ndarray:
        t = torch.as_tensor(np.asarray(x, dtype=np.float64))[None, None]
        for _ in range(3):
            t = torch.nn.functional.interpolate(t, scale_factor=2, mode="linear",
                                                align_corners=False)
        return t[0, 0].numpy()

    fs_in, r = 4000.0, 8
    resp = measure_response(linear3, fs_in, r, length=1 << 15, seed=seed)
    summary = filtering_summary(resp)
    rates = [8000.0, 16000.0, 32000.0]

    def theory(f: np.ndarray, exact: bool) -> np.ndarray:
        g = np.ones_like(f)
        for rate in rates:
            g = g * (interpolation_response(f, 2, rate, "linear") if exact
                     else sinc_response(f, 2, rate, power=2))
        return g

    for q, f0, a in zip(summary.fractions, summary.frequencies, summary.attenuation_db,
                        strict=True):
        exact = 20 * math.log10(theory(np.array([f0]), True)[0])
        text = 20 * math.log10(theory(np.array([f0]), False)[0])
        rows.append([f"right: {q:g} x input Nyquist", f0, f0, a, exact, text])
        checks.append(Check(f"right: response at {f0:g} Hz = theory of "
                            "F.interpolate(linear) kernels", f"{a:.2f} dB vs {exact:.2f} dB",
                            "within 0.5 dB", abs(a - exact) <= 0.5))
    for f0 in (4000.0, 8000.0, 16000.0):
        depth = float(resp.db_at(f0))
        rows.append(["right: notch at stage input rate", f0, f0, depth, -math.inf, -math.inf])
        checks.append(Check(f"right: notch at {f0:g} Hz", f"{depth:.1f} dB", "<= -40 dB",
                            depth <= -40.0))
    x = np.random.default_rng(seed).standard_normal(1 << 14)
    y = linear3(x)[None, 256:-256]
    _no_tones_check("right (noise in)", y, 32000.0, (2, 2, 2), checks)
    pngs = left.pngs + _png(out, "fig8_right", y[0], 32000.0, (2, 2, 2),
                            "fig8 right: linear x2 three times, white noise")
    return FigureResult("fig8", "transposed x2 three times (ones): tones; linear x2 three "
                        "times (noise): sinc^2-like filtering, notches, no tones",
                        ["case", "expected (Hz)", "measured (Hz)", "dB (tone above floor / "
                         "response)", "dB re total / theory (exact kernel)",
                         "textbook sinc^2 (dB)"], rows, checks, pngs)


def music_like(sample_rate: float, seconds: float, *, seed: int = 0) -> np.ndarray:
    """A rich synthetic signal: harmonic notes with vibrato (a new note every 0.25 s),
    plus quiet noise, band-limited to 0.45 of the sample rate, zero mean. ``(T,)``."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    x = np.zeros(n)
    note = int(0.25 * sample_rate)
    for start in range(0, n, note):
        f0 = 110.0 * 2 ** (rng.integers(0, 24) / 12)
        seg = slice(start, min(n, start + note))
        tt = t[seg] - t[start]
        env = np.exp(-3 * tt) * np.minimum(1, tt * 200)
        vib = 1 + 0.01 * np.sin(2 * np.pi * 5.5 * tt)
        for k in range(1, 40):
            if k * f0 * 1.02 >= 0.45 * sample_rate:
                break
            x[seg] += env * np.sin(2 * np.pi * k * f0 * np.cumsum(vib) / sample_rate
                                   + rng.uniform(0, 2 * np.pi)) / k
    x += 0.02 * rng.standard_normal(n)
    taps = sps.firwin(255, 0.45 * sample_rate, fs=sample_rate)
    x = sps.fftconvolve(x, taps, mode="same")
    return x - x.mean()


def _stack_response(stages: list[Any], rates_out: list[float], f: np.ndarray,
                    mode: str) -> np.ndarray:
    """|G(f)| of interpolation x2 + Conv1d per stage (weights read from ``stages``)."""
    g = np.ones(len(f), dtype=complex)
    for stage, rate in zip(stages, rates_out, strict=True):
        w = stage[1].weight.detach().double().numpy()[0, 0]
        k = np.arange(len(w))
        conv = np.exp(-2j * np.pi * np.outer(f, k) / rate) @ w
        g = g * conv * interpolation_response(f, 2, rate, mode)
    return np.abs(g)


def fig6(*, seed: int = 0, out: Path | None = None) -> FigureResult:
    """Interpolation x2 + Conv1d(9) three times at 4 kHz: nearest with a music-like
    signal, linear with white noise. Filtering valleys and replicas, no tones."""
    torch = _torch()
    rows, checks, pngs = [], [], []
    fs_in, fs = 4000.0, 32000.0
    rates = [8000.0, 16000.0, 32000.0]
    for mode in ("nearest", "linear"):
        torch.manual_seed(seed)
        stages = [_interp_stage(mode, 1, 1, 2, 9) for _ in range(3)]
        if mode == "nearest":
            x = music_like(fs_in, 16.0, seed=seed)
        else:
            x = np.random.default_rng(seed).standard_normal(int(16 * fs_in))
        y = _stages(stages)(x[None])[-1]
        trim = 64 * 8
        y, xs = y[:, trim:-trim], x[64:-64]
        label = f"{mode} ({'music-like' if mode == 'nearest' else 'noise'})"
        _no_tones_check(label, y, fs, (2, 2, 2), checks)
        spec = welch_spectrum(y, fs, multiple_of=8, max_nperseg=8192)
        f = spec.frequencies
        gain = _stack_response(stages, rates, f, mode)
        xup = welch_spectrum(zero_stuff(xs, 8)[None], fs, nperseg=spec.nperseg)
        predicted = gain**2 * xup.power
        passband = np.median(spec.power[(f > 0.05 * fs_in / 2) & (f < 0.5 * fs_in / 2)])
        for f0 in (4000.0, 8000.0, 16000.0):
            b = spec.bin_of(f0)
            depth = float(db(spec.power[b] / passband))
            rows.append([label, "valley", f0, depth, float(db(max(predicted[b], 1e-300)
                                                               / passband))])
            checks.append(Check(f"{label}: filtering valley at {f0:g} Hz",
                                f"{depth:.1f} dB re passband median", "<= -30 dB",
                                depth <= -30.0))
        rep = replica_energy(y, fs, 8, nperseg=spec.nperseg)
        pred_in = predicted[4:][f[4:] < fs_in / 2].sum()
        for (lo, hi), e in zip(rep.bands, rep.energy_db, strict=True):
            mask = (f >= lo) & ((f <= hi) if hi >= fs / 2 else (f < hi))
            p = float(db(predicted[mask].sum() / pred_in))
            rows.append([label, "replica band", f"{lo:g}-{hi:g}", e, p])
            first = lo == fs_in / 2
            checks.append(Check(f"{label}: replica {lo:g}-{hi:g} Hz "
                                f"{'present and ' if first else ''}as predicted from the weights",
                                f"{e:.1f} dB (predicted {p:.1f})",
                                ("> -40 dB re in-band and " if first else "") + "within 1 dB",
                                (e > -40.0 or not first) and abs(e - p) <= 1.0))
        pngs += _png(out, f"fig6_{mode}", y[0], fs, (2, 2, 2), f"fig6 {label}")
    return FigureResult("fig6", "interpolation x2 + Conv1d(9) three times at 4 kHz: valleys "
                        "and replicas, no tones",
                        ["case", "what", "Hz", "measured (dB)", "predicted from weights (dB)"],
                        rows, checks, pngs)


def _fig5_case(stride: int, init: str) -> tuple[np.ndarray, Any]:
    torch = _torch()
    conv = torch.nn.ConvTranspose1d(1, 1, 8, stride=stride, bias=False)
    if init == "ones":
        with torch.no_grad():
            conv.weight.fill_(1.0)
    return _run(conv, np.ones((1, 32)))[0], conv


def periodic_structure(y: np.ndarray, margin: int, *, rtol: float = 1e-6
                       ) -> tuple[int, float, int, int]:
    """``(period, ripple, left, right)`` of a 1-D output: the smallest period of its
    interior ``y[margin:-margin]``, the interior's peak-to-peak over its mean absolute
    value, and how many samples at each end differ from that periodic pattern."""
    interior = y[margin:-margin]
    scale = max(float(np.max(np.abs(interior))), 1e-30)
    period = len(interior)
    for p in range(1, len(interior) // 2):
        if np.allclose(interior[p:], interior[:-p], rtol=0, atol=rtol * scale):
            period = p
            break
    ripple = float(np.ptp(interior) / max(np.mean(np.abs(interior)), 1e-30))
    pattern = {(margin + i) % period: interior[i] for i in range(period)}

    def differs(n: int) -> bool:
        return abs(y[n] - pattern[n % period]) > rtol * scale

    left = next((n for n in range(len(y)) if not differs(n)), len(y))
    right = next((k for k in range(len(y)) if not differs(len(y) - 1 - k)), len(y))
    return period, ripple, left, right


def fig5(*, seed: int = 0, out: Path | None = None) -> FigureResult:
    """ConvTranspose1d kernel 8, stride 6 (partial) and 4 (full), ones and random
    weights, ones input: periods, ripple and boundary ramps."""
    torch = _torch()
    rows, checks, pngs = [], [], []
    for stride in (6, 4):
        for init in ("ones", "random"):
            torch.manual_seed(seed)
            y, _ = _fig5_case(stride, init)
            period, ripple, left, right = periodic_structure(y, 16)
            regime = "partial" if stride == 6 else "full"
            rows.append([f"stride {stride} ({regime}), {init}", period, ripple, left, right])
            if init == "ones" and stride == 4:
                checks.append(Check("full overlap, ones: flat interior",
                                    f"ripple {ripple:.2g}", "0 (< 1e-6)", ripple < 1e-6))
            else:
                checks.append(Check(f"stride {stride} {init}: period-stride ripple",
                                    f"period {period}, ripple {ripple:.3g}",
                                    f"period {stride}, ripple > 0.01",
                                    period == stride and ripple > 0.01))
            checks.append(Check(f"stride {stride} {init}: boundary ramps",
                                f"{left} / {right} samples", "> 0 at both ends",
                                left > 0 and right > 0))
            if out is not None:
                plt = __import__("upsamplers.analysis.plots", fromlist=["pyplot"]).pyplot()
                fig, ax = plt.subplots(figsize=(7, 2.5))
                ax.plot(y, ".-", lw=0.8)
                ax.set_title(f"fig5: ConvTranspose1d k=8 stride {stride}, {init} weights, "
                             "ones input", fontsize=9)
                fig.tight_layout()
                pngs.append(save_figure(fig, out / f"fig5_stride{stride}_{init}.png"))
    return FigureResult("fig5", "ConvTranspose1d kernel 8, stride 6 / 4, ones input",
                        ["case", "interior period", "ripple (p-p / mean)",
                         "left ramp (samples)", "right ramp (samples)"], rows, checks, pngs)


def _noise_model(model: Any, in_channels: int, factor: int, n_out: int, seed: int
                 ) -> np.ndarray:
    n_in = n_out // factor + 16
    x = np.random.default_rng(seed).standard_normal((in_channels, n_in))
    y = _run(model, x)
    return y[:, 8 * factor: 8 * factor + n_out]


def _notch_depth(spec: Any, f0: float) -> float:
    """Power at ``f0`` over the median power in ``[0.05 f0, 0.45 f0]`` (the band below
    the last stage's input Nyquist), dB."""
    f = spec.frequencies
    band = (f >= 0.05 * f0) & (f <= 0.45 * f0)
    return float(db(spec.power[spec.bin_of(f0)] / np.median(spec.power[band])))


def fig9(*, seed: int = 0, out: Path | None = None, seconds: float = 14.0,
         nperseg: int = FIG9_NPERSEG) -> FigureResult:
    """MelGAN-like (22.05 kHz) and Demucs-like (44.1 kHz) at initialisation, white noise
    in: tones at the last stages' input rates, and what the variants change.

    Analysed with ``nperseg``-sample Welch segments (default 2**16: 0.34 Hz bins at
    22.05 kHz, 0.67 Hz at 44.1 kHz) over ``seconds`` of output (:func:`_check_fig9`). A
    tone's level above a noise floor grows 3 dB per doubling of ``nperseg``."""
    seconds, nperseg = _check_fig9(seconds, nperseg)
    torch = _torch()
    rows, checks, pngs = [], [], []
    levels: dict[str, float] = {}
    fs = 22050.0
    for variant in ("original", "modified"):
        torch.manual_seed(seed)
        model = melgan_like(modified=variant == "modified")
        y = _noise_model(model, 80, 256, int(seconds * fs), seed)
        ta = find_tones(y, fs, (8, 8, 2, 2), nperseg=nperseg)
        comb = [ta.tone_at(689.0625 * k) for k in range(1, 17)]
        t55 = ta.tone_at(5512.5)
        levels[f"melgan {variant}"] = float(db(t55.power))
        levels[f"melgan {variant} above floor"] = t55.level_db
        rows.append([f"MelGAN-like {variant}", 5512.5, t55.level_db, t55.relative_db,
                     sum(t.found for t in comb), min(t.level_db for t in comb)])
        if variant == "original":
            checks.append(Check("MelGAN-like: tone at 5512.5 Hz", f"{t55.level_db:.1f} dB "
                                f"above floor at {t55.measured_frequency:g} Hz",
                                f">= {TONE_BAR_DB:g} dB within one bin",
                                t55.level_db >= TONE_BAR_DB
                                and abs(t55.measured_frequency - 5512.5) <= ta.bin_width))
            weakest = min(comb, key=lambda t: t.level_db)
            checks.append(Check("MelGAN-like: comb at multiples of 22050/32 = 689.06 Hz",
                                f"{sum(t.level_db >= TONE_BAR_DB for t in comb)}/16 lines "
                                f">= {TONE_BAR_DB:g} dB; weakest {weakest.level_db:.1f} dB "
                                f"at {weakest.frequency:g} Hz",
                                f"16/16 >= {TONE_BAR_DB:g} dB",
                                all(t.level_db >= TONE_BAR_DB for t in comb)))
        pngs += _png(out, f"fig9_melgan_{variant}", y[0], fs, (8, 8, 2, 2),
                     f"MelGAN-like ({variant}), white noise in")
    fs = 44100.0
    for variant in ("transposed", "modified", "nearest", "subpixel"):
        torch.manual_seed(seed)
        model = demucs_like(variant=variant)
        y = _noise_model(model, 128, 4096, int(seconds * fs), seed)
        ta = find_tones(y, fs, (4,) * 6, nperseg=nperseg)
        t = ta.tone_at(11025.0)
        spec = welch_spectrum(y, fs, nperseg=ta.spectrum.nperseg)
        notch = _notch_depth(spec, 11025.0)
        levels[f"demucs {variant}"] = float(db(t.power))
        levels[f"demucs {variant} above floor"] = t.level_db
        rows.append([f"Demucs-like {variant}", 11025.0, t.level_db, t.relative_db,
                     len(ta.found), notch])
        if variant in ("transposed", "subpixel"):
            checks.append(Check(f"Demucs-like {variant}: tone at 11025 Hz",
                                f"{t.level_db:.1f} dB above floor at {t.measured_frequency:g} Hz",
                                f">= {TONE_BAR_DB:g} dB within one bin",
                                t.level_db >= TONE_BAR_DB
                                and abs(t.measured_frequency - 11025.0) <= ta.bin_width))
        if variant == "nearest":
            checks.append(Check("Demucs-like nearest: notch, not a tone, at 11025 Hz",
                                f"{t.level_db:.1f} dB re local floor ({notch:.1f} dB re the "
                                f"band below 5512.5 Hz); {len(ta.found)} tones found",
                                "<= -10 dB re local floor, no tone found at any stage",
                                t.level_db <= -10.0 and not ta.found))
        pngs += _png(out, f"fig9_demucs_{variant}", y[0], fs, (4,) * 6,
                     f"Demucs-like ({variant}), white noise in")
    for name, a, b, f0 in (("MelGAN-like", "melgan original", "melgan modified", 5512.5),
                           ("Demucs-like", "demucs transposed", "demucs modified", 11025.0)):
        diff = levels[a] - levels[b]
        above = levels[a + " above floor"] - levels[b + " above floor"]
        rows.append([f"{name}: original - modified", f0, above, "", diff, ""])
        checks.append(Check(f"{name}: modified (no biases, only the first activation) has much "
                            f"weaker tones at {f0:g} Hz", f"{diff:.1f} dB less tone power, "
                            f"{above:.1f} dB less above the floor",
                            ">= 10 dB less tone power", diff >= 10.0))
    return FigureResult("fig9", "MelGAN-like and Demucs-like at initialisation, white noise in "
                        "(Fig. 1 and Fig. 9)", ["model", "Hz", "dB above floor", "dB re total",
                         "tones found (MelGAN: comb lines found) / tone power difference (dB)",
                         "weakest comb line / notch (dB)"],
                        rows, checks, pngs, levels)


FIGURES: dict[str, Callable[..., FigureResult]] = {
    "fig5": fig5, "fig6": fig6, "fig7": fig7, "fig8": fig8, "fig9": fig9,
}


def check_names(names: Sequence[str]) -> list[str]:
    """``names`` as a list if each is one of :data:`FIGURES`.

    Raises:
        InvalidValue: naming the first unknown one.
    """
    if not names:
        raise InvalidValue(f"names must name at least one figure among {', '.join(FIGURES)}; "
                           f"received names={list(names)!r}")
    for name in names:
        if name not in FIGURES:
            raise InvalidValue(f"figure must be one of {', '.join(FIGURES)}; received {name!r}")
    return list(names)


def reproduce(names: Sequence[str] | None = None, *, out: str | Path | None = None,
              seed: int = DEFAULT_SEED, progress: Callable[[str], None] | None = None
              ) -> list[FigureResult]:
    """Reproduce the figures ``names`` (default all of :data:`FIGURES`)."""
    names = list(FIGURES) if names is None else check_names(names)
    seed = check_int("seed", seed, minimum=0)
    folder = None if out is None else Path(out)
    results = []
    for name in names:
        if progress is not None:
            progress(name)
        results.append(FIGURES[name](seed=seed, out=folder))
    return results


def to_markdown(results: Sequence[FigureResult]) -> str:
    head = ("# Pons et al. 2021, reproduced as numbers\n\nPyTorch default initialisation, "
            "fixed seed; tones in dB above the local floor (median of neighbouring bins) "
            "and re the total power.\n\n")
    return head + "\n".join(r.to_markdown() for r in results)


def save(results: Sequence[FigureResult], directory: str | Path) -> list[Path]:
    """Write ``figures.md`` (:func:`to_markdown`) and ``figures.json`` into
    ``directory`` (created if needed); returns their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    markdown, data = (directory / name for name in OUTPUT_NAMES)
    return [atomic_write_text(markdown, to_markdown(results)),
            atomic_write_text(data, json.dumps([r.to_dict() for r in results], indent=2))]
