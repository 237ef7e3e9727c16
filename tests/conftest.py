"""Shared fixtures: real Redis and real Postgres (see testkit/services.py), unique namespaces per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from typer.testing import CliRunner

from sandbox.stack import Sandbox
from shared.store import Store
from testkit import clock, services, tiers
from testkit.stacks import delete_prefixed
from workers.cli import app as cli_app
from workers.embedded.stack import Stack

# A stack someone runs from this checkout (make up: var/stack.env) is no test's settings: each test (and
# every process it starts) reads its environment only; tests/test_stack_file.py sets its own.
os.environ["REGQ_STACK_FILE"] = ""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test gets its tier (unit, integration, e2e: testkit/tiers.py) unless it is marked by hand."""
    tiers.mark(items)


@pytest.fixture(autouse=True)
def _clear_of_midnight() -> None:
    """No test straddles UTC midnight: the code under test reads the day when it runs (testkit/clock.py)."""
    clock.clear_of_midnight()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis for the whole run (local, configured, or a throwaway one)."""
    with services.redis_service() as url:
        yield url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix no other test (or concurrent test run) uses; its keys are deleted afterwards."""
    prefix = f"regq-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    delete_prefixed(redis_url, prefix)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database on a real Postgres for this run."""
    with services.postgres_database() as url:
        yield url


@pytest.fixture(scope="module")
def own_postgres_url() -> Iterator[str]:
    """A database of this module's own. A stack running beat sweeps EVERY open job it finds in its
    database and republishes it to its own workers: a module whose stack runs beat must not share the
    session database, where other modules' stacks may have left jobs open when they stopped."""
    with services.postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A freshly migrated database on each backend the store supports."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'regq.db'}"
        return
    with services.postgres_database() as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store(store_url)
    s.upgrade()
    yield s
    s.dispose()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite store in ``tmp_path``, for tests where one backend is enough (the gateways')."""
    s = Store("sqlite:///" + str(tmp_path / "t.db"))
    s.upgrade()
    yield s
    s.dispose()


@pytest.fixture
def stack_store(stack: Stack) -> Iterator[Store]:
    """A store on the database of the module's running ``stack``."""
    s = Store(stack.settings().database_url)
    yield s
    s.dispose()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """A module's sandbox upstreams with their default config (a module that needs another defines its
    own ``sandbox``)."""
    with Sandbox() as sb:
        yield sb


@pytest.fixture
def sb(sandbox: Sandbox) -> Sandbox:
    """The module's own ``sandbox`` (each module starts one with the config it needs), reset before
    the test."""
    sandbox.reset()
    return sandbox


@pytest.fixture
def cli_env(redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The environment of an in-process ``regq`` command: the test Redis under a unique prefix (broker
    and fleet keys), a migrated SQLite store in ``tmp_path``; the prefix's keys are deleted afterwards."""
    prefix = f"regq-test-{uuid.uuid4().hex[:10]}:"
    env = {
        "REGQ_REDIS_URL": redis_url,
        "REGQ_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "REGQ_BROKER_KEY_PREFIX": prefix,
        "REGQ_REDIS_PREFIX": prefix.rstrip(":"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert CliRunner().invoke(cli_app, ["db", "upgrade"]).exit_code == 0
    yield env
    delete_prefixed(redis_url, prefix)
