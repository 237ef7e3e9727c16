"""What the store answers about a job: its record, and the outcome of a claim."""

from __future__ import annotations

from dataclasses import dataclass, fields
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
        """The record of ``row``: every field is the same-named column (a row not yet flushed too)."""
        values = {f.name: getattr(row, f.name) for f in fields(cls)}
        return cls(**{**values, "status": JobStatus(row.status), "republishes": row.republishes or 0})

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


@dataclass(frozen=True)
class Written(JobRecord):
    """A record as the write that recorded its outcome answered it, with the outbox rows (webhook
    delivery ids) that write added: the completion webhooks for its caller to publish."""

    webhooks: tuple[int, ...] = ()

    @classmethod
    def of(cls, record: JobRecord, webhooks: tuple[int, ...]) -> Written:
        return cls(**{f.name: getattr(record, f.name) for f in fields(JobRecord)}, webhooks=webhooks)


class ClaimState(StrEnum):
    CLAIMED = "claimed"  # this delivery owns the job until its lease ends
    FINAL = "final"  # already finished: answer the recorded outcome, call nothing
    BUSY = "busy"  # another delivery holds a live lease: defer
    MISSING = "missing"  # no such key (purged, or a foreign message)


@dataclass(frozen=True)
class Claim:
    state: ClaimState
    record: JobRecord | None
