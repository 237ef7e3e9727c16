"""Register: reconcile a previous unanswered send first, then create exactly once."""

from __future__ import annotations

from datetime import date
from typing import Any

from shared.errors import DomainUnavailable, ValidationRejected
from shared.execution.context import Execution
from shared.execution.dates import TOLERANCE, add_years
from shared.gateways.base import DomainInfo
from shared.jobs import RegisterJob
from shared.store.schema import utcnow

SENDING = "sending"
SENT = "sent"


class Inconsistent(Exception):
    """The registrar's state contradicts what this job did; a human must look."""


def _consistent(info: DomainInfo, job: RegisterJob, sent_on: date) -> bool:
    """Our create (sent on ``sent_on`` for ``job.years``) explains the expiry the registrar shows."""
    if info.expires_at is None:
        return False
    return info.expires_at >= add_years(sent_on, job.years) - TOLERANCE


def _result(info_expires: date | None, reconciled: bool) -> dict[str, Any]:
    return {"expires_at": info_expires.isoformat() if info_expires else None, "reconciled": reconciled}


def reconcile_register(ex: Execution, job: RegisterJob, settle: bool) -> dict[str, Any] | None:
    """After an unanswered send: the outcome if the create happened, None if it provably did not."""
    data = ex.record.phase_data or {}
    sent_on = date.fromisoformat(data.get("sent_on", utcnow().date().isoformat()))
    info = ex.gateway.find(job.domain, ex.call, settle=settle)
    if info is None:
        return None
    if not _consistent(info, job, sent_on):
        raise Inconsistent(
            f"{job.domain} is in our account but expires {info.expires_at}, which a {job.years}-year "
            f"registration sent on {sent_on} does not explain"
        )
    return _result(info.expires_at, reconciled=True)


def run_register(ex: Execution) -> dict[str, Any]:
    """Returns the result for a succeeded job; raises the gateway's typed errors otherwise."""
    job = ex.job
    assert isinstance(job, RegisterJob)
    if job.dry_run:
        verdict = ex.gateway.dry_run_register(job, ex.call)
        if not verdict.ok:
            detail = "; ".join(verdict.errors or verdict.messages) or "refused"
            raise ValidationRejected(f"dry run refused: {detail}", provider=ex.gateway.name)
        return verdict.to_dict()
    if ex.record.phase == SENT:  # answered and recorded; only the outcome was not: finish from the record
        return _result(date.fromisoformat((ex.record.phase_data or {})["expires_at"]), reconciled=True)
    sent_before = ex.record.phase == SENDING
    if sent_before:
        found = reconcile_register(ex, job, settle=False)
        if found is not None:
            return found
    ex.arm(SENDING, {"sent_on": utcnow().date().isoformat(), "fingerprint": job.params_hash()[:16]})
    try:
        registered = ex.gateway.register(job, ex.call)
    except DomainUnavailable:
        # Taken: by someone else, or by our own earlier send that the registrar had not shown yet.
        if sent_before:
            found = reconcile_register(ex, job, settle=True)
            if found is not None:
                return found
        raise
    ex.set_phase(SENT, {"expires_at": registered.expires_at.isoformat()})
    return _result(registered.expires_at, reconciled=False)
