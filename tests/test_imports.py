"""Importing the package stays light: no optional extra (plotting, audio files,
progress bars, Keras and its backends) and no test-only reference is imported at
import time by any module of ``upsamplers`` but the Keras front end, and the
analysis modules do not import torch at module level.

Two checks that can each fail: a static one that reads every module's
module-level statements (and names the module), and one that imports every
module in a fresh interpreter and looks at ``sys.modules`` (and so also sees an
extra pulled in through another module or package).
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import types
from pathlib import Path

import pytest

import upsamplers

PACKAGE = Path(upsamplers.__file__).parent
#: Imported only where they are used (optional extras, and test-only references).
HEAVY = ("matplotlib", "soundfile", "tqdm", "music21", "keras", "tensorflow", "jax",
         "auraloss", "fast_bss_eval", "torchmetrics")
#: torch itself imports tqdm (torch.hub) when it is installed; only the static
#: check can see our own import of it.
HEAVY_AT_RUN_TIME = tuple(name for name in HEAVY if name != "tqdm")


def _module_name(path: Path) -> str:
    parts = ("upsamplers",) + path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def light_modules() -> dict[str, Path]:
    """Every module of the package but the Keras front end (which imports keras by
    design) and ``__main__`` (which runs the command)."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module_name(path)
        if name.startswith("upsamplers.keras") or name.endswith("__main__"):
            continue
        modules[name] = path
    return modules


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def module_level_imports(source: str) -> set[str]:
    """Top-level package names that ``source`` imports when it is imported: the
    statements of the module and of its class bodies, ``if``/``try``/``with``
    blocks included; function bodies and ``if TYPE_CHECKING:`` blocks excluded;
    relative imports excluded."""
    found: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if isinstance(node, ast.If) and _is_type_checking(node):
                visit(node.orelse)
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
            for field in ("body", "orelse", "finalbody"):
                visit(getattr(node, field, []))
            for handler in getattr(node, "handlers", []):
                visit(handler.body)

    visit(ast.parse(source).body)
    return found


def test_the_scan_sees_module_level_imports_only():
    source = (
        "import os, matplotlib.pyplot as plt\n"
        "from soundfile import read\n"
        "try:\n    import tqdm\nexcept ImportError:\n    pass\n"
        "if TYPE_CHECKING:\n    import keras\n"
        "class A:\n    import jax\n"
        "def f():\n    import tensorflow\n"
        "from . import sibling\n"
    )
    assert module_level_imports(source) == {"os", "matplotlib", "soundfile", "tqdm", "jax"}


def test_no_light_module_imports_an_optional_extra_at_module_level():
    modules = light_modules()
    assert "upsamplers.analysis.auditing" in modules and "upsamplers.cli" in modules
    offenders = {name: sorted(module_level_imports(path.read_text()) & set(HEAVY))
                 for name, path in modules.items()}
    assert {name: heavy for name, heavy in offenders.items() if heavy} == {}


def test_analysis_modules_do_not_import_torch_at_module_level():
    analysis = {name: path for name, path in light_modules().items()
                if name.startswith("upsamplers.analysis")}
    assert len(analysis) >= 10
    offenders = [name for name, path in analysis.items()
                 if "torch" in module_level_imports(path.read_text())]
    assert offenders == []


def test_importing_every_light_module_loads_no_optional_extra():
    code = f"""
import importlib, sys
import upsamplers
assert "upsamplers.analysis" not in sys.modules, "import upsamplers imports the analysis"
import upsamplers.analysis
assert "upsamplers.analysis.figures" not in sys.modules, "analysis imports its figures"
heavy = {HEAVY_AT_RUN_TIME!r}
def loaded():
    return sorted(m for m in sys.modules if m.split(".")[0] in heavy)
assert loaded() == [], ("upsamplers.analysis", loaded())
for name in {sorted(light_modules())!r}:
    importlib.import_module(name)
    assert loaded() == [], (name, loaded())
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.filterwarnings("ignore:upsamplers.analysis.commands is deprecated:FutureWarning")
def test_analysis_bench_and_cli_modules_are_not_hidden_by_their_exports():
    """``import upsamplers.X.Y as m`` reads the attribute chain: each step must be the
    module, not a function of the same name exported by its package."""
    names = [name for name in light_modules()
             if name.startswith(("upsamplers.analysis", "upsamplers.bench", "upsamplers.cli"))]
    assert "upsamplers.analysis.auditing" in names and "upsamplers.analysis.linting" in names
    for name in names:
        importlib.import_module(name)
        value = upsamplers
        for part in name.split(".")[1:]:
            value = getattr(value, part)
        assert isinstance(value, types.ModuleType), (name, value)
