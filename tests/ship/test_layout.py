"""The layout stays readable: small classes, and packages a newcomer can take in at a glance.

docs/architecture.md says where each kind and service lives; these limits keep that true as
features land (a class that grows past them is a sign it does more than one job, a flat package
past them a sign it hides sub-packages).
"""

from __future__ import annotations

import ast
from pathlib import Path

CONTROLLER = Path(__file__).resolve().parents[2] / "controller"
MAX_CLASS_LINES = 250
MAX_FLAT_MODULES = 16  # "about 15": the modules of one package, `__init__` and `__main__` aside


def test_no_class_is_over_250_lines() -> None:
    big = []
    for path in sorted(CONTROLLER.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_CLASS_LINES:
                    big.append(f"{path.relative_to(CONTROLLER)}:{node.lineno} {node.name} {lines}")
    assert big == []


def test_no_package_has_more_than_about_15_flat_modules() -> None:
    crowded = []
    for package in sorted(p.parent for p in CONTROLLER.rglob("__init__.py")):
        modules = [m for m in package.glob("*.py") if m.stem not in {"__init__", "__main__"}]
        if len(modules) > MAX_FLAT_MODULES:
            crowded.append(f"{package.relative_to(CONTROLLER.parent)}: {len(modules)}")
    assert crowded == []
