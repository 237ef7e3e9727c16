"""The backend plumbing: the scheme registry, one pool per process and URL, the Lua loader."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path
from typing import Any

import pytest
import redis

import shared
from shared.backends import (
    SCHEMES,
    MemoryConnection,
    RedisConnection,
    connect,
    lua_script,
    lua_source,
    scan_suffixes,
    text,
)
from shared.breaker import BreakerConfig, MemoryBreaker, MemoryJournal, RedisBreaker, breaker_from_url
from shared.errors import ConfigError
from shared.locks import MemoryDomainLock, RedisDomainLock, locks_from_url
from shared.ratelimit import MemoryLimiter, RedisLimiter, limiter_from_url

CONFIG = BreakerConfig(failures=3, reset_seconds=60, probes=1, probe_timeout_seconds=30)
SHARED = Path(shared.__file__).parent


def test_schemes() -> None:
    assert SCHEMES == {
        "redis": RedisConnection,
        "rediss": RedisConnection,
        "unix": RedisConnection,
        "memory": MemoryConnection,
    }


@pytest.mark.parametrize(
    "url",
    [
        "http://user:hunter2@host/",
        "amqp://guest:hunter2@rabbit:5672//",
        "postgresql://regq:hunter2@db/regq",
        "hunter2",  # no scheme at all
        "",
    ],
)
def test_unknown_scheme_names_the_variable_not_the_url(url: str) -> None:
    for build in (
        lambda: connect(url),
        lambda: limiter_from_url(url, "p"),
        lambda: breaker_from_url(url, "p", CONFIG, MemoryJournal()),
        lambda: locks_from_url(url, "p"),
    ):
        with pytest.raises(ConfigError) as info:
            build()
        assert info.value.variable == "REGQ_REDIS_URL"
        assert "hunter2" not in str(info.value) and "redis://" in str(info.value)


def test_memory_url_works_for_every_family() -> None:
    assert isinstance(connect("memory://"), MemoryConnection)
    assert isinstance(limiter_from_url("memory://", "p"), MemoryLimiter)
    assert isinstance(breaker_from_url("memory://", "p", CONFIG, MemoryJournal()), MemoryBreaker)
    assert isinstance(locks_from_url("MEMORY://", "p"), MemoryDomainLock)  # schemes are case-insensitive
    # each memory backend is its own state: build it once and share it
    assert limiter_from_url("memory://", "p") is not limiter_from_url("memory://", "p")


def test_every_family_on_one_url_shares_one_pool(redis_url: str, redis_prefix: str) -> None:
    limiter = limiter_from_url(redis_url, redis_prefix)
    breaker = breaker_from_url(redis_url, redis_prefix, CONFIG, MemoryJournal())
    locks = locks_from_url(redis_url, redis_prefix)
    assert isinstance(limiter, RedisLimiter) and isinstance(breaker, RedisBreaker)
    assert isinstance(locks, RedisDomainLock)
    connection = connect(redis_url)
    assert isinstance(connection, RedisConnection) and connection is connect(redis_url)
    pool = connection.client.connection_pool
    assert limiter.client.connection_pool is pool
    assert breaker.client.connection_pool is pool
    assert locks.client.connection_pool is pool


def _child_connects(url: str, results: Any) -> None:
    """Child (forked): the connection it inherited vs the one connect() gives it now."""
    from shared.backends import schemes

    inherited, mine = schemes._open[url], connect(url)
    if not (isinstance(mine, RedisConnection) and isinstance(inherited, RedisConnection)):
        results.put({})
        return
    results.put(
        {
            "new_object": mine is not inherited,
            "pid_is_mine": mine.pid == os.getpid() != inherited.pid,
            "new_pool": mine.client.connection_pool is not inherited.client.connection_pool,
            "works": bool(mine.client.ping()),
            "server_id": mine.client.client_id(),
        }
    )


def test_a_forked_child_gets_its_own_pool_and_leaves_the_parents_alone(redis_url: str) -> None:
    parent = connect(redis_url)
    assert isinstance(parent, RedisConnection)
    before = parent.client.client_id()  # the parent's pooled socket, server-side id
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    child = ctx.Process(target=_child_connects, args=(redis_url, results))
    child.start()
    try:
        seen = results.get(timeout=60)
    finally:
        child.join(timeout=10)
        if child.is_alive():
            child.terminate()
    assert child.exitcode == 0
    assert seen and seen["new_object"] and seen["pid_is_mine"] and seen["new_pool"] and seen["works"]
    assert seen["server_id"] != before  # the child talked over a socket of its own
    assert connect(redis_url) is parent
    assert parent.client.client_id() == before  # same server connection: the child did not close it


# --- Lua ------------------------------------------------------------------------------------------------
def _lua_files() -> list[tuple[str, str]]:
    found = []
    for path in sorted(SHARED.rglob("*.lua")):
        package = ".".join(("shared", *path.parent.relative_to(SHARED).parts))
        found.append((package, path.stem))
    return found


def test_every_lua_file_in_the_tree_loads_with_its_header() -> None:
    files = _lua_files()
    assert {f"{p}/{n}" for p, n in files} >= {
        "shared.ratelimit/acquire",
        "shared.ratelimit/block",
        "shared.ratelimit/status",
        "shared.breaker/breaker",
        "shared.locks/acquire",
        "shared.locks/release",
    }
    for package, name in files:
        source = lua_source(package, name)
        assert "-- KEYS:" in source and "-- ARGV:" in source


def test_a_lua_file_without_its_header_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "regq_lua_probe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "keys_only.lua").write_text("-- KEYS: [1] a key\nreturn redis.call('GET', KEYS[1])\n")
    (package / "late_header.lua").write_text("return 1\n-- KEYS: [1]\n-- ARGV: none\n")
    (package / "fine.lua").write_text("-- What it does.\n-- KEYS: [1] a key\n-- ARGV: none\nreturn 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ValueError, match="ARGV:"):
        lua_source("regq_lua_probe", "keys_only")
    with pytest.raises(ValueError, match="KEYS:"):
        lua_source("regq_lua_probe", "late_header")
    assert lua_source("regq_lua_probe", "fine").endswith("return 1\n")


def test_a_script_is_registered_once_per_client(redis_url: str, redis_prefix: str) -> None:
    one, other = redis.Redis.from_url(redis_url), redis.Redis.from_url(redis_url)
    try:
        script = lua_script(one, "shared.locks", "release")
        assert lua_script(one, "shared.locks", "release") is script
        assert RedisDomainLock(one, redis_prefix).release_script is script  # every backend on it shares it
        assert lua_script(other, "shared.locks", "release") is not script
        assert lua_script(one, "shared.locks", "acquire") is not script
        assert int(script(keys=[f"{redis_prefix}:nothing"], args=["a"])) == 0  # and it runs
    finally:
        one.close()
        other.close()


# --- replies and scans -----------------------------------------------------------------------------------
def test_text() -> None:
    assert text(b"half_open") == "half_open" and text("open") == "open" and text(3) == "3"


def test_scan_suffixes_escapes_the_prefix(redis_client: redis.Redis, redis_prefix: str) -> None:
    odd = f"{redis_prefix}[x]*:"
    redis_client.set(f"{odd}a", 1)
    redis_client.set(f"{odd}b", 1)
    redis_client.set(f"{redis_prefix}x:c", 1)  # matches the pattern if [x]* were not escaped
    batches = list(scan_suffixes(redis_client, odd, count=1))
    assert sorted(s for batch in batches for s in batch) == ["a", "b"]
    assert len(batches) >= 1
