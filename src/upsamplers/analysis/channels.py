"""The input channels of a model that ``audit``, ``aliasing`` and ``tone_measures`` feed.

A ``torch.nn.Module`` does not say how many channels its input has. The count is
guessed from its layers (:func:`candidate_in_channels`) and settled by running the
caller's dry run on each guess in turn (:func:`settle_in_channels`): the first
count the model runs on is taken. A count the user gives is never second-guessed:
if the model fails on it, one line says so with the model's own error. Either
way a failure is one :class:`~upsamplers._checks.InvalidValue` naming the option
(``--in-channels``), never the model's traceback.

Guessing from attributes alone fails on real models: a hybrid separator whose
spectrogram branch (a ``Conv2d`` over real and imaginary parts) is registered
first, or a codec decoder whose ``channels`` attribute means its audio channels
while its first convolution takes 128 latent channels.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from .._checks import InvalidValue

#: Most guesses tried before giving up (each is one short run of the model).
MAX_GUESSES = 6

#: Longest excerpt of the model's error quoted in a message (its first line).
MAX_ERROR_CHARS = 160

T = TypeVar("T")


def candidate_in_channels(module: Any) -> tuple[int, ...]:
    """Input-channel counts worth trying on ``module``, most likely first: the
    ``in_channels`` of its ``Conv1d`` / ``ConvTranspose1d`` layers (registration
    order), then any other layer's integer ``in_channels`` (a ``Conv2d`` of a
    spectrogram branch, a custom layer), then integer ``channels`` attributes,
    then 1 (an elementwise module). Each count once."""
    from torch import nn

    convs, others, attrs = [], [], []
    for m in module.modules():
        if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d)):
            convs.append(int(m.in_channels))
            continue
        for name, bucket in (("in_channels", others), ("channels", attrs)):
            with warnings.catch_warnings():  # a deprecated alias is still a count
                warnings.simplefilter("ignore", (DeprecationWarning, FutureWarning))
                value = getattr(m, name, None)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
                bucket.append(value)
    return tuple(dict.fromkeys([*convs, *others, *attrs, 1]))


def settle_in_channels(module: Any, given: int | None, run: Callable[[int], T], *,
                       name: str = "in_channels") -> tuple[int, T]:
    """The input channels of ``module`` and what ``run(channels)`` (the caller's
    dry run on zeros) returned for them.

    ``given`` (the user's count) is run as it is. Otherwise the counts of
    :func:`candidate_in_channels` are run in turn (at most :data:`MAX_GUESSES`);
    when a run fails, the first ``Conv1d`` / ``ConvTranspose1d`` that the forward
    pass reached is tried next (the layer the input met first, whatever the
    registration order). The first count the model runs on is taken.

    Raises:
        InvalidValue: one line naming ``name`` and ``--in-channels`` with the
            model's error (its first line), when the model's forward fails on
            ``given`` or on every guess (whatever it raises: this package's own
            layers raise ``InvalidValue`` naming only their ``x``). An error
            raised once the forward has returned (``run`` refusing the output,
            e.g. of the wrong shape) passes through unchanged.
    """
    if given is not None:
        finished: list[bool] = []
        try:
            with _watch(module, [], finished):
                return given, run(given)
        except Exception as error:  # the user's model: its error in one line
            if finished:  # the model ran; the caller refused what it gave
                raise
            raise InvalidValue(
                f"{name} (--in-channels) must be the model's input channels: the model "
                f"failed on {given}: {condense(error)}; received {name}={given}") from None
    queue = list(candidate_in_channels(module))
    tried: list[int] = []
    first_error: Exception | None = None
    while queue and len(tried) < MAX_GUESSES:
        channels = queue.pop(0)
        tried.append(channels)
        reached: list[int] = []
        finished = []
        try:
            with _watch(module, reached, finished):
                return channels, run(channels)
        except Exception as error:  # the user's model: try the next guess
            if finished:  # the model ran; the caller refused what it gave
                raise
            first_error = first_error or error
        if reached and reached[0] not in tried:
            queue = [reached[0], *[c for c in queue if c != reached[0]]]
    raise InvalidValue(
        f"could not run the model on the input channels guessed from its layers "
        f"({', '.join(map(str, tried))}): with {tried[0]} it failed: {condense(first_error)}; "
        f"give the model's input channels with {name}= (--in-channels)")


def condense(error: BaseException | None) -> str:
    """``Type: first line of the message``, at most :data:`MAX_ERROR_CHARS` long."""
    if error is None:
        return "no run"
    text = " ".join((str(error).splitlines() or [""])[0].split())
    if len(text) > MAX_ERROR_CHARS:
        text = text[:MAX_ERROR_CHARS - 3] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


@contextmanager
def _watch(module: Any, reached: list[int], finished: list[bool]) -> Iterator[None]:
    """Records into ``reached`` the ``in_channels`` of every ``Conv1d`` /
    ``ConvTranspose1d`` in the order the forward pass reaches them (pre-hooks:
    recorded even when that layer then fails on its input), and into ``finished``
    that ``module``'s forward returned: an error raised after that is the caller's
    (e.g. an output of the wrong shape), not the model's."""
    from torch import nn

    def pre_hook(mod: Any, inputs: Any) -> None:
        reached.append(int(mod.in_channels))

    handles = [m.register_forward_pre_hook(pre_hook) for m in module.modules()
               if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d))]
    handles.append(module.register_forward_hook(lambda *_: finished.append(True)))
    try:
        yield
    finally:
        for h in handles:
            h.remove()
