"""The pipeline map in xlflow/__init__.py is the code's: every module is on it, and each imports only
modules listed before it (imports flow one way, as DESIGN.md says)."""

from __future__ import annotations

import ast
from pathlib import Path

import xlflow

PACKAGE = Path(xlflow.__file__).parent


def _order() -> list[str]:
    return [m for stage in xlflow.PIPELINE.values() for m in stage]


def _imports(path: Path) -> set[str]:
    """The xlflow modules a file imports, at the top or inside a function."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "xlflow":
            parts = node.module.split(".")
            out |= {parts[1]} if len(parts) > 1 else {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name.split(".")[1] for a in node.names if a.name.startswith("xlflow.")}
    return out


def test_every_module_is_on_the_map_once():
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__", "__main__"}
    order = _order()
    assert len(order) == len(set(order)), "a module is listed twice"
    assert set(order) == modules


def test_imports_flow_forward_only():
    pos = {m: i for i, m in enumerate(_order())}
    backward = [f"{m} imports {d}" for m in pos for d in sorted(_imports(PACKAGE / f"{m}.py"))
                if d in pos and pos[d] >= pos[m] and d != m]
    assert backward == []


def test_readme_points_to_the_map():
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    assert "xlflow/__init__.py" in readme
