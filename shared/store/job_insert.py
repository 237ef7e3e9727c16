"""A new job's row: its column values (one definition for the single and the bulk insert), the single
path of job creation (JobStore.create, JobStore.mark_published: one round trip each) and the bulk path:
one INSERT of many new jobs, per backend (JobStore.create_many)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shared.jobs import AnyJob, JobStatus
from shared.store.database import Database
from shared.store.schema import JobRow, UTCDateTime


def new_row(key: str, job: AnyJob, now: datetime, params_hash: str | None = None) -> dict[str, Any]:
    """The column values of ``job``'s new row under ``key``, due ``now``: what JobStore.create inserts
    as one row and :func:`insert_new` as one of many (``params_hash`` when the caller has it already)."""
    return {
        "key": key,
        "kind": job.kind,
        "domain": job.domain,
        "registrar": getattr(job, "registrar", None),
        "params": job.stored_params(),  # params(), plus a transfer's auth code (the hash has its SHA-256)
        "params_hash": params_hash if params_hash is not None else job.params_hash(),
        "status": JobStatus.QUEUED.value,
        "attempts": 0,
        "republishes": 0,
        "due_at": now,
        "created_at": now,
        "updated_at": now,
        "callback_url": job.callback_url,
        "submitted_by": job.submitted_by,
    }


@cache
def _insert_one(dialect: str) -> sa.Insert:
    table = cast(sa.Table, JobRow.__table__)
    if dialect not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"job creation needs Postgres or SQLite, not {dialect}")
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return insert.on_conflict_do_nothing(index_elements=[table.c.key]).returning(table.c.key)


def insert_one(db: Database, row: dict[str, Any]) -> bool:
    """ONE ``INSERT ... ON CONFLICT (key) DO NOTHING RETURNING key`` of ``row`` (a :func:`new_row`),
    committed on its own (:meth:`Database.autocommit`: one round trip, one WAL flush): True when it was
    inserted, False when its key was there. Safe to repeat: a second run (the retry after a connection
    that dropped, maybe after the commit) finds the key and inserts nothing."""
    statement = _insert_one(db.dialect)
    return db.autocommit(lambda conn: conn.execute(statement, row).first() is not None)


@cache
def _mark_published(dialect: str) -> sa.Executable:
    table = cast(sa.Table, JobRow.__table__)
    now = sa.bindparam("now", type_=UTCDateTime())
    if dialect != "postgresql":  # SQLite in WAL mode with synchronous=NORMAL does not sync a commit anyway
        return sa.update(table).where(table.c.key == sa.bindparam("job_key")).values(published_at=now)
    # ``set_config(..., true)`` is SET LOCAL: this statement's own transaction only. The CTE is joined so
    # that it is evaluated.
    return sa.text(
        "WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true) AS off) "
        "UPDATE jobs SET published_at = :now FROM relaxed WHERE jobs.key = :job_key"
    ).bindparams(now)


def mark_published(db: Database, key: str, now: datetime) -> None:
    """Record that ``key``'s message was sent: one UPDATE, committed on its own, WITHOUT waiting for its
    WAL flush on Postgres (``synchronous_commit = off`` for that transaction only).

    Why that loses no job: the job's row was committed synchronously before its message was sent;
    ``published_at`` only tells a later submission of the same key that the message went out. Should
    Postgres crash within its WAL writer delay (< 1 s) and forget this UPDATE, the row reads unpublished:
    a resubmission publishes it again and the sweep republishes it once past due (it does for any queued
    job), a duplicate message that the claim by key makes harmless. Safe to repeat (the retry)."""
    statement = _mark_published(db.dialect)
    db.autocommit(lambda conn: conn.execute(statement, {"job_key": key, "now": now}))


@cache
def _pg_insert_many(columns: tuple[str, ...]) -> sa.TextClause:
    """``INSERT ... SELECT`` of ``columns`` from one JSON document of rows, typed as the table's columns."""
    table = cast(sa.Table, JobRow.__table__)
    pg = postgresql.dialect()
    names = ", ".join(f'"{c}"' for c in columns)
    typed = ", ".join(f'"{c}" {table.c[c].type.compile(dialect=pg)}' for c in columns)
    return sa.text(
        f"INSERT INTO jobs ({names}) SELECT {names} FROM json_to_recordset(CAST(:rows AS JSON)) "
        f'AS t({typed}) ON CONFLICT ("key") DO NOTHING RETURNING "key"'
    )


def _json_value(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()  # aware (utcnow): Postgres reads the offset
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def insert_new(dialect: str, session: Session, rows: Sequence[dict[str, Any]]) -> set[str]:
    """ONE ``INSERT ... ON CONFLICT (key) DO NOTHING RETURNING key`` of ``rows`` (each a :func:`new_row`):
    the keys inserted.

    Postgres: the rows travel as one JSON document (``json_to_recordset``), so the statement is short
    and does not grow with the batch (a VALUES list of 500 rows is 6,000 placeholders for the driver
    to parse on every call; text arrays of JSON are escaped element by element). SQLite: SQLAlchemy's
    "insertmanyvalues" renders one multi-row VALUES statement (one page: the whole batch)."""
    if not rows:
        return set()
    if dialect == "postgresql":
        statement = _pg_insert_many(tuple(rows[0]))
        found = session.execute(statement, {"rows": json.dumps(list(rows), default=_json_value)})
        return {row[0] for row in found}
    if dialect != "sqlite":
        raise NotImplementedError(f"bulk create needs Postgres or SQLite, not {dialect}")
    table = cast(sa.Table, JobRow.__table__)
    insert = (
        sqlite.insert(table)
        .on_conflict_do_nothing(index_elements=[table.c.key])
        .returning(table.c.key)
        .execution_options(insertmanyvalues_page_size=len(rows))
    )
    return {row[0] for row in session.execute(insert, list(rows))}
