"""The cache-hot lookup's one write: a registration-data lookup answered from the fleet cache is finished
by ONE statement, committed on its own (one round trip), without a lease.

::

    UPDATE jobs SET status = 'succeeded', result = :result, attempts = attempts + 1, ...
     WHERE key = :key AND status IN (queued, waiting, partial) AND kind = 'lookup'
       AND NOT coalesce(params->availability, false) AND callback_url IS NULL
    RETURNING <the record's columns>

The statement is built once per dialect (:func:`functools.cache`) from the table, not the ORM entity:
SQLAlchemy then neither rebuilds nor re-keys it per call (its compiled form is found by the memoized
cache key), and no session is opened (no identity map, no BEGIN, no COMMIT round trip:
:meth:`shared.store.database.Database.autocommit`). The commit is an ordinary, durable one: the outcome
is the job's truth.

A job with a callback is left out (``callback_url IS NULL``): its completion webhook must be recorded in
the outcome's transaction (:func:`shared.store.webhooks.record_event`), which
:meth:`shared.store.jobs.JobStore.finish_unleased` then does in a session. Safe to repeat (the autocommit
retry after a dropped connection): a second run finds the job final and changes nothing.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from functools import cache
from typing import Any, cast

import sqlalchemy as sa

from shared.jobs import JobStatus
from shared.store.database import Database
from shared.store.job_record import JobRecord
from shared.store.schema import JobRow

#: The statuses a cache-hot lookup may finish from (the job is not running: nobody holds a lease).
OPEN = (JobStatus.QUEUED.value, JobStatus.WAITING.value, JobStatus.PARTIAL.value)


@cache
def _statement(dialect: str) -> sa.Update:
    table = cast(sa.Table, JobRow.__table__)
    c = table.c
    availability = sa.func.coalesce(c.params["availability"].as_boolean(), sa.false())
    now = sa.bindparam("p_now", type_=c.finished_at.type)
    return (
        sa.update(table)
        .where(
            c.key == sa.bindparam("p_key"),
            c.status.in_(OPEN),
            c.kind == "lookup",
            sa.not_(availability),
            c.callback_url.is_(None),
        )
        .values(
            status=JobStatus.SUCCEEDED.value,
            result=sa.bindparam("p_result", type_=c.result.type),
            attempts=c.attempts + 1,
            due_at=None,
            wait_reason=None,
            wait_code=None,
            finished_at=now,
            updated_at=now,
        )
        .returning(*(c[f.name] for f in fields(JobRecord)))
    )


def finish_cached_lookup(db: Database, key: str, result: dict[str, Any], now: datetime) -> JobRecord | None:
    """Finish the open registration-data lookup ``key`` (without a callback) with ``result``: its
    record, or None (missing, final, an availability lookup, or a callback to record with it)."""
    statement = _statement(db.dialect)
    params = {"p_key": key, "p_result": result, "p_now": now}
    row = db.autocommit(lambda conn: conn.execute(statement, params).first())
    if row is None:
        return None
    values = dict(row._mapping)
    return JobRecord(
        **{**values, "status": JobStatus(values["status"]), "republishes": values["republishes"] or 0}
    )
