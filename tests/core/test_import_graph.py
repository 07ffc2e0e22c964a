"""The import graph of core/, ui/ and pages/: no cycle between modules and no layer importing upward.

Every ``import`` is read with :mod:`ast`, including imports placed inside functions and under ``TYPE_CHECKING``: an
import moved into a function to dodge a cycle is still a cycle in the design. Layers, lowest first (a module may
import its own layer and any layer below):

    foundation (config, errors, storage, ...) < security (users, activity log, encryption at rest) < runs < jobs
    < data < models < dp < training
    < analyses (explain, fairness, privacy) < figures < report < cli < ui < pages
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

FOUNDATION = ("core", "core.binomial", "core.config", "core.errors", "core.storage", "core.jsonsafe", "core.safety",
              "core.text", "core.device", "core.timeleft")
LAYERS: tuple[tuple[str, ...], ...] = (
    FOUNDATION,
    ("core.security",),
    ("core.runs",),
    ("core.jobs",),
    ("core.data",),
    ("core.models",),
    ("core.dp",),
    ("core.training",),
    ("core.explain", "core.fairness", "core.privacy"),
    ("core.figures",),
    ("core.report",),
    ("core.cli", "core.__main__"),
    ("ui",),
    ("pages", "app"),
)
PACKAGES = ("core", "ui", "pages")


def _module_name(path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_package else parts), is_package


def _modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name, is_package = _module_name(path)
            found[name] = (path, is_package)
    found["app"] = (ROOT / "app.py", False)
    return found


def _resolve(name: str, modules: dict[str, tuple[Path, bool]]) -> str | None:
    """The project module ``name`` refers to (a submodule, else the nearest package), or None if not ours."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(name: str, path: Path, is_package: bool, modules: dict[str, tuple[Path, bool]]) -> set[str]:
    """Every project module ``name`` imports, wherever the import statement sits in the file."""
    package = name if is_package else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            targets = [f"{source}.{alias.name}" for alias in node.names]
        for target in targets:
            resolved = _resolve(target, modules)
            if resolved is not None and resolved != name:
                out.add(resolved)
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, is_package, modules) for name, (path, is_package) in modules.items()}


def _layer(name: str) -> int:
    best, depth = -1, -1
    for index, members in enumerate(LAYERS):
        for member in members:
            if (name == member or name.startswith(member + ".")) and len(member) > depth:
                best, depth = index, len(member)
    assert best >= 0, f"{name} belongs to no layer: add it to LAYERS in {__file__}"
    return best


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_graph_sees_imports_inside_functions():
    graph = _graph()
    assert len(graph) > 100
    # core.cli.train imports core.training.config only inside a function body; the graph must still see that edge
    assert "core.training.config" in graph["core.cli.train"]
    assert "core.dp" in graph["core.training._steps"]


def test_no_import_cycles():
    cycles = _cycles(_graph())
    assert cycles == [], "import cycles (imports inside functions count):\n" + "\n".join(map(str, cycles))


def test_no_layer_imports_upward():
    graph = _graph()
    upward = [f"{name} -> {target}" for name, targets in sorted(graph.items()) for target in sorted(targets)
              if _layer(target) > _layer(name)]
    assert upward == [], "upward imports:\n" + "\n".join(upward)


def test_dp_imports_nothing_from_training_or_analyses():
    graph = _graph()
    above = [f"{name} -> {target}" for name, targets in graph.items() if name.startswith("core.dp")
             for target in targets if _layer(target) >= _layer("core.training")]
    assert above == []


@pytest.mark.parametrize(("graph", "cycle"), [
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ({"a": {"b"}, "b": set(), "c": {"b"}}, []),
])
def test_cycle_finder(graph, cycle):
    assert _cycles(graph) == cycle


def test_layers_order_upward_imports():
    assert _layer("core.dp._clipping") < _layer("core.training.loop") < _layer("core.privacy._audit")
    assert _layer("core.report._adapters") < _layer("core.cli.fairness") < _layer("ui.state") < _layer("pages.data")
