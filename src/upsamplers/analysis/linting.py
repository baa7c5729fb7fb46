"""Read a model, without running it, and list every upsampling layer with advice.

:func:`lint` walks ``model.named_modules()`` in registration order (taken as the
order of execution) and recognises:

* every :class:`~upsamplers.layers.Upsampler` (one unit each, read through its
  interface: ``kind``, ``factor``, ``kernel_size``, ``overlap``, ``has_bias``,
  and ``phase_kernels()`` for the layers with ``learned_phases``), and any other
  module of this package with an integer ``factor`` attribute;
* ``nn.ConvTranspose1d`` (factor = stride), ``nn.Upsample`` (integer
  ``scale_factor``), :class:`~upsamplers.PeriodicShuffle1d` (subpixel by a plain
  convolution before it);
* modules whose ``forward`` source calls ``interpolate(`` (reported with an
  unknown factor: their upsampling cannot be read without running them);
* foreign inverse-STFT heads (the ``ISTFT`` module of Vocos and WavTokenizer): a
  module whose ``forward`` source calls ``istft(`` (``torch.istft(``, not a child
  module's ``self.istft(``), kind ``"istft"``, factor its hop (an integer attribute
  ``hop_length``, ``hop`` or ``hop_size``; unknown otherwise). Its call ends its
  forward, so it is listed after the layers inside it.

For each it reports the factor, the overlap regime (transposed convolutions),
the bias, the activation registered just before it (an activation instance shared
by several blocks counts at every place it is registered; whether it adds a DC
offset is measured on a little noise, see :mod:`.offsets`, not looked up by name),
the phases' DC-gain spread when the weights are readable, and the tone frequencies it is expected to
introduce at the model's sample rate: multiples of its input rate
``sample_rate / (r_l * ... * r_L)`` up to its output Nyquist.
"""

from __future__ import annotations

import inspect
import json
import math
import re
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

from .._checks import InvalidType, InvalidValue
from .._io import plain
from ._validate import check_rate
from .kernels import phase_gain_spread_db
from .offsets import Offset, activation_offset
from .response import interpolation_response

#: Activations whose output has a nonzero mean for zero-mean input: the fallback
#: for an activation that cannot be run on noise (the mean is measured otherwise).
OFFSET_ACTIVATIONS = ("ReLU", "ReLU6", "LeakyReLU", "PReLU", "GELU", "ELU", "CELU", "SELU",
                      "SiLU", "Mish", "Softplus", "Sigmoid", "GLU", "Hardswish", "Hardsigmoid")
ACTIVATIONS = OFFSET_ACTIVATIONS + ("Tanh", "Hardtanh", "Softsign", "Tanhshrink")
#: Leaves that pass their input through: not "the activation before" anything.
TRANSPARENT = ("Identity", "Dropout", "Dropout1d", "AlphaDropout")
#: Phase DC-gain spread (dB) below which the phases count as equal.
EQUAL_PHASES_DB = -80.0
MAX_LISTED_TONES = 8


@dataclass
class LintFinding:
    """One upsampling layer.

    Attributes:
        name: qualified module name (``""`` for the model itself).
        layer: class name.
        kind: ``"transposed"``, ``"subpixel"``, ``"nearest"``, ``"linear"``, ``"sinc"``,
            ``"resample"``, ``"istft"`` (this package's or a foreign iSTFT head),
            ``"interpolate"`` (factor unknown) or ``"upsampler"``.
        factor: upsampling factor, ``None`` when unknown.
        kernel_size / overlap: for transposed convolutions (overlap ``"none"``,
            ``"full"`` or ``"partial"``), kernel of the convolution otherwise.
        bias: whether the layer adds a bias.
        activation_before: class name of the activation registered just before, if any.
        activation_mean: that activation's output mean on zero-mean unit noise
            (``None`` when it could not be run on noise).
        activation_adds_offset: whether that mean is an offset (beyond the
            measurement's error); ``None`` when not measured.
        activation_functional: the activation is a function that a ``forward()``
            calls (``F.leaky_relu``, an inline Snake), read from the source,
            not a registered module.
        phase_spread_db: unequal phase DC gains (see
            :func:`~upsamplers.analysis.phase_gain_spread_db`), ``None`` if not read.
        input_rate / output_rate: Hz, when the sample rate and the factors are known.
        tone_spacing: Hz between the tones it can put out (its input rate).
        tone_frequencies: the first of them (Hz).
        advice: one line per issue.
    """

    name: str
    layer: str
    kind: str
    factor: int | None
    kernel_size: int | None = None
    overlap: str | None = None
    bias: bool = False
    activation_before: str | None = None
    activation_mean: float | None = None
    activation_adds_offset: bool | None = None
    phase_spread_db: float | None = None
    activation_functional: bool = False
    input_rate: float | None = None
    output_rate: float | None = None
    tone_spacing: float | None = None
    tone_frequencies: list[float] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)


@dataclass
class LintReport:
    """Result of :func:`lint`: the upsampling layers of ``model``, first first."""

    model: str
    sample_rate: float | None
    findings: list[LintFinding]
    total_factor: int | None
    notes: list[str] = field(default_factory=list)
    #: the layers that lower the rate (strided convolutions, pooling), as
    #: ``(qualified name, class name, factor)``, first first
    downsampling: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def net_factor(self) -> float | None:
        """The upsampling factors' product over the downsampling factors' (1.0 for
        a U-Net that returns its input rate); ``None`` when a factor is unknown."""
        if self.total_factor is None:
            return None
        return self.total_factor / math.prod(d[2] for d in self.downsampling)

    @property
    def factors(self) -> tuple[int, ...]:
        """The known factors, first stage first."""
        return tuple(f.factor for f in self.findings if f.factor is not None)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "sample_rate": self.sample_rate,
                "total_factor": self.total_factor, "net_factor": self.net_factor,
                "downsampling": [{"name": n, "layer": c, "factor": r}
                                 for n, c, r in self.downsampling],
                "notes": list(self.notes),
                "findings": [plain(asdict(f), infinities=True) for f in self.findings]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_markdown(self) -> str:
        rate = f" at {self.sample_rate:g} Hz" if self.sample_rate else ""
        lines = [f"# Lint: {self.model}{rate}", ""]
        if not self.findings:
            lines.append("No upsampling layer found.")
        else:
            lines += ["| # | layer | kind | factor | kernel | overlap | bias | before | "
                      "phase spread (dB) | tones at (Hz) |",
                      "|---|---|---|---:|---:|---|---|---|---:|---|"]
            for i, f in enumerate(self.findings, 1):
                spread = "" if f.phase_spread_db is None else (
                    "equal" if f.phase_spread_db < EQUAL_PHASES_DB else f"{f.phase_spread_db:.1f}")
                tones = ", ".join(f"{t:g}" for t in f.tone_frequencies)
                if f.tone_spacing is not None and len(f.tone_frequencies) == MAX_LISTED_TONES:
                    tones += f", ... (every {f.tone_spacing:g})"
                lines.append(
                    f"| {i} | `{f.name or '(model)'}` {f.layer} | {f.kind} | "
                    f"{f.factor if f.factor is not None else '?'} | {f.kernel_size or ''} | "
                    f"{f.overlap or ''} | {'yes' if f.bias else 'no'} | "
                    f"{_before(f)} | {spread} | {tones} |")
            lines += ["", "Advice:", ""]
            for i, f in enumerate(self.findings, 1):
                for line in f.advice:
                    lines.append(f"- {i} `{f.name or '(model)'}`: {line}")
        lines += ["", *_factor_lines(self)]
        lines += [f"- note: {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.to_markdown()


def _factor_lines(report: LintReport) -> list[str]:
    """What the factors multiply to, downsampling included: "Total upsampling
    factor: 4096" alone misread a U-Net that returns its input rate."""
    up = report.total_factor
    if not report.downsampling:
        return [] if up is None else [f"Total upsampling factor: {up}."]
    down = math.prod(d[2] for d in report.downsampling)
    kinds = ", ".join(sorted({f"{c} stride {r}" for _, c, r in report.downsampling}))
    text = (f"Upsampling layers multiply to {up if up is not None else 'an unknown factor'}; "
            f"{len(report.downsampling)} downsampling layers ({kinds}) divide by {down}")
    net = report.net_factor
    if net is None:
        return [text + "."]
    if net == 1:
        return [text + ": the output is at the input rate (net factor 1); each upsampling "
                "layer still leaves lines at multiples of its own input rate."]
    return [text + f": net factor {net:g}."]


def _downsampling_factor(module: Any) -> int | None:
    """The stride of a strided 1-D convolution or pooling, if above 1."""
    from torch import nn

    if isinstance(module, (nn.Conv1d, nn.AvgPool1d, nn.MaxPool1d, nn.LPPool1d)):
        stride = module.stride
        stride = stride[0] if isinstance(stride, tuple) else stride
        if isinstance(stride, int) and stride > 1:
            return stride
    return None


def _before(f: LintFinding) -> str:
    if f.activation_before is None:
        return ""
    if f.activation_adds_offset and f.activation_mean is not None:
        return f"{f.activation_before} (mean {f.activation_mean:.2g})"
    return f.activation_before


def _forward_source(module: Any) -> str:
    """The source of ``type(module).forward``, ``""`` when it cannot be read: what
    lint reads of a module's calls (interpolate, istft, stft, activations)."""
    try:
        return inspect.getsource(type(module).forward)
    except (OSError, TypeError):
        return ""


def _calls_interpolate(module: Any) -> bool:
    return re.search(r"\binterpolate\s*\(", _forward_source(module)) is not None


#: Attributes that hold an iSTFT head's hop (its upsampling factor).
HOP_ATTRIBUTES = ("hop_length", "hop", "hop_size")


def _calls_istft(module: Any) -> bool:
    """Whether ``forward``'s source calls ``istft(`` other than as a child module
    (``self.istft(...)`` with ``self.istft`` a module is that child's call, found there)."""
    from torch import nn

    child = isinstance(getattr(module, "istft", None), nn.Module)
    return any(not (child and call.group(1) == "self.")
               for call in re.finditer(r"(\bself\.)?\bistft\s*\(", _forward_source(module)))


def _calls_stft(module: Any) -> bool:
    """Whether ``forward``'s source calls ``stft(`` (an analysis): with an ``istft(``
    call, the module is an STFT / iSTFT pair that keeps its rate (a hybrid model's
    spectrogram branch), lowering it by the hop before raising it again."""
    return re.search(r"(?<!i)\bstft\s*\(", _forward_source(module)) is not None


def _istft_hop(module: Any) -> int | None:
    """The hop of a foreign iSTFT head: its integer hop attribute, ``None`` if none."""
    for key in HOP_ATTRIBUTES:
        value = getattr(module, key, None)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
    return None


def _after_inner(findings: list[LintFinding]) -> list[LintFinding]:
    """``findings`` with each foreign iSTFT head moved after the findings inside it
    (its ``istft`` call ends its forward, after its children ran)."""
    out = list(findings)
    for f in [f for f in findings if f.kind == "istft"]:  # this package's have none inside
        inner = [g for g in out if g is not f and (f.name == "" or g.name.startswith(f.name + "."))]
        if inner:
            out.remove(f)
            out.insert(out.index(inner[-1]) + 1, f)
    return out


def _int_factor(value: Any) -> int | None:
    if isinstance(value, tuple):
        value = value[0] if len(set(value)) == 1 else None
    if value is None:
        return None
    if float(value) == int(value) and value >= 1:
        return int(value)
    return None


def _describe(name: str, module: Any, previous_conv: Any) -> LintFinding | None:
    """A finding for ``module`` if it upsamples, else ``None``."""
    from torch import nn

    from ..layers import PeriodicShuffle1d, Upsampler
    from ..ops import overlap_regime, transposed_phase_kernels

    layer = type(module).__name__
    if isinstance(module, Upsampler):
        # only layers whose phases are learned separately can have unequal phases
        spread = phase_gain_spread_db(module.phase_kernels()) if module.learned_phases else None
        return LintFinding(name, layer, module.kind, module.factor, module.kernel_size,
                           module.overlap, bias=module.has_bias, phase_spread_db=spread)
    if isinstance(module, nn.ConvTranspose1d):
        stride, k = module.stride[0], module.kernel_size[0]
        spread = None
        if module.dilation[0] == 1 and module.groups == 1:
            spread = phase_gain_spread_db(transposed_phase_kernels(
                module.weight, stride, module.padding[0], module.bias))
        return LintFinding(name, layer, "transposed", stride, k,
                           overlap_regime(k, stride), bias=module.bias is not None,
                           phase_spread_db=spread)
    if isinstance(module, nn.Upsample):
        factor = _int_factor(module.scale_factor)
        return LintFinding(name, layer, module.mode, factor)
    if isinstance(module, PeriodicShuffle1d):
        bias = isinstance(previous_conv, nn.Conv1d) and previous_conv.bias is not None
        spread = None
        if isinstance(previous_conv, nn.Conv1d) and previous_conv.out_channels % module.factor == 0:
            w = previous_conv.weight.detach()
            c_out = w.shape[0] // module.factor
            r = module.factor
            if module.order == "channel":
                weight = w.reshape(c_out, r, *w.shape[1:]).transpose(0, 1)
            else:
                weight = w.reshape(r, c_out, *w.shape[1:])
            spread = phase_gain_spread_db(weight)
        return LintFinding(name, layer, "subpixel", module.factor,
                           None if previous_conv is None else previous_conv.kernel_size[0],
                           bias=bias, phase_spread_db=spread)
    if type(module).__module__.startswith("upsamplers.") and isinstance(
            getattr(module, "factor", None), int) and not _holds_upsamplers(module):
        conv = getattr(module, "conv", None)
        return LintFinding(name, layer, "upsampler", module.factor,
                           bias=getattr(conv, "bias", None) is not None)
    if _calls_istft(module):
        return LintFinding(name, layer, "istft", _istft_hop(module))
    if _calls_interpolate(module):
        return LintFinding(name, layer, "interpolate", None)
    return None


def _holds_upsamplers(module: Any) -> bool:
    """Whether a module of this package holds upsampling layers that are not just
    its own factor: a reference model (``factor`` 4, four stages of 4 inside) is
    read layer by layer; a wrapper around one upsampler of its factor
    (``LengthMatched``) stays one unit."""
    from torch import nn

    from ..layers import PeriodicShuffle1d, Upsampler

    total, found = 1, []
    for name, m in module.named_modules():
        if m is module or any(name.startswith(p + ".") for p in found):
            continue
        factor = (m.factor if isinstance(m, (Upsampler, PeriodicShuffle1d)) else
                  m.stride[0] if isinstance(m, nn.ConvTranspose1d) else
                  _int_factor(m.scale_factor) if isinstance(m, nn.Upsample) else None)
        if factor:
            total *= factor
            found.append(name)
    return total not in (1, module.factor)


def _advise(f: LintFinding) -> list[str]:
    tones = "" if f.tone_spacing is None else f" at multiples of {f.tone_spacing:g} Hz"
    advice = []
    if f.kind == "interpolate":
        advice.append("calls F.interpolate in forward(): its factor and mode are not visible "
                      "without running it; use upsamplers.InterpUpsample1d, or audit the model")
        return advice
    if f.kind == "istft" and f.factor is None:
        advice.append(f"calls istft() in forward() but no hop attribute "
                      f"({', '.join(HOP_ATTRIBUTES)}) is readable: its factor is unknown; "
                      "audit the model")
    elif f.factor is None:
        advice.append("non-integer or unknown scale factor: tones and replicas cannot be "
                      "predicted; use an integer factor")
    if f.overlap == "partial":
        better = f.factor * max(1, round(f.kernel_size / f.factor)) if f.factor else None
        advice.append(f"partial overlap: kernel {f.kernel_size} with stride {f.factor}; "
                      f"use kernel {better}")
    if f.phase_spread_db is not None and f.phase_spread_db >= EQUAL_PHASES_DB:
        fix = ("init='icnr' (upsamplers.icnr_)" if f.kind == "subpixel"
               else "a window-shaped spectrum (no initialiser equalises an iSTFT head)"
               if f.kind == "istft" else "upsamplers.nearest_init_")
        advice.append(f"its {f.factor} phases have unequal DC gains (spread "
                      f"{f.phase_spread_db:.1f} dB): any offset becomes tones{tones}; "
                      f"start from {fix} or use nearest/linear interpolation")
    # what an offset becomes here, in the words of the table's phase-spread column
    if f.phase_spread_db is None:
        becomes = f"unequal phases turn it into tones{tones}"
    elif f.phase_spread_db < EQUAL_PHASES_DB:
        becomes = ("its phases are equal, so it stays a DC offset here (a later layer "
                   "with unequal phases turns it into tones)")
    else:
        becomes = f"its unequal phases turn it into tones{tones}"
    if f.bias:
        advice.append(f"bias adds an offset; {becomes}; use bias=False")
    if f.activation_adds_offset:
        where = ("; a function that forward() calls, not a module: measured with its "
                 "default arguments and assumed to run before this layer"
                 if f.activation_functional else "")
        advice.append(f"{f.activation_before} before it outputs a mean of "
                      f"{f.activation_mean:.3g} on zero-mean unit noise (a DC offset{where}); "
                      f"{becomes}")
    elif f.activation_mean is None and f.activation_before in OFFSET_ACTIVATIONS:
        advice.append(f"{f.activation_before} before it outputs a positive mean (a DC offset); "
                      f"{becomes}")
    if f.kind in ("nearest", "linear") and f.factor and f.factor > 1:
        att = 20 * math.log10(float(interpolation_response([0.45], f.factor, 1.0 * f.factor,
                                                           f.kind)[0]))
        advice.append(f"filtering: {f.kind} interpolation attenuates {-att:.1f} dB at 0.9 of "
                      f"its input Nyquist and notches its input rate"
                      f"{'' if f.tone_spacing is None else f' ({f.tone_spacing:g} Hz)'}; "
                      "no tones from the interpolation itself")
    if not advice:
        advice.append("no issue found")
    return advice


def _named_modules(model: Any) -> list[tuple[str, Any]]:
    """``model.named_modules()`` as a list; one clear error for a model lint cannot
    read: weights on the meta device (no values to read the phases from) or a
    nesting deeper than Python's recursion limit."""
    try:
        # every registration of a shared module: an activation instance used by
        # several blocks is "the activation before" each of their upsamplers
        modules = list(model.named_modules(remove_duplicate=False))
    except RecursionError:
        raise InvalidValue(
            f"model is nested too deeply to list its modules (more than about "
            f"{sys.getrecursionlimit()} levels of submodules); flatten the nesting") from None
    for name, module in modules:
        for key, tensor in module.named_parameters(recurse=False):
            if tensor.is_meta:
                where = f"{name}.{key}" if name else key
                raise InvalidValue(
                    f"model has weights on the meta device (no values; first: {where}); "
                    "lint reads the weights: materialise them first, e.g. "
                    "model.to_empty(device='cpu') then load_state_dict(...)")
    return modules


def _in_channels(module: Any) -> int | None:
    value = getattr(module, "in_channels", None)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _activation(candidates: list[tuple[str, Any]], module: Any,
                cache: dict[int, Offset | None],
                ) -> tuple[str, Any, Offset | None] | None:
    """The first of ``candidates`` (the leaf registered before ``module``, then its
    containers that end there, innermost first) that is an activation: ``(its
    name, itself, its measured offset)``; the offset is ``None`` for a named
    activation that cannot run on noise. ``None`` if there is none."""
    for name, leaf in candidates:
        if id(leaf) not in cache:
            cache[id(leaf)] = activation_offset(leaf, _in_channels(module))
        offset = cache[id(leaf)]
        if offset is not None or type(leaf).__name__ in ACTIVATIONS:
            return name, leaf, offset
    return None


def _enclosing(name: str, current: str, by_name: dict[str, Any]) -> list[tuple[str, Any]]:
    """``name`` and its containers that do not contain ``current``, innermost first."""
    names = [name]
    while "." in names[-1]:
        names.append(names[-1].rpartition(".")[0])
    return [(n, by_name[n]) for n in names
            if n in by_name and not current.startswith(n + ".")]


#: Functional activations a ``forward()`` may call (``F.leaky_relu(x, 0.1)``,
#: ``torch.relu(x)``, ``x.relu()``): invisible to a walk over the modules.
_FUNCTIONAL = re.compile(
    r"(?:\b(?:F|functional|torch|nn\.functional)\.|\.)(relu6|relu|leaky_relu|gelu|elu|celu|"
    r"selu|silu|mish|softplus|sigmoid|hardswish|hardsigmoid)\s*\(")
#: ``x + sin(a x)^2 / a``, Snake written inline (``torch.sin(...) ** 2`` / ``.pow(2)``).
_INLINE_SNAKE = re.compile(r"\bsin\s*\([^\n]*(?:\*\*\s*2|\.pow\s*\(\s*2)")


def _functional_module(name: str) -> Any:
    """The functional activation ``name`` called with its default arguments, as a
    module that :func:`~.offsets.activation_offset` can run."""
    import torch
    from torch import nn

    function = ((lambda x: x + torch.sin(x) ** 2) if name == "snake"
                else getattr(torch.nn.functional, name))

    class Functional(nn.Module):
        def forward(self, x: Any) -> Any:
            return function(x)

    return Functional()


def _functional_activation(finding: LintFinding, name: str, by_name: dict[str, Any],
                           cache: dict[str, Offset | None]) -> None:
    """For a layer with no activation module before it: the first offset-adding
    functional activation that the ``forward()`` of the layer or of one of its
    containers calls (innermost first), its mean measured with default
    arguments; where in ``forward()`` it runs is not read (assumed before)."""
    names = [name]
    while names[-1]:
        names.append(names[-1].rpartition(".")[0] if "." in names[-1] else "")
    for owner in names:
        module = by_name.get(owner)
        forward = getattr(type(module), "forward", None)
        if module is None or getattr(forward, "__module__", "").startswith("torch."):
            continue  # torch's own containers call no activation of the user's
        source = _forward_source(module)
        calls = [m.group(1) for m in _FUNCTIONAL.finditer(source)]
        calls += ["snake"] if _INLINE_SNAKE.search(source) else []
        for call in calls:
            if call not in cache:
                cache[call] = activation_offset(_functional_module(call), 1)
            offset = cache[call]
            if offset is not None and offset.significant:
                where = f"{type(module).__name__}.forward"
                finding.activation_before = f"{call} (called in {where})"
                finding.activation_mean = offset.mean
                finding.activation_adds_offset = True
                finding.activation_functional = True
                return


def _walk(modules: list[tuple[str, Any]]
          ) -> tuple[list[LintFinding], list[tuple[str, list[str]]], list[tuple[str, str, int]]]:
    """The findings in registration order, the activation instances registered
    at several places before upsamplers (class name, their names), and the
    downsampling layers (name, class name, factor)."""
    from torch import nn

    from ..layers import Upsampler

    findings: list[LintFinding] = []
    skip: list[str] = []
    described: set[int] = set()  # a module registered twice is one stage
    units: set[int] = set()  # upsamplers read as one unit: their children are not visited
    means: dict[int, Offset | None] = {}
    functional: dict[str, Offset | None] = {}
    uses: dict[int, tuple[Any, list[str]]] = {}
    previous: tuple[str, Any] | None = None
    by_name = dict(modules)
    previous_conv: Any = None
    downsampling: list[tuple[str, str, int]] = []
    for name, module in modules:
        # the root module's name is "": its descendants are every other name
        if any(prefix == "" or name.startswith(prefix + ".") for prefix in skip):
            continue
        down = _downsampling_factor(module)
        if down is not None and id(module) not in described:
            described.add(id(module))
            downsampling.append((name, type(module).__name__, down))
        finding = None if id(module) in described else _describe(name, module, previous_conv)
        if finding is not None:
            described.add(id(module))
            found = None if previous is None else _activation(
                _enclosing(previous[0], name, by_name), module, means)
            if found is not None:
                where, leaf, offset = found
                finding.activation_before = type(leaf).__name__
                if offset is not None:
                    finding.activation_mean = offset.mean
                    finding.activation_adds_offset = offset.significant
                uses.setdefault(id(leaf), (leaf, []))[1].append(where)
            else:
                _functional_activation(finding, name, by_name, functional)
            findings.append(finding)
            if finding.kind == "istft" and finding.factor and _calls_stft(module):
                downsampling.append((name, f"{type(module).__name__} (its stft)", finding.factor))
            if isinstance(module, Upsampler) or finding.kind == "upsampler":
                units.add(id(module))
        if id(module) in units:
            skip.append(name)
            previous = (name, module)
            continue
        is_leaf = not any(True for _ in module.children())
        if is_leaf and type(module).__name__ not in TRANSPARENT:
            previous = (name, module)
            if isinstance(module, nn.Conv1d):
                previous_conv = module
    shared = [(type(leaf).__name__, sorted(set(names))) for leaf, names in uses.values()
              if len(set(names)) > 1]
    return _after_inner(findings), shared, downsampling


def lint(model: Any, sample_rate: float | None = None) -> LintReport:
    """List the upsampling layers of ``model`` without running it (only the
    activation-like module registered before each of them runs, on a little noise,
    to measure whether it adds a DC offset).

    Args:
        model: a ``torch.nn.Module``.
        sample_rate: the model's output rate (Hz); with it, every layer's input rate
            and expected tone frequencies are computed, assuming the layers run in
            registration order and are the model's only change of rate.

    Returns:
        a :class:`LintReport` (``.to_markdown()``, ``.to_json()``).

    Raises:
        TypeError: if ``model`` is not a ``torch.nn.Module``.
    """
    from torch import nn

    if not isinstance(model, nn.Module):
        raise InvalidType(f"model must be a torch.nn.Module; received {type(model).__name__}")
    if sample_rate is not None:
        sample_rate = check_rate("sample_rate", sample_rate)
    findings, shared, downsampling = _walk(_named_modules(model))
    notes = [f"one {kind} instance is registered at {len(names)} places ({', '.join(names)}): "
             "it is the activation before each of their upsamplers" for kind, names in shared]
    known = [f.factor for f in findings]
    total = math.prod(known) if known and all(k is not None for k in known) else None
    if sample_rate is not None and total is not None:
        later = total
        for f in findings:
            later //= f.factor
            f.output_rate = sample_rate / later
            f.input_rate = f.output_rate / f.factor
            if f.factor > 1:
                f.tone_spacing = f.input_rate
                count = min(MAX_LISTED_TONES, int(f.output_rate / 2 / f.input_rate + 1e-9))
                f.tone_frequencies = [k * f.input_rate for k in range(1, count + 1)]
    elif sample_rate is not None and any(f.factor is None for f in findings):
        notes.append("some factors are unknown, so the tone frequencies are not computed")
    for f in findings:
        f.advice = _advise(f)
    return LintReport(model=type(model).__name__, sample_rate=sample_rate, findings=findings,
                      total_factor=total, notes=notes, downsampling=downsampling)
