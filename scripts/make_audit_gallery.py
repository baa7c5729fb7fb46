#!/usr/bin/env python3
"""Write docs/audit-gallery.md: what lint, audit and aliasing say about
look-alikes of the architectures users run (tests/gallery_models.py).

Every model is built with seed 0 and random weights, as a user who audits an
untrained architecture would (lines from biases and offset-adding activations
are there from the first step). Nothing is downloaded.

Usage: ``python scripts/make_audit_gallery.py [--out docs/audit-gallery.md]
[--seconds 2]``. It prints the machine and the time taken; a few minutes on 2
cores.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

HEADER = """# Audit gallery: what the analysis says about the models people run

Each section is a look-alike of a family of public models, built by
`tests/gallery_models.py` in the family's own style (weight norm, functional
activations, wrappers that trim, hand-written shuffles, `torch.istft` heads),
small and with random weights (seed 0). `tests/test_audit_gallery.py` checks
what is said here (factors, rate ratios, verdicts) on every run of the tests.
Regenerate with `python scripts/make_audit_gallery.py`.

Read each section as: what `lint` sees without running the model, what `audit`
measures by running it (`--seconds {seconds}`, probes ones, silence, noise, tones,
aliasing), and what that means. A random-weight model is not a trained one: the
levels show where lines come from and how the analysis reads a model of that
shape, not how loud a trained model of the family is.
"""


#: What each section means, read from its numbers (the levels are a random-weight
#: model's: where lines come from, not how loud a trained model is).
READINGS = {
    "hifigan-like": "Every transposed layer has unequal phases and follows an offset "
    "(`F.leaky_relu` in `forward()`, which lint now reads from the source): lines at every "
    "stage's input rate, up to the output's Nyquist; `lines` finds the hop from the audio "
    "alone. Swapping to `resample` removes the lines at every length.",
    "bigvgan-like": "The same stack with Snake modules: Snake's mean (0.43 on unit noise) is an "
    "offset like ReLU's, so Snake does not spare a transposed stack its lines.",
    "encodec-like": "A latent decoder whose `.channels` means its audio channels: the audit "
    "settles 128 input channels by running it. Its trimming wrapper keeps the factors "
    "readable, and `swap` keeps its output lengths through the wrapper.",
    "dac-like": "A 1024-channel latent: the probes are bounded by what they really hold on "
    "each side (the input's 1024 channels, the output's one), so the default audit runs.",
    "wavegrad-like": "Upsampling by `F.interpolate` inside `forward()`: lint sees calls of "
    "unknown factor, the audit finds the factors from the lengths the convolutions see. "
    "Nearest interpolation has equal phases: no line, a pass that a plain Welch estimate "
    "confirms (`tests/test_audit_gallery.py`); its artifacts are filtering, not tones.",
    "unet-at-input-rate": "Output at the input rate, four transposed layers inside: the "
    "tones are searched at the decoder's own rates (this read 'does not upsample', and "
    "'tonal: pass' with `--factors 1`). The finest comb (fs / 256) needs long probes; "
    "below that resolution the verdict cannot be a pass.",
    "hybrid-spectrogram": "An STFT / iSTFT pair keeps the rate at the model's boundary: a comb "
    "at fs / hop, searched beside the time branch's fs / 4. The model takes lengths that are "
    "multiples of 4 only: the dry run finds that, and the aliasing probe (prime periods) is "
    "not run, with a note. `swap` replaces the time branch's layer; the lines every fs / 64 "
    "that remain are the STFT pair's, which no upsampler kind replaces.",
    "vocos-like": "The iSTFT head is a stage of factor 256 (lint reads the hop from "
    "`hop_length`): a learned spectrum that changes little from frame to frame repeats every "
    "hop, lines every fs / 256 even though the window satisfies the overlap-add condition.",
    "subpixel-audio-unet": "A subpixel shuffle written with `reshape`/`permute` is no module: "
    "lint sees none, the audit finds three x2 stages between the convolutions and their lines "
    "at fs / 2, fs / 4 and fs / 8. `lines` on the audio alone cannot name a hop of 8 (three "
    "lines are too few to tell from chance), and `swap` has no module to replace.",
}


def _lint_rows(report: Any) -> list[str]:
    if not report.findings:
        return ["`lint` finds no upsampling module."]
    rows = ["| layer | kind | factor | activation before | phases | lines every (Hz) |",
            "|---|---|---:|---|---|---:|"]
    for f in report.findings:
        before = f.activation_before or ""
        if f.activation_adds_offset and f.activation_mean is not None:
            before += f" (mean {f.activation_mean:.2f})"
        phases = ("" if f.phase_spread_db is None else
                  "equal" if f.phase_spread_db < -80 else f"spread {f.phase_spread_db:.1f} dB")
        spacing = "" if f.tone_spacing is None else f"{f.tone_spacing:g}"
        rows.append(f"| `{f.name or '(model)'}` | {f.kind} | {f.factor or '?'} | {before} | "
                    f"{phases} | {spacing} |")
    return rows


def section(name: str, seconds: float) -> list[str]:
    """The gallery section of model ``name``."""
    import torch
    from gallery_models import GALLERY

    from upsamplers.analysis import audit, lint

    build, fs, what = GALLERY[name]
    torch.manual_seed(0)
    model = build()
    params = sum(p.numel() for p in model.parameters())
    start = time.perf_counter()
    linted = lint(model, fs)
    report = audit(model, fs, seconds=seconds)
    took = time.perf_counter() - start  # lint and audit
    out = [f"## {name}", "", f"{what}. {params / 1e6:.2f} M parameters, output {fs:g} Hz.", "",
           READINGS[name], ""]
    out += ["**lint**", "", *_lint_rows(linted), ""]
    out += [line for line in linted.to_markdown().splitlines()
            if line.startswith(("Total", "Upsampling layers", "- note"))]
    out += ["", f"**audit** (factors {'x'.join(map(str, report.factors))}, output "
            f"{report.ratio} x input, {took:.1f} s for lint and audit)", "",
            "| artifact | verdict | detail |", "|---|---|---|"]
    for key, verdict in report.verdicts.items():
        out.append(f"| {key} | {verdict.status} | {verdict.message} |")
    if report.notes:
        out += ["", "Notes:", ""] + [f"- {n}" for n in report.notes]
    out += ["", *_lines_of_output(model, fs, report), "", *_swapped(model, fs, seconds)]
    return out + [""]


def _lines_of_output(model: Any, fs: float, report: Any) -> list[str]:
    """What ``upsamplers lines`` finds in 6 s of the model's output on smooth frames
    (a random walk: a stand-in for a mel or latent sequence) or, at the input
    rate, on noise: what a user who has only the audio would see."""
    import torch

    from upsamplers.analysis import find_combs

    generator = torch.Generator().manual_seed(1)
    x = 0.1 * torch.randn(1, report.in_channels or 1, int(6 * fs / report.ratio),
                          generator=generator)
    if report.ratio > 1:
        x = torch.cumsum(x, dim=-1)
    x = x[..., : x.shape[-1] - x.shape[-1] % 256]  # a length every gallery model takes
    with torch.no_grad():
        y = model(x)
    combs = find_combs(y.reshape(-1, y.shape[-1])[0].numpy(), fs)
    return [f"**lines** in its output alone: {combs.summary()}"]


def _swapped(model: Any, fs: float, seconds: float) -> list[str]:
    """The tonal verdict after ``swap(model, "resample")``, where there is a layer to swap."""
    import torch

    from upsamplers import swap
    from upsamplers.analysis import audit

    try:
        swapped = swap(model, "resample")
    except ValueError:  # e.g. too short a check input for an STFT: a longer one
        channels = next(m for m in model.modules() if isinstance(m, torch.nn.Conv1d)).in_channels
        try:
            swapped = swap(model, "resample", example_input=(1, channels, 4096))
        except ValueError as error:
            return [f"**swap** to `resample`: not possible here ({error})"]
    if not swapped.replaced:
        reasons = "; ".join(f"`{n}`: {why}" for n, why in swapped.skipped)
        return [f"**swap** to `resample`: nothing replaced ({reasons})"]
    torch.manual_seed(0)
    after = audit(swapped.model, fs, seconds=seconds, inputs=("ones", "silence", "noise"))
    tonal = after.verdicts["tonal"]
    return [f"**swap** to `resample` ({len(swapped.replaced)} layer(s) replaced, output lengths "
            f"kept): tonal **{tonal.status}**, {tonal.message}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "audit-gallery.md")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--only", nargs="*", help="model names (default: all)")
    args = parser.parse_args(argv)
    from gallery_models import GALLERY

    names = args.only or list(GALLERY)
    start = time.perf_counter()
    body = [HEADER.format(seconds=args.seconds)]
    for name in names:
        print(f"{name} ...", file=sys.stderr, flush=True)
        body += section(name, args.seconds)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    body.append(f"Made in {time.perf_counter() - start:.0f} s on {platform.machine()} "
                f"({os.cpu_count()} cores, load {load:.1f}), Python "
                f"{platform.python_version()}.\n")
    args.out.write_text("\n".join(body))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
