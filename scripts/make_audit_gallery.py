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
    took = time.perf_counter() - start
    out = [f"## {name}", "", f"{what}. {params / 1e6:.2f} M parameters, output {fs:g} Hz.", ""]
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
    except ValueError as error:
        return [f"**swap** to `resample`: not possible here ({error})"]
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
