"""Test tiers, given to every collected test by ``tests/conftest.py`` so a new test is classified without
marking it by hand (issue 19.8):

- ``e2e``: starts processes (a subprocess, a celery worker, an embedded stack, ``regq api``, a fork);
- ``integration``: talks to a real service (Redis, Postgres, RabbitMQ, the sandbox's servers) in process;
- ``unit``: neither; ``make test-fast`` runs these (``pytest -m unit``).

A test is judged by the source it runs: its own function (or class), the fixtures it uses (their whole
closure, conftest's included), and the module's helpers and constants those name, followed to a fixpoint,
so ``run_regq(...)`` counts as a subprocess because ``run_regq`` calls one. The judgement errs toward the
heavier tier. A test (or module, via ``pytestmark``) marked ``unit``, ``integration`` or ``e2e`` by hand
keeps that mark.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import pytest

TIERS = ("unit", "integration", "e2e")

#: Fixtures that hand out a real service: any test using them (directly or through another) is not unit.
SERVICE_FIXTURES = frozenset({"redis_url", "postgres_url", "own_postgres_url", "store_url", "amqp_url"})

#: Source that starts a process.
SPAWNS = re.compile(
    r"\bsubprocess\b|\bPopen\b|\bmultiprocessing\b|\bos\.fork\b|\bos\.kill\b|\bsys\.executable\b"
    r"|\brunning_stack\b|\brunning_api\b|\bStack\(|\bstart_worker\b|\bProcessPoolExecutor\b"
)

#: Source that reaches a real service without a fixture (or serves one of the sandbox's stand-ins).
SERVICES = re.compile(
    r"\bredis_service\b|\bpostgres_database\b|\bamqp_url\b|\bRedis\.from_url\b|\bredis\.Redis\("
    r"|\bSandbox\b|\bpostgresql(\+psycopg)?://"
)


def mark(items: Iterable[pytest.Item]) -> None:
    """Add its tier's marker to every test that has none."""
    for item in items:
        if not any(item.get_closest_marker(name) for name in TIERS):
            item.add_marker(getattr(pytest.mark, tier(item)))


#: A service fixture asked for at run time (``request.getfixturevalue("redis_url")``).
DYNAMIC = re.compile(r"getfixturevalue\(\s*[\"'](\w+)[\"']")
#: Fixtures (in tests/conftest.py) built on a service fixture, as asked for at run time.
DYNAMIC_SERVICES = SERVICE_FIXTURES | {"redis_client", "redis_prefix", "store", "cli_env"}
#: Parameter ids of a variant that runs without a service (the memory backend beside the Redis one).
IN_PROCESS_VARIANTS = frozenset({"memory"})


def tier(item: pytest.Item) -> str:
    fixtures = set(getattr(item, "fixturenames", ()))
    source = _source_closure(item)
    if SPAWNS.search(source):
        return "e2e"
    if fixtures & SERVICE_FIXTURES or SERVICES.search(source):
        return "integration"
    if set(DYNAMIC.findall(source)) & DYNAMIC_SERVICES and not _in_process_variant(item):
        return "integration"
    return "unit"


def _in_process_variant(item: pytest.Item) -> bool:
    """A parametrized test's memory variant: its ids name ``memory`` and no service."""
    callspec = getattr(item, "callspec", None)
    ids = set(callspec.id.split("-")) if callspec is not None else set()
    return bool(ids & IN_PROCESS_VARIANTS) and not ids & {"redis", "postgres", "amqp", "rabbitmq"}


def _source_closure(item: pytest.Item) -> str:
    """The test's source, its fixtures' and every module-level definition they name (to a fixpoint)."""
    path = Path(str(item.fspath))
    definitions = _definitions(path)
    cls = getattr(item, "cls", None)
    name = cls.__name__ if cls is not None else getattr(item, "originalname", item.name)
    texts = [definitions.get(name) or _getsource(getattr(item, "function", None))]
    info = getattr(item, "_fixtureinfo", None)
    for fixturedefs in info.name2fixturedefs.values() if info is not None else ():
        for fixturedef in fixturedefs:
            func = fixturedef.func
            where = inspect.getsourcefile(func) if inspect.isfunction(func) else None
            texts.append(_definitions(Path(where)).get(func.__name__, "") if where else _getsource(func))
    text = "\n".join(texts)
    included = {name}
    pending = set(_WORD.findall(text))
    while pending:
        word = pending.pop()
        if word in included or word not in definitions:
            continue
        included.add(word)
        text += "\n" + definitions[word]
        pending |= set(_WORD.findall(definitions[word])) - included
    return text


_WORD = re.compile(r"\w+")


@cache
def _definitions(path: Path) -> dict[str, str]:
    """The source of each module-level function, class and assignment of ``path``, by name."""
    try:
        code = path.read_text(encoding="utf-8")
        tree = ast.parse(code)
    except (OSError, SyntaxError, UnicodeDecodeError):
        return {}
    lines = code.splitlines()  # once: ast.get_source_segment splits the whole file on every call
    found: dict[str, str] = {}
    for node in tree.body:
        segment = "\n".join(lines[node.lineno - 1 : node.end_lineno])
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found[node.name] = segment
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for leaf in ast.walk(target):
                    if isinstance(leaf, ast.Name):
                        found[leaf.id] = segment
    return found


def _getsource(obj: object) -> str:
    try:
        return inspect.getsource(obj) if obj is not None else ""  # type: ignore[arg-type]
    except (OSError, TypeError):
        return ""
