"""A new job's row: its column values (one definition for the single and the bulk insert), and the bulk
path of job creation: one INSERT of many new jobs, per backend (JobStore.create_many)."""

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
from shared.store.schema import JobRow


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
