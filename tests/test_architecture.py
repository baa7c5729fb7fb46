"""The package's dependency rules (docs/architecture.md), read from the source.

Each rule is checked on the real tree, and each checker is also run once on a
small tree made here that breaks the rule, so that a checker that cannot fail
is caught too.
"""

from __future__ import annotations

import ast
import importlib
import sys
import textwrap
import types
from pathlib import Path

import pytest

import upsamplers

PACKAGE = Path(upsamplers.__file__).parent
MAX_LINES = 80

# The engine may import nothing of the package but the argument checks.
ENGINE_ALLOWED = {"upsamplers._checks"}
# Concrete classes that only their own package may switch on with isinstance.
CONCRETE = {
    "upsamplers.layers": {"SubPixel1d", "TransposedUpsample1d", "InterpUpsample1d",
                          "SincUpsample1d", "ResampleUpsample1d", "PaddedSubPixel1d"},
    "upsamplers.models": {"Autoencoder", "DemucsLike", "MelGANLike"},
}


def _modules(root: Path) -> dict[str, Path]:
    top = root.parent
    found = {}
    for path in sorted(root.rglob("*.py")):
        name = ".".join(path.relative_to(top).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Package modules that ``name`` imports, at module level or inside functions."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                       for a in node.names]
        for target in targets:
            while target not in modules and "." in target:
                target = target.rpartition(".")[0]
            # a package's __init__ importing its own submodules is how it exports them
            if target in modules and target != name and not (
                    path.name == "__init__.py" and target.startswith(name + ".")):
                out.add(target)
    return out


def _graph(root: Path) -> dict[str, set[str]]:
    modules = _modules(root)
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def _long_functions(root: Path) -> list[str]:
    out = []
    for name, path in _modules(root).items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_LINES:
                    out.append(f"{name}.{node.name}: {lines} lines")
    return out


def _class_switches(root: Path) -> list[str]:
    """``isinstance(x, C)`` on a concrete class outside the package that owns it."""
    out = []
    for name, path in _modules(root).items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance"
                    and len(node.args) == 2):
                continue
            classes = node.args[1].elts if isinstance(node.args[1], ast.Tuple) else [node.args[1]]
            for cls in classes:
                cls_name = cls.attr if isinstance(cls, ast.Attribute) else getattr(cls, "id", "")
                for owner, names in CONCRETE.items():
                    if cls_name in names and not (name == owner or name.startswith(owner + ".")):
                        out.append(f"{name}:{node.lineno} isinstance(..., {cls_name})")
    return out


def _write_tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "upsamplers"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


# ----------------------------------------------------------------------------- the rules


def test_import_graph_has_no_cycle():
    assert _cycles(_graph(PACKAGE)) == []


def test_the_engine_imports_nothing_of_the_package_but_the_checks():
    graph = _graph(PACKAGE)
    engine = {name for name in graph
              if name == "upsamplers.ops" or name.startswith("upsamplers.ops.")}
    assert engine, "the engine package upsamplers.ops is missing"
    outside = {(name, target) for name in engine for target in graph[name]
               if target not in engine and target not in ENGINE_ALLOWED}
    assert outside == set()


def test_layers_know_no_analysis_models_or_commands():
    graph = _graph(PACKAGE)
    upward = ("upsamplers.analysis", "upsamplers.models", "upsamplers.cli", "upsamplers.compare",
              "upsamplers.train", "upsamplers.conversion", "upsamplers.bench")
    bad = {(name, target) for name, targets in graph.items()
           if name.startswith(("upsamplers.layers", "upsamplers.ops", "upsamplers.init"))
           for target in targets if target.startswith(upward)}
    assert bad == set()


def test_only_the_cli_package_imports_argparse():
    users = [name for name, path in _modules(PACKAGE).items()
             if not name.startswith("upsamplers.cli")
             and any(isinstance(n, (ast.Import, ast.ImportFrom))
                     and ("argparse" in [a.name for a in n.names] or
                          getattr(n, "module", None) == "argparse")
                     for n in ast.walk(ast.parse(path.read_text())))]
    assert users == []


def test_every_submodule_imports_as_a_module():
    # The Keras front end is imported by its own suite, one backend per process.
    names = [name for name in _modules(PACKAGE)
             if not name.startswith("upsamplers.keras") and name != "upsamplers.__main__"]
    assert "upsamplers.ops" in names and "upsamplers.layers.base" in names
    for name in names:
        if name in DEPRECATED_MODULES:
            sys.modules.pop(name, None)  # imported earlier in the session: its warning was spent
        with pytest.warns(FutureWarning) if name in DEPRECATED_MODULES else _nothing():
            module = importlib.import_module(name)
        parent, _, attr = name.rpartition(".")
        if not parent:
            continue
        # what `import upsamplers.X.Y as m` binds: the attribute of the parent package
        bound = getattr(importlib.import_module(parent), attr)
        assert isinstance(module, types.ModuleType), name
        assert bound is module, f"{name} is hidden by {type(bound).__name__} {bound!r}"


DEPRECATED_MODULES = {"upsamplers.polyphase", "upsamplers.shuffle", "upsamplers.analysis.commands"}


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_no_function_is_longer_than_the_limit():
    assert _long_functions(PACKAGE) == []


def test_no_isinstance_on_concrete_layer_or_model_classes_outside_their_package():
    assert _class_switches(PACKAGE) == []


# ----------------------------------------------------------------------------- the checkers fail


def test_the_checkers_catch_what_they_look_for(tmp_path):
    root = _write_tree(tmp_path, {
        "__init__.py": "",
        "ops/__init__.py": "from ..analysis import measure\n",
        "analysis/__init__.py": "def measure():\n    from ..ops import x\n",
        "lint.py": ("from .layers import SubPixel1d\n"
                    "def f(m):\n    return isinstance(m, (int, SubPixel1d))\n"),
        "layers/__init__.py": "class SubPixel1d: ...\n",
        "long.py": "def f():\n" + "    x = 1\n" * MAX_LINES,
    })
    graph = _graph(root)
    assert _cycles(graph) == [["upsamplers.analysis", "upsamplers.ops"]]
    assert graph["upsamplers.ops"] == {"upsamplers.analysis"}
    assert _long_functions(root) == [f"upsamplers.long.f: {MAX_LINES + 1} lines"]
    assert _class_switches(root) == ["upsamplers.lint:3 isinstance(..., SubPixel1d)"]
