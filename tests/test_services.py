"""The composition root: every part built from one Settings, one Redis pool, one close(), fork-safe."""

from __future__ import annotations

import gc
import multiprocessing
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa

from shared.backends import RedisConnection
from shared.breaker import MemoryBreaker, RedisBreaker
from shared.errors import ConfigError
from shared.execution.runner import JobRunner
from shared.locks import MemoryDomainLock, RedisDomainLock
from shared.ratelimit import MemoryLimiter, Rate, RedisLimiter
from shared.services import PerProcess, Services
from shared.settings import Settings, load_settings
from shared.upstream import LimiterGuard

RATE = Rate.parse("10/s")


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached before the deadline"
        time.sleep(0.02)


def named_url(redis_url: str) -> tuple[str, str]:
    """``redis_url`` with a client name of its own, so the server can count this test's connections."""
    name = f"regq-test-{uuid.uuid4().hex[:10]}"
    return f"{redis_url}{'&' if '?' in redis_url else '?'}client_name={name}", name


def connections_named(client: redis.Redis, name: str) -> int:
    return sum(1 for c in client.client_list() if c.get("name") == name)


def settings_for(tmp_path: Path, redis_url: str | None, **more: Any) -> Settings:
    return load_settings(
        redis_url=redis_url,
        database_url=f"sqlite:///{tmp_path / 'services.db'}",
        redis_prefix=f"regq-test-{uuid.uuid4().hex[:10]}",
        **more,
    )


def test_memory_url_wires_every_part(tmp_path: Path) -> None:
    services = Services(settings_for(tmp_path, "memory://", gandi_token="token"))
    services.store.upgrade()
    assert isinstance(services.limiter, MemoryLimiter)
    assert isinstance(services.breaker, MemoryBreaker)
    assert isinstance(services.locks, MemoryDomainLock)
    assert services.breaker.journal is services.store.breaker_events  # transitions land in the store
    guard = services.guard
    assert isinstance(guard, LimiterGuard)
    assert guard.limiter is services.limiter and services.runner.breaker is services.breaker
    assert services.runner.guard is guard and services.lookup_policy.guard is guard
    gandi = services.gateway("gandi")
    assert services.gateway("gandi") is gandi  # one per registrar
    assert isinstance(services.runner, JobRunner) and services.runner is services.runner
    assert services.limiter.acquire("gandi", RATE, 2).allowed
    assert services.locks.acquire("example.com", "a", 30)
    assert services.breaker.before_call("gandi").allowed
    services.close()
    assert services.closed
    services.close()  # twice is fine


def test_limiter_breaker_and_locks_share_one_connection_pool(
    tmp_path: Path, redis_url: str, redis_client: redis.Redis
) -> None:
    url, name = named_url(redis_url)
    services = Services(settings_for(tmp_path, url))
    services.store.upgrade()
    limiter, breaker, locks = services.limiter, services.breaker, services.locks
    assert isinstance(limiter, RedisLimiter) and isinstance(breaker, RedisBreaker)
    assert isinstance(locks, RedisDomainLock)
    connection = services.connection
    assert isinstance(connection, RedisConnection)
    pool = connection.client.connection_pool
    assert limiter.client.connection_pool is pool
    assert breaker.client.connection_pool is pool
    assert locks.client.connection_pool is pool
    # Used one after the other, the three hold ONE server connection between them.
    assert limiter.acquire("gandi", RATE, 2).allowed
    assert breaker.before_call("gandi").allowed
    assert locks.acquire("example.com", "a", 30)
    assert connections_named(redis_client, name) == 1
    # A second composition root in the same process (the CLI next to a task) shares it as well.
    other = Services(services.settings)
    assert other.limiter.acquire("gandi", RATE, 2).allowed and other.connection is connection
    assert connections_named(redis_client, name) == 1
    other.close()
    services.close()
    wait_until(lambda: connections_named(redis_client, name) == 0)


def test_a_command_that_needs_only_the_store_opens_no_redis(tmp_path: Path) -> None:
    services = Services(settings_for(tmp_path, None))
    services.store.upgrade()
    assert services.store.jobs.recent(limit=1) == []
    assert not services.built("connection")
    with pytest.raises(ConfigError) as info:
        services.limiter  # noqa: B018
    assert info.value.variable == "REGQ_REDIS_URL"
    services.close()


def test_a_bad_scheme_is_a_config_error_without_the_password(tmp_path: Path) -> None:
    services = Services(settings_for(tmp_path, "http://regq:hunter2@cache:6379/0"))
    for part in ("limiter", "breaker", "locks", "runner"):
        with pytest.raises(ConfigError) as info:
            getattr(services, part)
        assert info.value.variable == "REGQ_REDIS_URL" and "hunter2" not in str(info.value)
    services.close()


# --- the per-process accessor ----------------------------------------------------------------------------
def test_per_process_rebuilds_after_close_and_when_the_settings_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGQ_REDIS_URL", "memory://")
    monkeypatch.setenv("REGQ_DATABASE_URL", f"sqlite:///{tmp_path / 'a.db'}")
    built: list[Services] = []

    def build(settings: Settings) -> Services:
        built.append(Services(settings))
        return built[-1]

    process = PerProcess(build, load_settings)
    first = process.get()
    assert process.get() is first and len(built) == 1
    monkeypatch.setenv("REGQ_DATABASE_URL", f"sqlite:///{tmp_path / 'b.db'}")
    second = process.get()
    assert second is not first and first.closed and not second.closed
    assert second.settings.database_url.endswith("b.db")
    second.close()
    third = process.get()
    assert third is not second and not third.closed and len(built) == 3
    third.close()


def _child(process: PerProcess[Services], inherited: Services, results: Any) -> None:
    """Forked child: what the accessor hands it, and whether that works on sockets of its own."""
    mine = process.get()
    gc.collect()  # the abandoned parent objects may be collected: that must not touch the parent's sockets
    with mine.store.db.engine.connect() as conn:
        backend = conn.execute(sa.text("select pg_backend_pid()")).scalar()
    connection = mine.connection
    results.put(
        {
            "rebuilt": mine is not inherited and process.get() is mine,
            "inherited_abandoned": inherited.closed,
            "redis_id": connection.client.client_id() if isinstance(connection, RedisConnection) else None,
            "pg_backend": backend,
            "lock": mine.locks.acquire("forked.com", "child", 30),
        }
    )


def fork_scenario(postgres_url: str, redis_url: str, redis_prefix: str) -> None:
    """Run in a fresh interpreter (no other threads alive at the fork, unlike a long pytest process,
    where a lock held by some earlier test's thread could hang the child)."""
    url, _ = named_url(redis_url)
    settings = load_settings(redis_url=url, database_url=postgres_url, redis_prefix=redis_prefix)
    process = PerProcess(Services, lambda: settings)
    parent = process.get()
    parent.store.upgrade()
    connection = parent.connection
    assert isinstance(connection, RedisConnection)

    def backend_pid() -> Any:
        with parent.store.db.engine.connect() as conn:
            return conn.execute(sa.text("select pg_backend_pid()")).scalar()

    pg_before, redis_before = backend_pid(), connection.client.client_id()
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    child = ctx.Process(target=_child, args=(process, parent, results))
    child.start()
    try:
        seen = results.get(timeout=60)
    finally:
        child.join(timeout=10)
        if child.is_alive():
            child.terminate()
    assert child.exitcode == 0
    assert seen["rebuilt"] and seen["inherited_abandoned"] and seen["lock"]
    assert seen["redis_id"] != redis_before and seen["pg_backend"] != pg_before
    # The parent keeps its objects and the very same server connections (pre-ping would have replaced
    # a Postgres connection the child had closed; Redis would show another client id).
    assert process.get() is parent and not parent.closed
    assert backend_pid() == pg_before
    assert connection.client.client_id() == redis_before
    assert not parent.locks.acquire("forked.com", "parent", 30)  # the child's lock is fleet-wide
    parent.close()


def test_a_forked_child_builds_its_own_and_leaves_the_parents_sockets_alone(
    postgres_url: str, redis_url: str, redis_prefix: str
) -> None:
    code = (
        "import sys; from tests.test_services import fork_scenario; "
        "fork_scenario(sys.argv[1], sys.argv[2], sys.argv[3])"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, postgres_url, redis_url, redis_prefix],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_tasks_runtime_and_the_cli_context_are_the_same_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasks import runtime
    from workers import context

    monkeypatch.setenv("REGQ_REDIS_URL", "memory://")
    monkeypatch.setenv("REGQ_DATABASE_URL", f"sqlite:///{tmp_path / 'rt.db'}")
    current = runtime.get()
    assert isinstance(current, runtime.Runtime) and isinstance(current, Services)
    assert runtime.get() is current and context.runtime() is current
    assert context.store() is current.store and context.producer() is current.producer
    assert context.settings() == current.settings
    current.close()
    assert runtime.get() is not current  # closed: the next caller gets a fresh one
    runtime.get().close()
