"""The reads the API needs beyond the job store's own: a keyset page of jobs by id."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from shared.jobs import JobOutcome
from shared.store import Store
from shared.store.jobs import JobRecord
from shared.store.schema import JobRow


@dataclass(frozen=True)
class JobPage:
    jobs: list[JobOutcome]
    next_cursor: str | None


def job_page(
    store: Store,
    *,
    status: str | None,
    kind: str | None,
    domain: str | None,
    after_id: int,
    limit: int,
) -> JobPage:
    """Jobs with id > ``after_id`` in id order (oldest first), ``limit`` of them; ``next_cursor`` is the
    last id when there may be more. Keyset, so a page costs the same however deep it is."""
    query = sa.select(JobRow).where(JobRow.id > after_id).order_by(JobRow.id).limit(limit + 1)
    if status is not None:
        query = query.where(JobRow.status == status)
    if kind is not None:
        query = query.where(JobRow.kind == kind)
    if domain is not None:
        query = query.where(JobRow.domain == domain)
    with store.db.session() as session:
        rows = list(session.scalars(query))
        ids = [r.id for r in rows]
        records = [JobRecord.from_row(r) for r in rows]
    more = len(records) > limit
    records, ids = records[:limit], ids[:limit]
    return JobPage([r.outcome() for r in records], str(ids[-1]) if more and ids else None)
