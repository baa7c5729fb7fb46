"""Load the model that ``upsamplers audit`` and ``upsamplers lint`` analyse.

A ``TARGET`` names a model factory: ``path/to/file.py:NAME`` or
``package.module:NAME``. ``NAME`` is a function (called without arguments) or
a module-level object; it must give a ``torch.nn.Module`` (or, for ``audit``
and ``aliasing``, a callable mapping a numpy array to a numpy array: a function
of one required argument is taken as that, and one that turns out to build a
model is named as a factory that needs arguments).

``upsamplers aliasing`` also takes built-in targets
(:func:`load_aliasing_target`): an activation by name, anti-aliased or not, or
an upsampler by kind.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from .._checks import InvalidValue, UserFileError, UserInputError
from .channels import condense


def load_target(target: str) -> Any:
    """Build the model named by ``PATH_OR_MODULE:FACTORY``.

    Raises:
        InvalidValue: for a ``target`` that is not ``PATH_OR_MODULE:FACTORY``.
        UserFileError: for a missing file, or one that cannot be imported.
        UserInputError: for a module that cannot be imported, a missing, failing
            or unusable factory. Every message is one line.
    """
    if ":" not in target:
        hint = ""
        if Path(target).is_file() and Path(target).suffix.lower() in (".pt", ".pth", ".ckpt"):
            hint = (f", a file: a checkpoint trained with this package is audited by "
                    f"'upsamplers evaluate --checkpoint {target}' (it scores the model and "
                    "audits its decoder)")
        raise InvalidValue(f"TARGET must be PATH_OR_MODULE:FACTORY (e.g. model.py:build); "
                           f"received {target!r}{hint}")
    where, _, name = target.rpartition(":")
    if not where or not name:
        raise InvalidValue(f"TARGET must be PATH_OR_MODULE:FACTORY; received {target!r}")
    if not (where.endswith(".py") or "/" in where or Path(where).is_file()):
        try:
            module = importlib.import_module(where)
        except Exception as error:  # the user's module: report it in one line
            raise UserInputError(f"cannot import {where}: {type(error).__name__}: {error}"
                                 ) from None
        return _factory_of(module, where, name)
    path = Path(where)
    if not path.is_file():
        raise UserFileError(f"{where}: no such file")
    with _folder_on_path(path.resolve().parent):
        return _factory_of(_import_file(path, where), where, name)


def _factory_of(module: ModuleType, where: str, name: str) -> Any:
    """What ``module``'s ``name`` builds (:func:`_build`)."""
    if not hasattr(module, name):
        public = sorted(n for n in vars(module) if not n.startswith("_"))[:12]
        raise UserInputError(f"{where} does not define {name!r}; it defines: "
                             f"{', '.join(public) or 'nothing public'}")
    return _build(getattr(module, name), f"{where}:{name}")


@contextmanager
def _folder_on_path(folder: Path) -> Iterator[None]:
    """``folder`` first on ``sys.path`` while the user's file is imported and its
    factory runs (a factory may import its neighbours lazily). Only the entry put
    here is taken out again, found by identity: the user's code may insert its own
    entries (e.g. a ``lib`` folder) at the front, and they stay."""
    entry = str(folder)  # a new object: identity tells it from an equal user entry
    sys.path.insert(0, entry)
    try:
        yield
    finally:
        for index, item in enumerate(sys.path):
            if item is entry:
                del sys.path[index]
                break


def _import_file(path: Path, where: str) -> ModuleType:
    """Import the Python file ``path`` (named ``where`` in messages)."""
    spec = importlib.util.spec_from_file_location(f"_upsamplers_target_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise UserFileError(f"{where}: cannot be imported as a Python file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # the user's code: report it in one line
        raise UserFileError(f"{where}: importing it failed: "
                            f"{type(error).__name__}: {error}") from None
    return module


def _build(factory: Any, label: str) -> Any:
    """The model ``factory`` gives: a module as it is, a class or a function without
    required arguments called, a function of one required argument as the model
    itself (:class:`ArrayCallable`: a callable mapping a numpy array to an array,
    which ``audit`` and ``aliasing`` take), any other callable as it is. A function
    of two or more required arguments can be neither: refused, naming them."""
    import torch

    if isinstance(factory, torch.nn.Module):
        return factory
    required = _required_parameters(factory) if callable(factory) else None
    if isinstance(factory, type) or required == ():
        try:
            return factory()
        except Exception as error:  # the user's code: report it in one line
            raise UserInputError(f"{label}() failed: {type(error).__name__}: {error}"
                                 ) from None
    if required is not None and len(required) > 1:
        raise UserInputError(f"{label} could not be called without arguments: it requires "
                             f"{', '.join(required)}; {FACTORY_RULE}")
    if required:
        return ArrayCallable(factory, label, required)
    if callable(factory):
        return factory
    raise UserInputError(f"{label} is a {type(factory).__name__}, not a model factory")


#: What a target's factory must be, for the messages that refuse one.
FACTORY_RULE = ("a factory must build the model without arguments (e.g. def build(): "
                "return MyModel(k=2))")


def _required_parameters(fn: Callable[..., Any]) -> tuple[str, ...] | None:
    """The parameters ``fn`` cannot be called without (``None``: no signature)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    return tuple(p.name for p in sig.parameters.values()
                 if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))


class ArrayCallable:
    """A target function of one required argument, taken as the model itself: a
    callable mapping a numpy array to a numpy array. If a call fails, or gives
    anything but an array of numbers (e.g. a ``torch.nn.Module``: the function was a
    factory that needs an argument), one line says that it could not be called
    without arguments, naming it and its required parameter."""

    def __init__(self, fn: Callable[..., Any], label: str, required: tuple[str, ...]) -> None:
        self.fn, self.label, self.required = fn, label, required
        self.__name__ = getattr(fn, "__name__", label)

    def refusal(self, what: str) -> UserInputError:
        return UserInputError(
            f"{self.label} could not be called without arguments: it requires "
            f"{', '.join(self.required)}; used as a model (a function from a numpy array to "
            f"a numpy array) it {what}; {FACTORY_RULE}")

    def __call__(self, x: Any) -> Any:
        import numpy as np

        try:
            y = self.fn(x)
        except Exception as error:  # the user's code: report it in one line
            raise self.refusal(f"failed on an array of shape {np.shape(x)}: "
                               f"{condense(error)}") from None
        if not _numeric_array(y):
            raise self.refusal(f"returned a {type(y).__name__}, not an array of numbers")
        return y


def _numeric_array(y: Any) -> bool:
    import numpy as np

    if callable(y):  # a module or a function: a factory's product
        return False
    try:
        return np.asarray(y).dtype.kind in "biuf"
    except Exception:  # noqa: BLE001 - anything numpy cannot read is not an array
        return False


#: Prefixes of the built-in targets of ``upsamplers aliasing``.
BUILTIN_PREFIXES = ("aa", "bigvgan", "upsampler")
BUILTIN_SEED = 0


def builtin_help() -> str:
    """The built-in targets in words, for help texts and error messages."""
    return ("an activation NAME of upsamplers.activations.activation_names(), aa:NAME "
            "(anti-aliased, default filter), bigvgan:NAME (BigVGAN's filter), or "
            "upsampler:KIND (make_upsampler, 1 channel)")


def load_aliasing_target(target: str, *, factor: int = 2) -> tuple[Any, str]:
    """The module and its label for ``upsamplers aliasing TARGET``.

    ``TARGET`` is a built-in (:func:`builtin_help`): ``NAME``, ``aa:NAME``,
    ``bigvgan:NAME`` build ``make_activation(NAME, 1, anti_aliased=None /
    "default" / "bigvgan", ratio=factor)``; ``upsampler:KIND`` builds
    ``make_upsampler(KIND, 1, 1, factor)`` with its default kernel size, weights
    initialised under seed :data:`BUILTIN_SEED` (the global RNG is left as it was).
    Anything else is ``PATH_OR_MODULE:FACTORY``, as :func:`load_target`.
    """
    prefix, sep, name = target.partition(":")
    if prefix in BUILTIN_PREFIXES and sep:
        return _builtin(prefix, name, factor), target
    if not sep:
        if name_is_activation(target):
            return _builtin("", target, factor), target
        raise InvalidValue(f"TARGET must be PATH_OR_MODULE:FACTORY or {builtin_help()}; "
                           f"received {target!r}")
    return load_target(target), target


def builtin_scale(target: str, factor: int) -> int | None:
    """How many samples a built-in target makes of each input sample at most (its
    ``factor``: an upsampler's, or an anti-aliased activation's oversampling; 2 for
    ``bigvgan:NAME``, 1 for a plain activation), known before it is built; ``None``
    for ``PATH_OR_MODULE:FACTORY``."""
    prefix, sep, _ = target.partition(":")
    if prefix in BUILTIN_PREFIXES and sep:
        return 2 if prefix == "bigvgan" else factor
    if not sep and name_is_activation(target):
        return 1
    return None


def name_is_activation(name: str) -> bool:
    from ..activations import activation_names

    return name in activation_names()


def _builtin(prefix: str, name: str, factor: int) -> Any:
    import torch

    from .._checks import check_positive_int

    factor = check_positive_int("factor", factor)
    label = f"{prefix}:{name}" if prefix else name
    if prefix == "upsampler":
        from ..layers import make_upsampler, upsampler_kinds

        _check_name(label, "upsampler:KIND", name, upsampler_kinds())
    else:
        from ..activations import activation_names, make_activation

        _check_name(label, f"{prefix}:NAME" if prefix else "NAME", name, activation_names())
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(BUILTIN_SEED)
        if prefix == "upsampler":
            return make_upsampler(name, 1, 1, factor)
        if prefix == "aa":
            return make_activation(name, 1, anti_aliased="default", ratio=factor)
        if prefix == "bigvgan":
            return make_activation(name, 1, anti_aliased="bigvgan")
        return make_activation(name, 1)


def _check_name(target: str, form: str, name: str, allowed: Any) -> None:
    if name not in tuple(allowed):
        what = "KIND" if form.endswith("KIND") else "NAME"
        raise InvalidValue(f"TARGET {form} takes {what} among {', '.join(allowed)}; "
                           f"received {target!r}")
