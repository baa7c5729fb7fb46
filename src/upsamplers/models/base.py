"""What every reference model shares: its constructor configuration, checkpoints
that rebuild it with no user code, and a readable summary.

A model checkpoint is a ``torch.save`` dictionary::

    {"format": "neural-upsamplers/model", "version": 1,
     "class": "Autoencoder", "config": {...constructor arguments...},
     "state_dict": {...}, ...extra entries (training state)...}

It holds only tensors and plain Python values, so it loads with
``torch.load(weights_only=True)``: no pickled code runs when a checkpoint is read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

CHECKPOINT_FORMAT = "neural-upsamplers/model"
CHECKPOINT_VERSION = 1

# class name -> class; filled by register_model
MODEL_CLASSES: dict[str, type[ReferenceModel]] = {}


def register_model(cls: type[ReferenceModel]) -> type[ReferenceModel]:
    """Class decorator: make ``cls`` loadable from checkpoints by its name."""
    MODEL_CLASSES[cls.__name__] = cls
    return cls


def _plain(value: Any) -> Any:
    """Configuration values as plain Python (tuples become lists)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"model configuration values must be plain Python values; "
                    f"received {type(value).__name__}: {value!r}")


def atomic_torch_save(obj: Any, path: str | os.PathLike[str]) -> Path:
    """``torch.save`` to a temporary file in the same folder, flushed to disk, then
    renamed over ``path``: a reader (or a crash) sees the old file or the new one,
    never a partial one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    try:  # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. platforms without directory fds
        return path
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint written by :meth:`ReferenceModel.save`; ``ValueError``
    naming the file when it is missing, corrupt or not a model checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"checkpoint {path} cannot be read (corrupt or not a checkpoint: "
                         f"{reason})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a neural-upsamplers model checkpoint")
    if payload.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"{path} has checkpoint version {payload.get('version')!r}; this "
                         f"version of neural-upsamplers reads version {CHECKPOINT_VERSION}")
    if payload.get("class") not in MODEL_CLASSES:
        raise ValueError(f"{path} holds a model of class {payload.get('class')!r}; known "
                         f"classes: {', '.join(sorted(MODEL_CLASSES))}")
    return payload


def load_model(path: str | os.PathLike[str]) -> ReferenceModel:
    """Rebuild a model from its checkpoint: class, constructor arguments, weights."""
    payload = read_checkpoint(path)
    return model_from_checkpoint(payload)


def model_from_checkpoint(payload: Mapping[str, Any]) -> ReferenceModel:
    """Rebuild a model from a checkpoint dictionary (see :func:`read_checkpoint`)."""
    cls = MODEL_CLASSES[payload["class"]]
    model = cls(**payload["config"])
    model.load_state_dict(payload["state_dict"])
    return model


class ReferenceModel(nn.Module):
    """Base class of the reference models: keeps ``config`` (the constructor's
    arguments, plain values) so that a checkpoint can rebuild the model."""

    config: dict[str, Any]

    def _remember(self, **config: Any) -> None:
        self.config = _plain(config)

    def checkpoint(self, **extra: Any) -> dict[str, Any]:
        """The checkpoint dictionary of this model, with ``extra`` entries."""
        return {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "class": type(self).__name__,
            "config": self.config,
            "state_dict": {k: v.detach().cpu().clone() for k, v in self.state_dict().items()},
            **extra,
        }

    def save(self, path: str | os.PathLike[str], **extra: Any) -> Path:
        """Write the checkpoint atomically (temporary file + rename)."""
        return atomic_torch_save(self.checkpoint(**extra), path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ReferenceModel:
        """Rebuild a model saved with :meth:`save`; it must be of this class
        (``ReferenceModel.load`` accepts every class)."""
        model = load_model(path)
        if not isinstance(model, cls):
            raise ValueError(f"{path} holds a {type(model).__name__}, not a {cls.__name__}")
        return model

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def example_input(self, batch: int = 1) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def summary(self, batch: int = 1) -> str:
        """A table of the layers, their output shapes and parameter counts, for
        :meth:`example_input` (upsamplers are shown as one layer)."""
        from ..layers import _Upsampler

        rows: list[tuple[str, str, str, int]] = []
        hooks = []

        def unit(module: nn.Module) -> bool:
            return (isinstance(module, (_Upsampler, nn.LSTM))
                    or getattr(module, "summary_unit", False) or not any(module.children()))

        def visit(prefix: str, module: nn.Module) -> None:
            for name, child in module.named_children():
                full = f"{prefix}.{name}" if prefix else name
                if unit(child):
                    hooks.append(child.register_forward_hook(record(full)))
                else:
                    visit(full, child)

        def record(name: str):
            def hook(module: nn.Module, inputs: Any, output: Any) -> None:
                out = output[0] if isinstance(output, tuple) else output
                shape = "x".join(str(s) for s in out.shape)
                rows.append((name, type(module).__name__, shape,
                             sum(p.numel() for p in module.parameters())))
            return hook

        visit("", self)
        try:
            with torch.no_grad():
                x = self.example_input(batch)
                y = self(x)
        finally:
            for h in hooks:
                h.remove()
        out_shape = "x".join(str(s) for s in y.shape)
        in_shape = "x".join(str(s) for s in x.shape)
        width = max([len(r[0]) for r in rows] + [5])
        twidth = max([len(r[1]) for r in rows] + [4])
        swidth = max([len(r[2]) for r in rows] + [12])
        lines = [f"{type(self).__name__}: input {in_shape} -> output {out_shape}",
                 f"{'layer':<{width}}  {'type':<{twidth}}  {'output shape':<{swidth}}  "
                 f"{'parameters':>10}"]
        lines.append("-" * len(lines[-1]))
        for name, kind, shape, params in rows:
            lines.append(f"{name:<{width}}  {kind:<{twidth}}  {shape:<{swidth}}  {params:>10,}")
        lines.append(f"total parameters: {self.num_parameters():,}")
        return "\n".join(lines)


def check_upsampler_kind(kind: Any) -> str:
    from .._checks import check_choice
    from ..layers import upsampler_kinds

    return check_choice("upsampler", kind, upsampler_kinds())


def check_options(name: str, options: Any) -> dict[str, Any]:
    if options is None:
        return {}
    if not isinstance(options, Mapping) or not all(isinstance(k, str) for k in options):
        raise TypeError(f"{name} must be a dict of keyword arguments; received {name}={options!r}")
    return dict(options)
