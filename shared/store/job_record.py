"""What the store answers about a job: its record, and the outcome of a claim."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from shared.jobs import FINAL_STATUSES, JobKind, JobOutcome, JobStatus
from shared.store.schema import JobRow


@dataclass(frozen=True)
class JobRecord:
    key: str
    kind: str
    domain: str
    registrar: str | None
    params: dict[str, Any]
    status: JobStatus
    attempts: int
    result: dict[str, Any] | None
    error_code: str | None
    error_message: str | None
    phase: str | None
    phase_data: dict[str, Any] | None
    lease_owner: str | None
    lease_until: datetime | None
    due_at: datetime | None
    wait_reason: str | None
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    republish_at: datetime | None = None
    republishes: int = 0
    max_due_wait_seconds: float | None = None
    callback_url: str | None = None
    submitted_by: str | None = None

    @classmethod
    def from_row(cls, row: JobRow) -> JobRecord:
        return cls(
            key=row.key,
            kind=row.kind,
            domain=row.domain,
            registrar=row.registrar,
            params=row.params,
            status=JobStatus(row.status),
            attempts=row.attempts,
            result=row.result,
            error_code=row.error_code,
            error_message=row.error_message,
            phase=row.phase,
            phase_data=row.phase_data,
            lease_owner=row.lease_owner,
            lease_until=row.lease_until,
            due_at=row.due_at,
            wait_reason=row.wait_reason,
            published_at=row.published_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
            finished_at=row.finished_at,
            republish_at=row.republish_at,
            republishes=row.republishes or 0,
            max_due_wait_seconds=row.max_due_wait_seconds,
            callback_url=row.callback_url,
            submitted_by=row.submitted_by,
        )

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    def outcome(self, duplicate: bool = False) -> JobOutcome:
        result = self.result
        if self.status in (JobStatus.WAITING, JobStatus.PARTIAL) and self.wait_reason:
            result = {**(result or {}), "waiting_reason": self.wait_reason}
        return JobOutcome(
            key=self.key,
            kind=JobKind(self.kind),
            domain=self.domain,
            registrar=self.registrar,
            status=self.status,
            attempts=self.attempts,
            result=result,
            error_code=self.error_code,
            error_message=self.error_message,
            created_at=self.created_at,
            updated_at=self.updated_at,
            duplicate=duplicate,
        )


class ClaimState(StrEnum):
    CLAIMED = "claimed"  # this delivery owns the job until its lease ends
    FINAL = "final"  # already finished: answer the recorded outcome, call nothing
    BUSY = "busy"  # another delivery holds a live lease: defer
    MISSING = "missing"  # no such key (purged, or a foreign message)


@dataclass(frozen=True)
class Claim:
    state: ClaimState
    record: JobRecord | None
