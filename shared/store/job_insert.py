"""The bulk path of job creation: one INSERT of many new jobs, per backend (JobStore.create_many)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from shared.jobs import JobStatus
from shared.store.job_record import JobRecord
from shared.store.schema import JobRow, UTCDateTime

_PG_INSERT_MANY = sa.text(
    'INSERT INTO jobs ("key", kind, domain, registrar, params, params_hash, status, attempts, republishes, '
    "due_at, created_at, updated_at, callback_url, submitted_by) "
    "SELECT t.key, t.kind, t.domain, t.registrar, t.params, t.params_hash, :status, 0, 0, :now, :now, :now, "
    "t.callback_url, t.submitted_by "
    "FROM json_to_recordset(CAST(:rows AS JSON)) "
    "AS t(key VARCHAR, kind VARCHAR, domain VARCHAR, registrar VARCHAR, params JSON, params_hash VARCHAR, "
    "callback_url VARCHAR, submitted_by VARCHAR) "
    'ON CONFLICT ("key") DO NOTHING RETURNING "key"'
).bindparams(sa.bindparam("now", type_=UTCDateTime()))


def insert_new(
    dialect: str,
    session: Session,
    records: list[JobRecord],
    hashes: list[str],
    first: dict[str, int],
    now: datetime,
) -> set[str]:
    """ONE ``INSERT ... ON CONFLICT (key) DO NOTHING RETURNING key`` of ``records``: the keys inserted.

    Postgres: the rows travel as one JSON document (``json_to_recordset``), so the statement is short
    and does not grow with the batch (a VALUES list of 500 rows is 6,000 placeholders for the driver
    to parse on every call; text arrays of JSON are escaped element by element). SQLite: SQLAlchemy's
    "insertmanyvalues" renders one multi-row VALUES statement (one page: the whole batch)."""
    if dialect == "postgresql":
        found = session.execute(
            _PG_INSERT_MANY,
            {
                "rows": json.dumps(
                    [
                        {
                            "key": r.key,
                            "kind": r.kind,
                            "domain": r.domain,
                            "registrar": r.registrar,
                            "params": r.params,
                            "params_hash": hashes[first[r.key]],
                            "callback_url": r.callback_url,
                            "submitted_by": r.submitted_by,
                        }
                        for r in records
                    ]
                ),
                "status": JobStatus.QUEUED.value,
                "now": now,
            },
        )
        return {row[0] for row in found}
    if dialect != "sqlite":
        raise NotImplementedError(f"bulk create needs Postgres or SQLite, not {dialect}")
    table = cast(sa.Table, JobRow.__table__)
    statement = (
        sqlite.insert(table)
        .on_conflict_do_nothing(index_elements=[table.c.key])
        .returning(table.c.key)
        .execution_options(insertmanyvalues_page_size=len(records))
    )
    rows = [
        dict(
            key=r.key,
            kind=r.kind,
            domain=r.domain,
            registrar=r.registrar,
            params=r.params,
            params_hash=hashes[first[r.key]],
            status=JobStatus.QUEUED.value,
            attempts=0,
            republishes=0,
            due_at=now,
            created_at=now,
            updated_at=now,
            callback_url=r.callback_url,
            submitted_by=r.submitted_by,
        )
        for r in records
    ]
    return {row[0] for row in session.execute(statement, rows)}
