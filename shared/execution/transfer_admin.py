"""Operating transfer-ins under way (``regq transfers``): list them, resend the confirmation (FOA) e-mail,
replace a wrong auth code. The two actions are NOT jobs: one synchronous call each at the registrar
following the transfer, through :func:`shared.execution.auth_code.call_now` (the process guard, a
:class:`~shared.upstream.reporter.CallReporter` on the registrar's breaker), like the auth-code read.

A replaced code goes to the registrar only: no job row, no outcome, no webhook, no log line holds it (the
gateway registers it for redaction; the audit row has the request, never the code). The transfer job, if
one is following the transfer, goes on reading its status as before; a registrar without these operations
(ROTLD) raises :class:`~shared.errors.Unsupported` naming itself, before anything is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from shared.execution.auth_code import Services, call_now, registrar_of
from shared.gateways.day2 import Secret
from shared.jobs import FINAL_STATUSES, JobKind
from shared.names import parse_domain
from shared.store import Store
from shared.store.job_record import JobRecord
from shared.store.schema import JobRow, utcnow
from shared.timestamps import rfc3339

_FINAL = [s.value for s in FINAL_STATUSES]


@dataclass(frozen=True)
class PendingTransfer:
    """A transfer job not final yet, as an operator lists it (no params: they may hold the code)."""

    key: str
    domain: str
    registrar: str | None
    status: str
    phase: str | None
    wait_reason: str | None
    created_at: datetime
    age_seconds: float
    kind: str = JobKind.TRANSFER.value

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "domain": self.domain,
            "registrar": self.registrar,
            "status": self.status,
            "phase": self.phase,
            "wait_reason": self.wait_reason,
            "created_at": rfc3339(self.created_at),
            "age_seconds": round(self.age_seconds, 1),
        }


def pending_transfers(
    store: Store, limit: int = 1000, kinds: tuple[JobKind, ...] = (JobKind.TRANSFER,)
) -> list[PendingTransfer]:
    """Jobs of ``kinds`` (transfers; with ``owner_change``, owner changes too) not final, oldest first
    (at most ``limit``)."""
    query = (
        sa.select(JobRow)
        .where(JobRow.kind.in_([k.value for k in kinds]), JobRow.status.not_in(_FINAL))
        .order_by(JobRow.created_at, JobRow.id)
        .limit(limit)
    )
    now = utcnow()
    with store.db.session() as session:
        records = [JobRecord.from_row(row) for row in session.scalars(query)]
    return [
        PendingTransfer(
            r.key,
            r.domain,
            r.registrar,
            r.status.value,
            r.phase,
            r.wait_reason,
            r.created_at,
            max(0.0, (now - r.created_at).total_seconds()),
            r.kind,
        )
        for r in records
    ]


def transfer_job(store: Store, domain: str) -> JobRecord | None:
    """The latest transfer job of ``domain`` (an ASCII name), preferring one not final."""
    query = (
        sa.select(JobRow)
        .where(JobRow.kind == JobKind.TRANSFER.value, JobRow.domain == domain)
        .order_by(JobRow.status.in_(_FINAL), JobRow.id.desc())
        .limit(1)
    )
    with store.db.session() as session:
        row = session.scalars(query).one_or_none()
        return JobRecord.from_row(row) if row is not None else None


@dataclass(frozen=True)
class TransferAction:
    """What an action did: where, and the transfer job following it (None: regq follows no transfer)."""

    domain: str
    registrar: str
    job: JobRecord | None

    @property
    def followed(self) -> bool:
        return self.job is not None and not self.job.final


def _target(services: Services, domain: str) -> TransferAction:
    name = parse_domain(domain).ascii
    job = transfer_job(services.store, name)
    registrar = job.registrar if job is not None and job.registrar else registrar_of(services, name)
    return TransferAction(name, registrar, job)


def resend_confirmation(services: Services, domain: str) -> TransferAction:
    """Ask the registrar to send the transfer's confirmation (FOA) e-mail again."""
    target = _target(services, domain)
    name = target.domain
    call_now(
        services,
        target.registrar,
        "transfer_resend_confirmation",
        "FOA resend",
        lambda ops, policy: ops.transfer_resend_confirmation(name, policy),
    )
    return target


def replace_auth_code(services: Services, domain: str, auth_code: Secret) -> TransferAction:
    """Give the registrar a new auth code for the transfer of ``domain`` already started there."""
    target = _target(services, domain)
    name = target.domain
    call_now(
        services,
        target.registrar,
        "transfer_replace_auth_code",
        "auth-code replacement",
        lambda ops, policy: ops.transfer_replace_auth_code(name, auth_code, policy),
    )
    return target
