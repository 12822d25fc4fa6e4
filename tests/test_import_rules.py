"""The project's import rules, read from the source with `ast` so they stay true as it grows.

Layers, lowest first: core (imports no other part) → bench2drive_routes, sensors → planner →
controllers → agent → data → sim → training → launch. A part never imports the parts FORBIDDEN
names for it; ALLOWED_MODULES narrows an allowed edge to named modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("core", "bench2drive_routes", "sensors", "planner", "controllers", "agent", "data", "sim", "launch",
         "training")

# part -> the parts it must never import (from the rules, plus "core imports nothing").
FORBIDDEN: dict[str, set[str]] = {
    "core": set(PARTS) - {"core"},
    "bench2drive_routes": {"agent", "launch", "sim", "sensors", "planner", "controllers", "data", "training"},
    "sensors": {"agent", "launch", "sim", "planner", "controllers", "data", "training"},
    "planner": {"agent", "launch", "sim", "controllers", "data", "training"},
    "controllers": {"agent", "launch", "sim", "data", "training"},
    "agent": {"launch", "sim", "data", "training"},
    "sim": {"launch", "training"},
    "data": {"agent", "launch", "sim", "controllers", "training"},
    "training": {"launch", "sim", "agent"},
}
# controllers may read the Plan contract from planner, and nothing else of it.
ALLOWED_MODULES: dict[tuple[str, str], set[str]] = {
    ("controllers", "planner"): {"planner.interface"},
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) for every import in a file, including function-local ones."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            # `from planner import route_planner` imports planner.route_planner
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names
                      if node.module in PARTS]
    return found


def forbidden_edges(root: Path = ROOT) -> list[str]:
    edges: list[str] = []
    for part, banned in FORBIDDEN.items():
        for path in sorted((root / part).rglob("*.py")):
            for line, module in imported_modules(path):
                top = module.split(".")[0]
                if top == part or top not in PARTS:
                    continue
                allowed = ALLOWED_MODULES.get((part, top))
                if allowed is not None and module != top:
                    if module in allowed:
                        continue
                    edges.append(f"{path.relative_to(root)}:{line} imports {module} "
                                 f"({part} may import only {sorted(allowed)} of {top})")
                elif top in banned:
                    edges.append(f"{path.relative_to(root)}:{line} imports {module} ({part} must not import {top})")
    return edges


def test_no_forbidden_import_edges():
    edges = forbidden_edges()
    assert not edges, "imports that point the wrong way:\n" + "\n".join(edges)


def test_rule_checker_catches_a_violation(tmp_path):
    """The checker itself: a planted upward import in a throwaway tree is reported."""
    for part in PARTS:
        (tmp_path / part).mkdir()
    (tmp_path / "sensors" / "bad.py").write_text("def f():\n    from agent.automot_config import AgentConfig\n")
    (tmp_path / "controllers" / "ok.py").write_text("from planner.interface import Plan\n")
    (tmp_path / "controllers" / "bad.py").write_text("from planner import route_planner\n")
    (tmp_path / "core" / "bad.py").write_text("import sensors.gnss\n")
    text = "\n".join(forbidden_edges(tmp_path))
    assert "sensors/bad.py:2 imports agent.automot_config" in text
    assert "controllers/bad.py:1 imports planner.route_planner" in text
    assert "core/bad.py:1 imports sensors.gnss" in text
    assert "controllers/ok.py" not in text


@pytest.mark.parametrize("part", ["core", "sensors", "planner", "controllers", "bench2drive_routes"])
def test_lower_parts_exist(part):
    assert (ROOT / part / "__init__.py").exists()
