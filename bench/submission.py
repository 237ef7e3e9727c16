"""Timing ``regq submit --file`` (in process and as the installed command) for the submit and API benches."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from bench.common import delete_prefixed, isolated_env, redis_for_bench
from shared.store import Store
from testkit import services
from testkit.factories import register

REGQ = str(Path(sys.executable).with_name("regq"))


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """``values`` in ``os.environ`` for the block (the in-process CLI reads its settings there)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


def register_lines(count: int, prefix: str) -> list[str]:
    """``count`` register jobs as JSON lines, for distinct ``<prefix>-<i>.com`` domains."""
    return [json.dumps(register(f"{prefix}-{i}.com")) for i in range(count)]


@dataclass
class SubmitWorld:
    """A benchmark's own Redis prefix and Postgres database (its settings in ``os.environ``), a work dir."""

    redis_url: str
    origin: str
    env: dict[str, str]
    work: Path
    store: Store

    @property
    def prefix(self) -> str:
        return self.env["REGQ_REDIS_PREFIX"]

    def jobs_file(self, name: str, count: int, prefix: str) -> Path:
        """``work/name``: ``count`` register lines (:func:`register_lines`)."""
        path = self.work / name
        path.write_text("\n".join(register_lines(count, prefix)) + "\n", encoding="utf-8")
        return path


@contextmanager
def submit_world(name: str) -> Iterator[SubmitWorld]:
    """A Redis (:func:`bench.common.redis_for_bench`) and a fresh, upgraded Postgres database
    (``testkit.services.postgres_database``) under :func:`bench.common.isolated_env` settings, which are
    in ``os.environ`` for the block; the prefix's keys and the work dir are deleted afterwards."""
    with redis_for_bench() as (redis_url, origin), services.postgres_database() as database_url:
        env = isolated_env(redis_url, database_url, name)
        work = Path(tempfile.mkdtemp(prefix=f"regq-bench-{name}-"))
        store = Store(database_url)
        store.upgrade()
        try:
            with environment(env):
                yield SubmitWorld(redis_url, origin, env, work, store)
        finally:
            store.dispose()
            delete_prefixed(redis_url, env["REGQ_REDIS_PREFIX"])
            shutil.rmtree(work, ignore_errors=True)


def _options(batch_size: int | None) -> list[str]:
    return [] if batch_size is None else ["--batch-size", str(batch_size)]


def submit_file_rate(path: Path, count: int, batch_size: int | None = None) -> float:
    """Jobs/s of ``regq submit --file PATH`` run in this process; exits if any line was not submitted."""
    from workers.cli import app as cli

    command = ["submit", "--file", str(path), *_options(batch_size), "--json"]
    started = time.perf_counter()
    result = CliRunner().invoke(cli, command, catch_exceptions=False)
    elapsed = time.perf_counter() - started
    if result.exit_code != 0:
        raise SystemExit(f"regq submit --file failed ({result.exit_code}): {result.output[-2000:]}")
    answer = json.loads(result.stdout)
    if len(answer["submitted"]) != count or answer["errors"]:
        raise SystemExit(f"expected {count} submitted and no errors, got {len(answer['submitted'])}")
    return count / elapsed


def submit_subprocess_rate(
    path: Path, count: int, env: dict[str, str], batch_size: int | None = None
) -> float:
    """Jobs/s of the installed ``regq submit --file PATH`` (interpreter start and imports included)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REGQ_")}
    started = time.perf_counter()
    done = subprocess.run(
        [REGQ, "submit", "--file", str(path), *_options(batch_size), "--json"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0 or len(json.loads(done.stdout)["submitted"]) != count:
        raise SystemExit(f"regq submit --file (subprocess) failed: {done.stderr[-2000:]}")
    return count / elapsed
