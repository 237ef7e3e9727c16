"""What the store answers about a job: its record, and the outcome of a claim."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from shared.job_status import FINAL_STATUSES, JobKind, JobStatus, shown_result
from shared.jobs import JobOutcome
from shared.store.schema import JobRow
from shared.wait_reasons import label


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
    wait_code: str | None = None  # shared.wait_reasons.WaitReason, beside the text ``wait_reason``

    @classmethod
    def from_row(cls, row: JobRow) -> JobRecord:
        """The record of ``row``: every field is the same-named column (a row not yet flushed too)."""
        values = {f.name: getattr(row, f.name) for f in fields(cls)}
        return cls(**{**values, "status": JobStatus(row.status), "republishes": row.republishes or 0})

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def wait_label(self) -> str | None:
        """Why an open job waits, as its label (``shared.wait_reasons``); None for a final or running job
        and for a queued one nobody deferred."""
        if self.final or self.status is JobStatus.RUNNING:
            return None
        if self.wait_code is None and self.wait_reason is None:
            return None
        return label(self.wait_code)

    @property
    def reason(self) -> str | None:
        """The reason column of ``regq jobs``: an open job's wait (``label: text``), a final one's error
        (``code: message``)."""
        if self.final:
            if self.error_code is None:
                return None
            return f"{self.error_code}: {self.error_message}" if self.error_message else self.error_code
        wait = self.wait_label
        if wait is None or self.wait_code is None:  # no label stored (a replay, an older row): the text
            return self.wait_reason if wait is not None else None
        return f"{wait}: {self.wait_reason}" if self.wait_reason else wait

    def outcome(self, duplicate: bool = False) -> JobOutcome:
        return JobOutcome(
            key=self.key,
            kind=JobKind(self.kind),
            domain=self.domain,
            registrar=self.registrar,
            status=self.status,
            attempts=self.attempts,
            result=shown_result(self.status, self.result, self.wait_reason),
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
