"""Does an activation module add a DC offset? Measured, not looked up by name.

An activation before an upsampler that outputs a nonzero mean for zero-mean input
(ReLU, GELU, Snake, SnakeBeta, ...) hands the upsampler an offset, whose replicas
at multiples of the upsampler's input rate become tones unless its phases are
equal. :func:`activation_offset` runs a module on a little zero-mean unit noise
and returns its output mean, provided the module behaves as an activation:

* it keeps the shape ``(1, C, T)``;
* it is local in time: changing one input sample changes the output only within
  :data:`LOCAL_SPAN` samples of it (elementwise, or nearly so, like an
  anti-derivative or an oversampled anti-aliased activation; not a norm over time);
* its parameters are scalars or vectors (per channel; fixed filters in buffers
  are allowed);
* it is not affine (a per-channel scale and shift, an identity, a dropout in
  eval mode and a 1 x 1 convolution are not activations).

The noise is antithetic (``x`` then ``-x``), so an odd activation (tanh, softsign)
measures a mean of exactly zero, whatever the draw.
"""

from __future__ import annotations

from typing import Any, NamedTuple

#: |mean| (on unit noise) from which an activation counts as adding an offset.
OFFSET_THRESHOLD = 1e-3
#: ... and standard errors of the measured mean (SELU's mean on unit noise is 0).
OFFSET_ERRORS = 4.0
#: Samples a changed input sample may move the output by, either side (an
#: anti-aliased activation's up- and down-sampling filters spread it a little).
LOCAL_SPAN = 64
_SAMPLES = 65536  # noise samples in all (doubled by the antithetic half) ...
_LENGTH = (256, 4096)  # ... within these many a channel (256 > 2 * LOCAL_SPAN + 2)


class Offset(NamedTuple):
    """An activation's output mean on zero-mean unit noise, and its standard error
    (that of the even part of the activation, the only part with a mean)."""

    mean: float
    standard_error: float

    @property
    def significant(self) -> bool:
        """``|mean|`` at least :data:`OFFSET_THRESHOLD` and :data:`OFFSET_ERRORS`
        standard errors."""
        return abs(self.mean) >= max(OFFSET_THRESHOLD, OFFSET_ERRORS * self.standard_error)


def _channel_candidates(module: Any, channels: int | None) -> list[int]:
    """Channel counts to try: the upsampler's input channels, the module's own
    attributes, its parameters' longest axis, then 1."""
    found: list[int] = []
    names = ("channels", "num_channels", "num_features", "num_parameters", "in_channels")
    values = [channels] + [getattr(module, n, None) for n in names]
    values += [max(p.shape) for p in module.parameters(recurse=False) if p.dim() > 0]
    for value in values + [1]:
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 4096 \
                and value not in found:
            found.append(value)
    return found


def _run(module: Any, x: Any) -> Any:
    import torch

    y = module(x)
    if not isinstance(y, torch.Tensor) or y.shape != x.shape or not torch.isfinite(y).all():
        return None
    return y.double()


def _is_activation(module: Any, x: Any, y: Any) -> bool:
    """Local in time and not affine (see the module docstring)."""
    import torch

    scale = float(y.abs().max()) + 1e-30
    tolerance = 1e-4 * scale
    middle = x.shape[-1] // 4  # inside the first (non-negated) half
    bumped = x.clone()
    bumped[..., middle] += 1.0
    yb = _run(module, bumped)
    if yb is None:
        return False
    moved = ((yb - y).abs() > tolerance).any(dim=1).reshape(-1).nonzero().reshape(-1)
    if moved.numel() and (int(moved.min()) < middle - LOCAL_SPAN
                          or int(moved.max()) > middle + LOCAL_SPAN):
        return False
    generator = torch.Generator().manual_seed(1)
    other = torch.randn(x.shape, generator=generator).to(x)
    y_other, y_sum, y_zero = (_run(module, v) for v in (other, x + other, torch.zeros_like(x)))
    if y_other is None or y_sum is None or y_zero is None:
        return False
    return bool((y_sum - (y + y_other - y_zero)).abs().max() > tolerance)


def activation_offset(module: Any, channels: int | None = None) -> Offset | None:
    """The output mean of ``module`` on zero-mean unit noise ``(1, C, T)``, or
    ``None`` when it is not an activation (see the module docstring) or cannot run
    on such an input.

    Args:
        module: a ``torch.nn.Module``; it is run in eval mode, without gradients,
            and its training flag is restored.
        channels: ``C`` to try first (e.g. the input channels of the layer it feeds).
    """
    import torch

    if any(sum(size > 1 for size in p.shape) > 1 for p in module.parameters()):
        return None  # weights with two long axes: a convolution or a matrix, not an activation
    parameter = next(iter(module.parameters()), None)
    floating = parameter is not None and parameter.is_floating_point()
    dtype = parameter.dtype if floating else torch.float32
    device = parameter.device if parameter is not None else torch.device("cpu")
    training = module.training
    module.eval()
    try:
        with torch.no_grad():
            for c in _channel_candidates(module, channels):
                length = min(max(_SAMPLES // c, _LENGTH[0]), _LENGTH[1])
                half = torch.randn((1, c, length), generator=torch.Generator().manual_seed(0))
                x = torch.cat([half, -half], dim=-1).to(device=device, dtype=dtype)
                try:
                    y = _run(module, x)
                except Exception:  # noqa: BLE001 - a foreign module may refuse any input
                    continue
                if y is None:
                    continue
                try:
                    if not _is_activation(module, x, y):
                        return None
                except Exception:  # noqa: BLE001
                    return None
                even = (y[..., :length] + y[..., length:]) / 2
                error = float(even.std()) / even.numel() ** 0.5 if even.numel() > 1 else 0.0
                return Offset(float(y.mean()), error)
    finally:
        module.train(training)
    return None
