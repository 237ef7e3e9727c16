"""Who may import whom: tests and benchmarks share ``testkit`` and never import each other; the product
(shared, tasks, workers, celeryconfig) imports none of the three; ``shared`` imports neither Celery nor
``tasks``/``workers``, and its subpackages (and top-level modules) import each other without cycles."""

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


def test_shared_never_imports_celery_tasks_or_workers() -> None:
    forbidden = {"celery", "kombu", "tasks", "workers"}
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & forbidden)
        for path in python_files("shared")
        if imported_packages(path) & forbidden
    }
    assert offenders == {}


#: Cycles still being removed, each with a comment naming who removes it (none left: the store <->
#: webhooks one went with the webhooks rework, execution <-> gateways/registrydata with shared.upstream).
KNOWN_CYCLES: set[frozenset[str]] = set()


def shared_unit(module: str) -> str | None:
    """The unit of ``shared`` a module belongs to: its subpackage, or its top-level module."""
    parts = module.split(".")
    return parts[1] if parts[0] == "shared" and len(parts) > 1 else None


def shared_import_graph() -> dict[str, set[str]]:
    """unit -> the other units of ``shared`` it imports (lazy and TYPE_CHECKING imports too)."""
    graph: dict[str, set[str]] = {}
    for path in python_files("shared"):
        relative = path.relative_to(ROOT).with_suffix("").parts  # ("shared", "gateways", "gandi")
        unit, package = relative[1], relative[:-1]
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            modules: list[str] = []
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.ImportFrom):  # relative: from the file's package upwards
                base = package[: len(package) - node.level + 1]
                modules = [".".join([*base, node.module] if node.module else base)]
            for module in modules:
                target = shared_unit(module)
                if target is None or target == unit:
                    continue
                if (ROOT / "shared" / target).is_dir() or (ROOT / "shared" / f"{target}.py").is_file():
                    graph.setdefault(unit, set()).add(target)  # not a name imported from shared/__init__
    return graph


def cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected components with more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: set[frozenset[str]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = {stack.pop()}
            while node not in component:
                component.add(stack.pop())
            if len(component) > 1:
                found.add(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_shared_subpackages_import_each_other_without_cycles() -> None:
    found = cycles(shared_import_graph())
    assert {tuple(sorted(c)) for c in found - KNOWN_CYCLES} == set()


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == {frozenset({"a", "b", "c"})}
