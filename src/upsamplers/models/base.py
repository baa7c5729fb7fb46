"""The :class:`ReferenceModel` interface: what training, evaluation, inference
and ``compare`` may ask of a model, so that none of them names a model class.

A model declares

* ``name``: its key in the one registry :data:`MODELS` (``"autoencoder"``,
  ``"demucs"``, ``"melgan"``); checkpoints keep the class name;
* ``audio_channels``, ``sample_rate``, ``length`` (its training length, the
  default chunk);
* ``separates`` and ``source_names``: whether it maps a mixture to sources;
* ``dataset_kind``: ``"stems"`` (a stem folder: mixture and sources) or
  ``"audio"`` (any folder of signals: files, or the mixtures of a stem folder);
* ``hop`` and :meth:`~ReferenceModel.valid_length`: its length granularity;
* ``rate_ratio``: output samples per input sample (1, except for a model that
  raises the rate, such as bandwidth extension: its input is the audio at
  ``sample_rate / rate_ratio``, its output at ``sample_rate``);
* :meth:`~ReferenceModel.training_pair`: how a data set batch becomes
  ``(inputs, targets)`` for the loss ``loss(model(inputs), targets)``;
* ``metrics`` (the first is the primary one) and
  :meth:`~ReferenceModel.scoring_pair`: how :mod:`upsamplers.scoring` scores it
  on whole validation signals;
* ``receptive_field`` (computed from its layers, ``None`` when unbounded),
  ``exact_chunking`` and :meth:`~ReferenceModel.signal_statistics`: whether, and
  with what context, a long signal can be chunked exactly;
* :meth:`~ReferenceModel.process` (audio in, audio out, one chunk) and
  :meth:`~ReferenceModel.process_long` (a whole signal, chunked: exactly, keeping
  each chunk's centre, where the model allows, else cross-faded).

A model checkpoint is a ``torch.save`` dictionary::

    {"format": "neural-upsamplers/model", "version": 1,
     "class": "Autoencoder", "config": {...constructor arguments...},
     "state_dict": {...}, ...extra entries (training state)...}

It holds only tensors and plain Python values, so it loads with
``torch.load(weights_only=True)``: no pickled code runs when a checkpoint is read.
"""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from .._checks import (
    InvalidType,
    InvalidValue,
    UserFileError,
    check_choice,
    check_positive_int,
    missing_file,
)
from .._io import atomic_torch_save, plain
from ..layers import upsampler_kinds
from ._summary import summary_table
from .chunking import DEFAULT_OVERLAP, centre_chunks, overlap_add

CHECKPOINT_FORMAT = "neural-upsamplers/model"
CHECKPOINT_VERSION = 1

# THE registry: model name (the command line's --model) -> class; filled by register_model
MODELS: dict[str, type[ReferenceModel]] = {}

DATASET_KINDS = ("audio", "stems")


def register_model(cls: type[ReferenceModel]) -> type[ReferenceModel]:
    """Class decorator: make ``cls`` buildable by its ``name`` and loadable from
    checkpoints (which record its class name)."""
    if cls.dataset_kind not in DATASET_KINDS:  # pragma: no cover - a programming error
        raise ValueError(f"{cls.__name__}.dataset_kind must be one of {DATASET_KINDS}")
    MODELS[cls.name] = cls
    return cls


def model_class(name: str) -> type[ReferenceModel]:
    """The class registered under ``name``; ``InvalidValue`` naming the known ones."""
    return MODELS[check_choice("model", name, MODELS)]


def class_by_checkpoint_name(class_name: Any) -> type[ReferenceModel] | None:
    """The registered class whose ``__name__`` is ``class_name`` (a checkpoint's
    ``"class"`` entry), or ``None``."""
    for cls in MODELS.values():
        if cls.__name__ == class_name:
            return cls
    return None


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint written by :meth:`ReferenceModel.save`;
    :class:`~upsamplers._checks.UserFileError` naming the file when it is missing,
    corrupt or not a model checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise UserFileError(f"checkpoint {path} {missing_file(path)}")
    try:
        with warnings.catch_warnings():  # torch's advice on a file in an old pickle format:
            # the error below says it all, in one line
            warnings.filterwarnings("ignore", "Detected pickle protocol", UserWarning)
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise UserFileError(f"checkpoint {path} cannot be read (corrupt or not a checkpoint: "
                            f"{_load_failure(error)})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise UserFileError(f"{path} is not a neural-upsamplers model checkpoint")
    if payload.get("version") != CHECKPOINT_VERSION:
        raise UserFileError(f"{path} has checkpoint version {payload.get('version')!r}; this "
                            f"version of neural-upsamplers reads version {CHECKPOINT_VERSION}")
    if class_by_checkpoint_name(payload.get("class")) is None:
        known = sorted(cls.__name__ for cls in MODELS.values())
        raise UserFileError(f"{path} holds a model of class {payload.get('class')!r}; known "
                            f"classes: {', '.join(known)}")
    bad = _first_nonfinite(payload.get("state_dict"))
    if bad is not None:
        raise UserFileError(f"checkpoint {path} holds non-finite weights (NaN or infinity), "
                            f"first in parameter {bad!r}; the run that wrote it diverged: use "
                            f"an earlier checkpoint or train again")
    return payload


def _load_failure(error: Exception) -> str:
    """One line on why ``torch.load(..., weights_only=True)`` failed. Torch's own
    message for a file holding objects that are not tensors or plain values
    suggests loading it "with weights_only=False", which would run whatever code
    the file holds: that advice is never repeated."""
    text = str(error).strip()
    if "weights_only" in text or "Weights only" in text:
        return ("it holds objects other than tensors and plain values, which are never "
                "loaded; a neural-upsamplers checkpoint holds none")
    if "central directory" in text or "zip archive" in text:
        # torch's text goes on for several sentences about miniz and how to save
        return "the file is truncated or not a zip archive as torch.save writes"
    if isinstance(error, EOFError) and not text:
        return "the file is empty or truncated"
    if "unpack requires" in text:  # struct.error of the legacy format's reader
        return "the file is truncated or not a file torch.save wrote"
    return text.splitlines()[0] if text else type(error).__name__


def _first_nonfinite(state: Any) -> str | None:
    """The name of the first floating-point tensor of ``state`` (a state dict)
    holding a NaN or an infinity, else ``None``."""
    if not isinstance(state, Mapping):
        return None
    for name, value in state.items():
        if (isinstance(value, torch.Tensor) and value.is_floating_point()
                and not bool(torch.isfinite(value).all())):
            return str(name)
    return None


def load_model(path: str | os.PathLike[str]) -> ReferenceModel:
    """Rebuild a model from its checkpoint: class, constructor arguments, weights."""
    payload = read_checkpoint(path)
    return model_from_checkpoint(payload)


def model_from_checkpoint(payload: Mapping[str, Any]) -> ReferenceModel:
    """Rebuild a model from a checkpoint dictionary (see :func:`read_checkpoint`);
    configurations saved under old argument names are read too."""
    cls = class_by_checkpoint_name(payload["class"])
    if cls is None:  # pragma: no cover - read_checkpoint checked it
        raise UserFileError(f"unknown model class {payload['class']!r}")
    model = cls(**cls.upgrade_config(payload["config"]))
    model.load_state_dict(payload["state_dict"])
    return model


def renamed_arguments(owner: str, given: Mapping[str, Any], renames: Mapping[str, str],
                      current: dict[str, Any], *, stacklevel: int = 3) -> dict[str, Any]:
    """Map deprecated keyword arguments ``given`` (old name -> value) onto
    ``current`` (new name -> value) with a ``FutureWarning`` per old name.

    ``current`` holds the new names' values as passed (``None`` when not passed).
    ``InvalidType`` for an unknown keyword, ``InvalidValue`` when both names are given.
    """
    out = dict(current)
    for old, value in given.items():
        if old not in renames:
            raise InvalidType(f"{owner}() got an unexpected keyword argument {old!r}")
        new = renames[old]
        if out.get(new) is not None:
            raise InvalidValue(f"{owner}: pass {new}, not both {new} and its old name {old}")
        warnings.warn(f"{owner}({old}=...) is deprecated; use {new}=...", FutureWarning,
                      stacklevel=stacklevel)
        out[new] = value
    return out


class ReferenceModel(nn.Module):
    """Base class of the reference models (see the module docstring for the
    interface). Keeps ``config`` (the constructor's arguments, plain values) so
    that a checkpoint can rebuild the model.

    Subclasses set the class attributes, and in ``__init__`` the instance
    attributes ``audio_channels``, ``sample_rate``, ``length``, ``hop`` (and
    ``source_names`` for a separator).
    """

    #: key in :data:`MODELS` and the command line's ``--model``
    name: ClassVar[str]
    #: ``True`` when the model maps a mixture ``(B, C, T)`` to sources ``(B, S, C, T)``
    separates: ClassVar[bool] = False
    #: the data it learns from: ``"stems"`` (stem folder: ``(mixture, sources)``
    #: items) or ``"audio"`` (single signals: files, or a stem folder's mixtures)
    dataset_kind: ClassVar[str] = "audio"
    #: ``True`` when ``forward`` takes every length (padding inside to
    #: :meth:`valid_length`), ``False`` when lengths must be multiples of ``hop``
    pads_input: ClassVar[bool] = False
    #: old constructor argument name -> new name (read from old checkpoints)
    renamed_config: ClassVar[dict[str, str]] = {}
    #: what :mod:`upsamplers.scoring` computes for it (names of
    #: ``upsamplers.scoring.METRIC_INFO``); the first is the primary metric (training
    #: curves, rankings)
    metrics: ClassVar[tuple[str, ...]] = ("si_sdr", "sdr")
    #: the simplest non-learned answer to the model's task (:meth:`baseline`), in a
    #: few words for reports
    baseline_name: ClassVar[str] = ""

    config: dict[str, Any]
    #: channels of the audio the model takes and returns
    audio_channels: int
    #: audio rate the model is trained at (inference resamples other rates)
    sample_rate: int
    #: the length it is built for, in output samples: training crop, ``summary``
    #: and default chunk (``length // rate_ratio`` input samples)
    length: int
    #: length granularity, in output samples: the product of its upsampling
    #: factors; training crops are multiples of it, and, unless ``pads_input``,
    #: every input is a multiple of :attr:`input_hop` (``hop // rate_ratio``)
    hop: int
    #: output samples per input sample: 1, except for a model that raises the rate
    #: (it divides ``hop``)
    rate_ratio: int = 1
    #: names of the separated sources (empty unless ``separates``)
    source_names: tuple[str, ...] = ()

    def _remember(self, **config: Any) -> None:
        self.config = plain(config, strict=True)

    # ---- class-level answers, before a model is built
    @classmethod
    def check_option_names(cls, options: Mapping[str, Any], name: str = "model_options") -> None:
        """``InvalidType`` naming the first of ``options`` that the constructor does
        not take (its old names are taken), before any data is read or work done."""
        params = inspect.signature(cls.__init__).parameters.values()
        known = sorted(p.name for p in params if p.name != "self"
                       and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
        unknown = sorted(set(options) - set(known) - set(cls.renamed_config))
        if unknown:
            raise InvalidType(f"{name}: {cls.__name__} takes no argument {', '.join(unknown)}; "
                              f"it takes {', '.join(known)}; received {name}={dict(options)!r}")

    @classmethod
    def upgrade_config(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        """``config`` with old argument names replaced by the current ones (no
        warning: for configurations stored in checkpoints and training runs)."""
        out = {}
        for key, value in config.items():
            new = cls.renamed_config.get(key, key)
            if new in config and new != key:
                raise InvalidValue(f"configuration holds both {new} and its old name {key}")
            out[new] = value
        return out

    @classmethod
    def audio_channels_of(cls, options: Mapping[str, Any]) -> int:
        """The audio channels a model built with constructor ``options`` takes."""
        return int(cls.upgrade_config(options).get("audio_channels", 1))

    @classmethod
    def options_for_data(cls, options: Mapping[str, Any], dataset: Any) -> dict[str, Any]:
        """Constructor ``options`` completed from the training data set (e.g. a
        separator's sources from the stems of its stem folder)."""
        return dict(options)

    # ---- lengths
    def valid_length(self, length: int) -> int:
        """Smallest multiple of ``hop`` that is ``>= length``."""
        length = check_positive_int("length", length)
        return -(-length // self.hop) * self.hop

    @property
    def input_hop(self) -> int:
        """Length granularity of the input, in input samples: ``hop // rate_ratio``
        (``hop`` for a model that keeps the rate)."""
        return self.hop // self.rate_ratio

    def valid_input_length(self, length: int) -> int:
        """Smallest multiple of :attr:`input_hop` that is ``>= length`` (input
        samples; :meth:`valid_length` for a model that keeps the rate)."""
        length = check_positive_int("length", length)
        return -(-length // self.input_hop) * self.input_hop

    def check_multiple_of_hop(self, name: str, value: int) -> int:
        """``value`` if it is a multiple of ``hop``, else ``InvalidValue`` naming ``name``."""
        if value % self.hop:
            raise InvalidValue(f"{name} must be a multiple of {self.hop} for this model; "
                               f"received {name}={value}")
        return value

    # ---- data
    def training_pair(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """``(inputs, targets)`` of a data set batch, for ``loss(model(inputs),
        targets)``. Default (an autoencoder): the batch ``(B, C, T)`` is both."""
        return batch, batch

    def baseline(self, audio: torch.Tensor) -> torch.Tensor:
        """The simplest non-learned answer to the model's task for the input
        ``audio`` ``(C, T)`` that :meth:`process_long` would get (the first of
        :meth:`scoring_pair`): what a trained model must beat
        (:mod:`upsamplers.models.baselines`). Every reference model defines it.

        Shape: that of :meth:`process_long`'s output.
        """
        raise NotImplementedError(f"{type(self).__name__} has no baseline")

    def example_input(self, batch: int = 1) -> torch.Tensor:  # pragma: no cover - abstract
        """A zero input of ``forward`` for ``length`` samples of audio."""
        raise NotImplementedError

    def scoring_pair(self, signal: torch.Tensor, sources: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(model input (C, T'), target)`` of a whole validation signal ``(C, T)``
        with its ``sources`` ``(S, C, T)``, for :mod:`upsamplers.scoring`. Default:
        the signal is the input; the target is ``sources`` for a separator, else
        the signal itself (an autoencoder reconstructs it)."""
        return signal, sources if self.separates else signal

    # ---- chunked processing of long signals
    @property
    def receptive_field(self) -> int | None:
        """Input samples on either side of an output sample that can change it (the
        larger side; the zero padding of every layer included), computed from the
        layers; ``None`` when an output can read the whole input (a recurrent
        layer, a bottleneck of fixed length): then chunking cannot be exact.
        Default ``None``."""
        return None

    @property
    def exact_chunking(self) -> bool:
        """Whether :meth:`process_long` (with no explicit ``overlap``) gives what one
        whole-signal pass gives, to float rounding: the model is convolutional
        (:attr:`receptive_field` is known) and whatever it computes from its whole
        input is given by :meth:`signal_statistics`."""
        return self.receptive_field is not None

    @property
    def chunk_context(self) -> int | None:
        """Input samples dropped at each side of an inner chunk by exact chunking:
        :attr:`receptive_field` rounded up to a multiple of :attr:`input_hop`
        (``None`` when it is unknown)."""
        field = self.receptive_field
        return None if field is None else -(-field // self.input_hop) * self.input_hop

    def signal_statistics(self, audio: torch.Tensor) -> torch.Tensor | None:
        """What the model computes from the whole of its input (e.g. the level it
        normalises by), for ``audio`` ``(B, C, T)``: a ``(B, ...)`` tensor that
        :meth:`process` takes as ``statistics`` so that every chunk of a long
        signal uses the whole signal's. Default ``None`` (it computes none)."""
        return None

    # ---- audio in, audio out
    def process(self, audio: torch.Tensor, statistics: torch.Tensor | None = None
                ) -> torch.Tensor:
        """Audio through the model: ``(N, C, T) -> (N, C, T * rate_ratio)``, or
        ``(N, S, C, T)`` for a separator. ``statistics``: :meth:`signal_statistics` of the signal
        the chunk belongs to (``None``: of ``audio`` itself). Default: ``forward``."""
        return self(audio)

    def process_long(
        self,
        audio: torch.Tensor,
        *,
        chunk: int | None = None,
        overlap: int | None = None,
        batch: int = 8,
        device: torch.device | str | None = None,
        fold_channels: bool = False,
        progress: bool = False,
    ) -> torch.Tensor:
        """A whole signal through :meth:`process`, in chunks of ``chunk`` input samples
        (default ``length // rate_ratio``).

        * With ``overlap`` ``None`` and :attr:`exact_chunking`: exactly one
          whole-signal pass (``process`` of the signal zero-padded to
          :meth:`valid_length`, cropped), to float rounding. Chunks overlap by
          ``2 * chunk_context`` and only their centres are kept
          (:func:`~upsamplers.models.chunking.centre_chunks`); every chunk gets the
          whole signal's :meth:`signal_statistics`. ``chunk`` must be a multiple of
          :attr:`input_hop` (rounded up to one if ``pads_input``); the default grows
          to ``2 * chunk_context`` plus the default when that is not longer than
          twice the context; a ``chunk`` given that is not is an ``InvalidValue``.
        * Otherwise (an explicit ``overlap``, or a model that cannot be chunked
          exactly): chunks overlapping by ``overlap`` (default a quarter of the
          chunk), cross-faded (:func:`~upsamplers.models.chunking.overlap_add`);
          chunks must be multiples of :attr:`input_hop` unless ``pads_input``.

        ``device``: where the chunks run (the result comes back to the CPU).
        ``fold_channels``: run every channel of ``audio`` on its own through a mono
        model.

        Shape: ``(C, T) -> (C, T * rate_ratio)``, or ``(S, C, T)`` for a separator.
        """
        if chunk is not None:
            chunk = check_positive_int("chunk", chunk)
        if overlap is None and self.exact_chunking:
            return self._process_exact(audio, chunk, batch=batch, device=device,
                                       fold_channels=fold_channels, progress=progress)
        chunk = self.length // self.rate_ratio if chunk is None else chunk
        overlap = int(chunk * DEFAULT_OVERLAP) if overlap is None else overlap
        if not self.pads_input:
            self._check_input_chunk(chunk)
        run = self._chunk_runner(device, fold_channels, None)
        return overlap_add(run, audio, chunk=chunk, overlap=overlap, batch=batch,
                           progress=progress, ratio=self.rate_ratio)

    def _check_input_chunk(self, chunk: int) -> int:
        """``chunk`` (input samples) if it is a multiple of :attr:`input_hop`."""
        if self.rate_ratio == 1:
            return self.check_multiple_of_hop("chunk", chunk)
        if chunk % self.input_hop:
            raise InvalidValue(f"chunk must be a multiple of {self.input_hop} input samples "
                               f"for this model; received chunk={chunk}")
        return chunk

    def _process_exact(self, audio: torch.Tensor, chunk: int | None, *, batch: int,
                       device: torch.device | str | None, fold_channels: bool,
                       progress: bool) -> torch.Tensor:
        """:meth:`process_long` by :func:`~upsamplers.models.chunking.centre_chunks`."""
        context = self.chunk_context
        assert context is not None
        if chunk is None:
            default = self.length // self.rate_ratio
            chunk = self.valid_input_length(default)
            if chunk <= 2 * context:
                chunk = self.valid_input_length(2 * context + default)
        else:
            chunk = self.valid_input_length(chunk) if self.pads_input else (
                self._check_input_chunk(chunk))
            if chunk <= 2 * context:
                raise InvalidValue(
                    f"chunk must be longer than {2 * context} samples (twice the model's "
                    f"receptive field, {context} samples, on each side) for exact chunking; "
                    f"received chunk={chunk} (pass an overlap to cross-fade shorter chunks)")
        whole = audio.reshape(-1, 1, audio.shape[-1]) if fold_channels else audio[None]
        statistics = self.signal_statistics(whole.to(device) if device is not None else whole)
        run = self._chunk_runner(device, fold_channels, statistics)
        return centre_chunks(run, audio, chunk=chunk, context=context, hop=self.input_hop,
                             batch=batch, pad=not self.pads_input, progress=progress,
                             ratio=self.rate_ratio)

    def _chunk_runner(self, device: torch.device | str | None, fold_channels: bool,
                      statistics: torch.Tensor | None
                      ) -> Callable[[torch.Tensor], torch.Tensor]:
        """The function that chunking applies: ``(N, C, L) -> (N, C, L * rate_ratio)``
        or ``(N, S, C, L)``, with ``statistics`` ``(B, ...)`` of the whole signal
        (``B = C`` when folding channels, else 1) handed to every chunk."""

        def run(x: torch.Tensor) -> torch.Tensor:
            if device is not None:
                x = x.to(device)
            stats = None
            if statistics is not None:  # row n * C + c of a folded batch is channel c
                stats = statistics.repeat(x.shape[0], *[1] * (statistics.dim() - 1))
            if fold_channels:  # (N, C, T) -> (N * C, 1, T) -> (N, *S, C, T)
                y = self.process(x.reshape(-1, 1, x.shape[-1]), statistics=stats)
                y = y.reshape(x.shape[0], x.shape[1], *y.shape[1:-2], y.shape[-1])
                y = y.movedim(1, -2)
            else:
                y = self.process(x, statistics=stats)
            return y.cpu() if device is not None else y

        return run

    # ---- checkpoints
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
            raise UserFileError(f"{path} holds a {type(model).__name__}, not a {cls.__name__}")
        return model

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def summary(self, batch: int = 1) -> str:
        """A table of the layers, their output shapes and parameter counts, for
        :meth:`example_input` (upsamplers are shown as one layer)."""
        return summary_table(self, batch)


def check_upsampler_kind(kind: Any) -> str:
    return check_choice("upsampler", kind, upsampler_kinds())


def check_options(name: str, options: Any) -> dict[str, Any]:
    if options is None:
        return {}
    if not isinstance(options, Mapping) or not all(isinstance(k, str) for k in options):
        raise InvalidType(f"{name} must be a dict of keyword arguments; "
                          f"received {name}={options!r}")
    return dict(options)


def check_int_sequence(name: str, values: Any) -> list[int]:
    """A non-empty sequence of positive integers, as a list."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise InvalidType(f"{name} must be a non-empty sequence of positive integers; "
                          f"received {name}={values!r}")
    return [check_positive_int(f"{name}[]", v) for v in values]
