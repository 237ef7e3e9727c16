"""The reads the API needs beyond the stores' own, each scoped to the caller's owner.

A token acts for an owner (``api_tokens.owner``). An owner's jobs are those submitted by any of its
tokens (``jobs.submitted_by`` is the token's name: a subquery on ``api_tokens``, so the job insert path
is left alone and a token moved to another owner moves its jobs with it); an owner's domains are the
ones a registrar job (not a lookup) of that owner names. ``admin`` tokens are not scoped. Jobs
submitted without a token (CLI, beat, registrar hooks) belong to no owner: only ``admin`` reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from shared.jobs import JobOutcome
from shared.store import Store
from shared.store.api_tokens import ApiToken
from shared.store.inventory import DomainRecord
from shared.store.jobs import JobRecord
from shared.store.schema import ApiTokenRow, JobRow


@dataclass(frozen=True)
class JobPage:
    jobs: list[JobOutcome]
    next_cursor: str | None


def _owned(query: sa.Select[Any], token: ApiToken) -> sa.Select[Any]:
    if token.admin:
        return query
    owners_tokens = sa.select(ApiTokenRow.name).where(ApiTokenRow.owner == token.owner)
    return query.where(JobRow.submitted_by.in_(owners_tokens))


def visible_job(store: Store, key: str, token: ApiToken) -> JobRecord | None:
    """The job ``key`` if ``token`` may read it; None for a missing job and for another owner's alike."""
    query = _owned(sa.select(JobRow).where(JobRow.key == key), token)
    with store.db.session() as session:
        row = session.scalars(query).one_or_none()
        return JobRecord.from_row(row) if row else None


def visible_domain(store: Store, domain: str, token: ApiToken) -> DomainRecord | None:
    """The inventory's record of ``domain`` if a registrar job of ``token``'s owner names it (admin: any)."""
    if not token.admin:
        # a lookup names any domain (public data): only a registrar job makes it one's own
        held = sa.select(JobRow.id).where(JobRow.domain == domain, JobRow.kind != "lookup")
        mine = _owned(held, token).limit(1)
        with store.db.session() as session:
            if session.scalars(mine).first() is None:
                return None
    return store.inventory.get(domain)


def job_page(
    store: Store,
    token: ApiToken,
    *,
    status: str | None,
    kind: str | None,
    domain: str | None,
    after_id: int,
    limit: int,
) -> JobPage:
    """Jobs ``token`` may read with id > ``after_id`` in id order (oldest first), ``limit`` of them;
    ``next_cursor`` is the last id when there may be more. Keyset, so a page costs the same however
    deep it is."""
    query = sa.select(JobRow).where(JobRow.id > after_id).order_by(JobRow.id).limit(limit + 1)
    query = _owned(query, token)
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


def owners_of(store: Store, keys: list[str]) -> dict[str, str | None]:
    """The owner of each existing job among ``keys`` (None: submitted without a token), one SELECT."""
    if not keys:
        return {}
    query = (
        sa.select(JobRow.key, ApiTokenRow.owner)
        .outerjoin(ApiTokenRow, ApiTokenRow.name == JobRow.submitted_by)
        .where(JobRow.key.in_(sorted(set(keys))))
    )
    with store.db.session() as session:
        return {key: owner for key, owner in session.execute(query)}
