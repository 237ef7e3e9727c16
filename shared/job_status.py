"""A job's kind and status, and what its outcome shows as its result: the names every layer shares.

Kept free of pydantic and SQLAlchemy so that ``regq status KEY`` (:mod:`shared.store.job_peek`) can name
them without loading the job models (:mod:`shared.jobs`, which re-exports them as part of the job
contract) or the ORM. Defined here only: import them from here or from :mod:`shared.jobs`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class JobKind(StrEnum):
    REGISTER = "register"
    RENEW = "renew"
    LOOKUP = "lookup"
    NAMESERVERS = "nameservers"
    SYNC = "sync"
    TRANSFER = "transfer"
    LOCK = "lock"
    CONTACTS = "contacts"
    GLUE = "glue"
    OWNER_CHANGE = "owner_change"


KINDS = ", ".join(k.value for k in JobKind)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    PARTIAL = "partial"  # a lookup that answered part of its data; it runs again for the rest
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REJECTED = "rejected"

    @property
    def final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.REJECTED})


def shown_result(
    status: JobStatus, result: dict[str, Any] | None, wait_reason: str | None
) -> dict[str, Any] | None:
    """The ``result`` of a job's outcome: the stored result, plus ``waiting_reason`` (the stored text) while
    the job waits or is partial, so a producer polling the job sees why it is not done."""
    if status in (JobStatus.WAITING, JobStatus.PARTIAL) and wait_reason:
        return {**(result or {}), "waiting_reason": wait_reason}
    return result
