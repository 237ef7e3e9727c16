"""What one ``POST /v1/jobs`` asks of Postgres: round trips and synchronous commits, regq against the
minimal app (``bench.minimal_app``), counted rather than timed.

::

    .venv/bin/python -m bench.api_costs [--jobs 200] [--json]

In this process, on a fresh Postgres database: regq's request does what ``workers/api/submit.py`` has
done once the body is parsed, i.e. the token check (``ApiTokens.verify``) then ``tasks.publish.submit``
of a new register job (insert, publish, published marker), on a store whose every pooled connection
carries libpq's protocol trace (``PGconn.trace``); the minimal app's is its one INSERT. A round trip is a
frontend message that waits for the server's answer: a simple ``Query`` (BEGIN, COMMIT, ROLLBACK, a ping)
or the ``Sync`` closing an extended-protocol statement. A synchronous commit (a WAL flush waited for) is
a COMMIT after a write, or a write statement in autocommit, unless its transaction turned
``synchronous_commit`` off (the published marker). The first ``--jobs`` / 10 requests warm the pool and
psycopg's prepared statements and are not counted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa

from bench.common import isolated_env, machine_notes, redis_for_bench, show_figures
from bench.minimal_app import INSERT, conninfo
from shared.jobs import parse_job
from shared.settings import load_settings
from shared.store import Store
from tasks.producer import producer_app
from tasks.publish import submit
from testkit import services
from testkit.factories import register
from testkit.pgtrace import count_trace


def _traced(store: Store, trace_dir: Path, opened: list[IO[bytes]]) -> list[Path]:
    """Trace every new connection of ``store`` to its own file (kept open in ``opened``: libpq writes to
    the descriptor until the connection closes)."""
    files: list[Path] = []

    @sa.event.listens_for(store.db.engine, "connect")
    def _trace(dbapi_connection: Any, _record: Any) -> None:
        path = trace_dir / f"conn-{len(files)}.trace"
        files.append(path)
        opened.append(open(path, "ab"))  # closed after the connections
        dbapi_connection.prepare_threshold = None  # every statement Parsed in the trace (same round trips)
        dbapi_connection.pgconn.trace(opened[-1].fileno())

    return files


def regq_costs(database_url: str, env: dict[str, str], jobs: int, work: Path) -> Counter[str]:
    """Trace counts of ``jobs`` regq requests (token check + submit)."""
    settings = load_settings(
        redis_url=env["REGQ_REDIS_URL"],
        broker_url=env["REGQ_BROKER_URL"],
        redis_prefix=env["REGQ_REDIS_PREFIX"],
        broker_key_prefix=env["REGQ_BROKER_KEY_PREFIX"],
    )
    app = producer_app(settings)
    store = Store(database_url)
    opened: list[IO[bytes]] = []
    files = _traced(store, work, opened)
    _record, secret = store.api_tokens.create("costs", ["submit"])
    warm = max(1, jobs // 10)
    try:
        for n in range(warm + jobs):
            if n == warm:
                for path in files:
                    path.write_bytes(b"")  # start counting here (the trace appends)
            token = store.api_tokens.verify(secret)
            assert token is not None
            job = parse_job(register(f"costs-{n}.com")).submitted_as(token.name, token.callback_url)
            assert not submit(job, store=store, app=app).duplicate
    finally:
        store.dispose()  # closes the connections: libpq flushes their traces
        app.close()
        for file in opened:
            file.close()
    return sum((count_trace(p.read_text(errors="replace")) for p in files), Counter())


def minimal_costs(database_url: str, jobs: int, work: Path) -> Counter[str]:
    """Trace counts of ``jobs`` of the minimal app's INSERTs (its only database work)."""
    import psycopg
    from psycopg.types.json import Jsonb

    path = work / "minimal.trace"
    with open(path, "ab") as out, psycopg.connect(conninfo(database_url), autocommit=True) as conn:
        conn.prepare_threshold = None  # as for regq's: every statement Parsed in the trace
        warm = max(1, jobs // 10)
        for n in range(warm + jobs):
            if n == warm:
                conn.pgconn.trace(out.fileno())
            key = f"register:minimal-{n}.com"
            row = (key, "register", f"minimal-{n}.com", "gandi", Jsonb({}), "0" * 64)
            conn.execute(INSERT, (*row, "now", "now", "now"))
        conn.pgconn.untrace()
    return count_trace(path.read_text(errors="replace"))


def run(jobs: int) -> dict[str, Any]:
    with (
        redis_for_bench() as (redis_url, origin),
        services.postgres_database() as database_url,
        tempfile.TemporaryDirectory(prefix="regq-bench-costs-") as tmp,
    ):
        env = isolated_env(redis_url, database_url, "costs")
        Store(database_url).upgrade()
        work = Path(tmp)
        ours = regq_costs(database_url, env, jobs, work)
        theirs = minimal_costs(database_url, jobs, work)
        from bench.common import delete_prefixed

        delete_prefixed(redis_url, env["REGQ_REDIS_PREFIX"])
        notes = machine_notes(redis_url, origin)

    def per_job(counts: Counter[str], name: str) -> float:
        return round(counts[name] / jobs, 2)

    def flushes(counts: Counter[str]) -> float:
        return per_job(counts, "sync_commits")

    return {
        "jobs": jobs,
        "regq_round_trips_per_job": per_job(ours, "round_trips"),
        "regq_sync_commits_per_job": flushes(ours),
        "regq_begin_commit_rollback_per_job": [per_job(ours, n) for n in ("begin", "commit", "rollback")],
        "minimal_round_trips_per_job": per_job(theirs, "round_trips"),
        "minimal_sync_commits_per_job": flushes(theirs),
        "machine": notes,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api_costs", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="print only a JSON document")
    args = parser.parse_args(argv)
    show_figures(run(args.jobs), args.json, "Postgres work of one POST /v1/jobs: regq vs the minimal app")
    return 0


if __name__ == "__main__":
    sys.exit(main())
