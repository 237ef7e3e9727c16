"""Real multi-process stacks for end-to-end tests: Celery workers against the sandbox upstreams."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

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
    stack = Stack(var_dir=var_dir, groups=groups, beat=beat, flower=flower, extra_env=env)
    try:
        with stack:
            yield stack
    finally:
        _delete_prefixed(redis_url, prefix)


def _delete_prefixed(redis_url: str, prefix: str) -> None:
    """Drop the stack's keys (limiter, breaker, locks, caches, broker queues) from the shared Redis."""
    try:
        client = redis.Redis.from_url(redis_url, socket_connect_timeout=2)
        try:
            keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
            if keys:
                client.delete(*keys)
        finally:
            client.close()
    except (redis.RedisError, OSError):
        pass  # a throwaway server the test already stopped: nothing left to clean


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
