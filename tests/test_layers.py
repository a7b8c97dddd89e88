"""Imports point down the layers, and the benchmarks stand on their own.

Layers, bottom up: shared leaves (records, contracts, defaults, time formats, metrics),
``stages``, ``state``, ``pipeline`` and ``config``, ``edges`` (adapters), ``runtime`` (the
runners), and the wiring (``app``, ``cli``). A module may import its own layer and those below;
one arrow up would let a stage depend on the shell. Tests may import ``bench`` (they test it);
``bench`` imports no test.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

LAYERS = {
    "service.records": 0, "service.timefmt": 0, "service.deadline": 0, "service.logs": 0,
    "service.metrics": 0, "service.summary": 0, "service.defaults": 0, "service.contracts": 0,
    "service.stages": 1,
    "service.state": 2,
    "service.pipeline": 3, "service.config": 3,
    "service.edges": 4,
    "service.runtime": 5,
    "service.app": 6, "service.cli": 6, "service.__main__": 6,
}


def _layer(module: str) -> int | None:
    """The layer of a module under ``service`` (None: the package root, which any may use)."""
    for prefix, layer in LAYERS.items():
        if module == prefix or module.startswith(prefix + "."):
            return layer
    return None


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports by absolute name (lazy imports inside functions too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_every_service_module_has_a_layer() -> None:
    modules = [_module_name(path) for path in (REPO / "service").rglob("*.py")]
    assert [m for m in modules if m != "service" and _layer(m) is None] == []


def test_no_service_module_imports_a_layer_above_its_own() -> None:
    upward = []
    for path in (REPO / "service").rglob("*.py"):
        module = _module_name(path)
        own = _layer(module)
        for imported in _imports(path):
            layer = _layer(imported) if imported.startswith("service.") else None
            if own is not None and layer is not None and layer > own:
                upward.append(f"{module} -> {imported}")
    assert upward == []


def test_the_benchmarks_import_no_test_module() -> None:
    found = [f"{path.name} -> {name}" for path in (REPO / "bench").rglob("*.py")
             for name in _imports(path) if name == "tests" or name.startswith("tests.")]
    assert found == []
