"""The api_calls table: one row per upstream call (implements shared.audit.AuditSink)."""

from __future__ import annotations

import sqlalchemy as sa

from shared.audit import ApiCall
from shared.store.database import Database
from shared.store.schema import ApiCallRow


class AuditLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record_call(self, call: ApiCall) -> None:
        with self.db.session() as session:
            session.add(
                ApiCallRow(
                    provider=call.provider,
                    operation=call.operation,
                    method=call.method,
                    path=call.path[:500],
                    status=call.status,
                    latency_ms=round(call.latency_ms, 3),
                    error_code=call.error_code,
                    job_key=call.job_key,
                    attempt=call.attempt,
                )
            )

    def calls(self, job_key: str | None = None, limit: int = 1000) -> list[ApiCall]:
        query = sa.select(ApiCallRow).order_by(ApiCallRow.id).limit(limit)
        if job_key is not None:
            query = query.where(ApiCallRow.job_key == job_key)
        with self.db.session() as session:
            return [
                ApiCall(
                    r.provider,
                    r.operation,
                    r.method,
                    r.path,
                    r.status,
                    r.latency_ms,
                    r.error_code,
                    r.job_key,
                    r.attempt,
                )
                for r in session.scalars(query)
            ]

    def counts_by_provider(self) -> dict[str, int]:
        query = sa.select(ApiCallRow.provider, sa.func.count()).group_by(ApiCallRow.provider)
        with self.db.session() as session:
            return {provider: n for provider, n in session.execute(query)}
