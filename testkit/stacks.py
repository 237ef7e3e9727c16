"""Real multi-process stacks for end-to-end tests: Celery workers against the sandbox upstreams."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from shared.backends import scan_suffixes
from shared.jobs import FINAL_STATUSES, JobOutcome
from shared.store import Store
from workers.embedded.stack import Stack, WorkerGroup


@contextmanager
def running_stack(
    redis_url: str,
    database_url: str,
    var_dir: Path,
    groups: tuple[WorkerGroup, ...],
    beat: bool = False,
    extra_env: dict[str, str] | None = None,
    flower: bool = False,
    api: bool = False,
    exporter: bool = False,
    sandbox_args: tuple[str, ...] = (),
) -> Iterator[Stack]:
    """A stack on the test Redis (isolated by unique key prefixes) and the given database."""
    prefix = f"regq-test-{uuid.uuid4().hex[:10]}"
    env = {
        "REGQ_REDIS_URL": redis_url,
        "REGQ_DATABASE_URL": database_url,
        "REGQ_REDIS_PREFIX": prefix,
        "REGQ_BROKER_KEY_PREFIX": f"{prefix}:",
        "REGQ_RETRY_BACKOFF_SECONDS": "0.5",
        "REGQ_GANDI_VISIBILITY_WAIT_SECONDS": "5",
        **(extra_env or {}),
    }
    stack = Stack(
        var_dir=var_dir,
        groups=groups,
        beat=beat,
        flower=flower,
        api=api,
        exporter=exporter,
        extra_env=env,
        sandbox_args=sandbox_args,
    )
    try:
        with stack:
            yield stack
    finally:
        delete_prefixed(redis_url, prefix)


def delete_prefixed(redis_url: str, prefix: str) -> int:
    """Delete every key under ``prefix`` (a test's or a benchmark's own) from a shared Redis; how many.
    A server that no longer answers (a throwaway one already stopped) has nothing left to clean: 0."""
    deleted = 0
    try:
        client = redis.Redis.from_url(redis_url, socket_connect_timeout=2)
        try:
            for suffixes in scan_suffixes(client, prefix, count=1000):
                if suffixes:
                    deleted += int(client.delete(*(prefix + s for s in suffixes)))
        finally:
            client.close()
    except (redis.RedisError, OSError):
        pass
    return deleted


def wait_for(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.2) -> object:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def wait_final(store: Store, key: str, timeout: float = 60) -> JobOutcome:
    def final() -> JobOutcome | None:
        record = store.jobs.get(key)
        return record.outcome() if record and record.status in FINAL_STATUSES else None

    return wait_for(final, timeout, f"job {key} to finish")  # type: ignore[return-value]
