"""One job's outcome read with SQLAlchemy Core alone: what ``regq status KEY`` prints, and nothing more.

``regq status KEY`` is a one-shot process: each library it imports is paid for on every run (issue 21:
at most 0.5 s). Reading the row through the store (:class:`shared.store.jobs.JobStore`) would import the
ORM, the job models and their validators (pydantic models, contacts, phone numbers, TLD catalogues) to
print twelve columns. Here instead:

1. :func:`peek_engine` opens the database of the URL as :func:`shared.store.database.create_engine` would
   (the same driver: ``postgresql://`` is psycopg 3), without a pool: one connection, closed after;
2. one ``SELECT`` of :data:`JOBS` (a Core ``table()`` naming the columns read, with the types the ORM
   mapping gives them in :mod:`shared.store.schema`: JSON decoded, SQLite's naive datetimes parsed);
3. :func:`outcome` shapes the row as ``JobOutcome.model_dump(mode="json")`` does (:mod:`shared.jobs`),
   timestamps in RFC 3339 UTC (:func:`shared.timestamps.rfc3339`; a naive one is UTC, as the store keeps).

``tests/test_job_peek.py`` holds both sides to agreeing: the same columns and types as ``JobRow``, the
same engine URL and driver as ``create_engine``, the same outcome as ``JobRecord.outcome()``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from shared.job_status import JobKind, JobStatus, shown_result
from shared.timestamps import rfc3339

#: The columns of the ``jobs`` table a job's outcome shows (``wait_reason``: a waiting job's result says it).
JOBS = sa.table(
    "jobs",
    sa.column("key", sa.String(200)),
    sa.column("kind", sa.String(16)),
    sa.column("domain", sa.String(253)),
    sa.column("registrar", sa.String(32)),
    sa.column("status", sa.String(16)),
    sa.column("attempts", sa.Integer()),
    sa.column("result", sa.JSON()),
    sa.column("error_code", sa.String(64)),
    sa.column("error_message", sa.Text()),
    sa.column("wait_reason", sa.Text()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def peek_engine(url: str) -> sa.Engine:
    """An engine for one short read of ``url``: the driver :func:`shared.store.database.create_engine`
    picks, no pool (the connection is closed when it is returned), a locked SQLite file waited for."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return sa.create_engine(parsed, poolclass=sa.NullPool, connect_args={"timeout": 30})
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return sa.create_engine(parsed, poolclass=sa.NullPool)


def read_outcome(url: str, key: str) -> dict[str, Any] | None:
    """The outcome of the job ``key`` in the database at ``url`` (:func:`outcome`), or None: no such job."""
    engine = peek_engine(url)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")  # one statement, no BEGIN/ROLLBACK
            row = conn.execute(sa.select(JOBS).where(JOBS.c.key == key)).mappings().one_or_none()
    finally:
        engine.dispose()
    return None if row is None else outcome(row)


def outcome(row: sa.RowMapping) -> dict[str, Any]:
    """A ``jobs`` row (:data:`JOBS`'s columns) as ``JobOutcome.model_dump(mode="json")`` answers it, never a
    duplicate (nobody submitted it: it was looked up)."""
    status = JobStatus(row["status"])
    return {
        "key": row["key"],
        "kind": JobKind(row["kind"]).value,
        "domain": row["domain"],
        "registrar": row["registrar"],
        "status": status.value,
        "attempts": row["attempts"],
        "result": shown_result(status, row["result"], row["wait_reason"]),
        "error_code": row["error_code"],
        "error_message": row["error_message"],
        "created_at": rfc3339(row["created_at"]),
        "updated_at": rfc3339(row["updated_at"]),
        "duplicate": False,
    }
