"""The import graph has layers: schemas, then the framework (`pipeline/`), then the stages
(`consumers/`), then what feeds them from outside (`producers/`), then the application
(`pipeline/app/`) that wires them all. A module never imports from a layer above its own."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
LAYERS = ("schemas", "pipeline", "consumers", "producers", "pipeline.app")


def layer_of(module: str) -> int:
    """The index in LAYERS of the package `module` belongs to, or -1 (third party)."""
    found = -1
    for index, package in enumerate(LAYERS):
        if module == package or module.startswith(package + "."):
            found = index  # later (more specific) packages win: pipeline.app over pipeline
    return found


def imports(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def modules() -> list[tuple[str, Path]]:
    found = []
    for package in ("schemas", "pipeline", "consumers", "producers"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found.append((".".join(p for p in parts if p != "__init__"), path))
    return found


@pytest.mark.parametrize(("module", "path"), modules(), ids=lambda value: str(value))
def test_no_module_imports_from_a_layer_above_its_own(module: str, path: Path) -> None:
    own = layer_of(module)
    above = sorted(name for name in imports(path) if layer_of(name) > own)
    assert not above, f"{module} ({LAYERS[own]}) imports {above}"


def test_the_layer_rule_can_fail() -> None:
    assert layer_of("pipeline.app.topology") > layer_of("consumers.assign")
    assert layer_of("pipeline.stage") < layer_of("consumers.verdict")
    assert layer_of("kafka") == -1
