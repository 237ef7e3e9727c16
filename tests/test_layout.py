"""Who may import whom: tests and benchmarks share ``testkit`` and never import each other; the product
(shared, tasks, workers, celeryconfig) imports none of the three."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("shared", "tasks", "workers", "celeryconfig.py")


def imported_packages(path: Path) -> set[str]:
    """The top-level package of every absolute import in ``path`` (lazy imports inside functions too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def python_files(*names: str) -> list[Path]:
    files: list[Path] = []
    for name in names:
        target = ROOT / name
        files.extend([target] if target.is_file() else sorted(target.rglob("*.py")))
    assert files, names
    return files


@pytest.mark.parametrize(
    ("where", "forbidden"),
    [
        (("bench",), {"tests"}),
        (("tests",), {"bench"}),
        (("testkit",), {"tests", "bench"}),
        (PRODUCT, {"tests", "bench", "testkit"}),
    ],
)
def test_imports_respect_the_layout(where: tuple[str, ...], forbidden: set[str]) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & forbidden)
        for path in python_files(*where)
        if imported_packages(path) & forbidden
    }
    assert offenders == {}
