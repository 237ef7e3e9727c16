"""Renew: guarded by the expiry the term starts from, so a term is never renewed twice."""

from __future__ import annotations

from datetime import date
from typing import Any

from shared.execution.context import Execution
from shared.execution.dates import add_years, same_day
from shared.execution.register import Inconsistent
from shared.jobs import RenewJob

SENDING = "sending"
SENT = "sent"


def run_renew(ex: Execution) -> dict[str, Any]:
    job = ex.job
    assert isinstance(job, RenewJob)
    data = ex.record.phase_data or {}
    if ex.record.phase == SENT:  # answered and recorded; only the outcome was not: finish from the record
        return {"expires_at": data["expires_at"], "previous_expiry": data.get("expected"), "reconciled": True}
    info = ex.gateway.info(job.domain, ex.call)  # NotFound: not in our account
    current = info.expires_at
    if current is None:
        raise Inconsistent(f"the registrar shows no expiry date for {job.domain}")
    expected = job.current_expiry
    if expected is None and ex.record.phase == SENDING and data.get("expected"):
        expected = date.fromisoformat(data["expected"])
    if expected is None:
        expected = current  # a producer-keyed renew with no expiry: the term starts where it is now
    target = add_years(expected, job.years)
    if same_day(current, target):
        # Already renewed for this term: by our earlier unanswered send, or by a duplicate job.
        return {
            "expires_at": current.isoformat(),
            "previous_expiry": expected.isoformat(),
            "reconciled": True,
        }
    if not same_day(current, expected):
        raise Inconsistent(
            f"{job.domain} expires {current} at the registrar; this renewal expected {expected} "
            f"(or {target} if already renewed) and will not guess"
        )
    ex.arm(SENDING, {"expected": expected.isoformat(), "years": job.years})
    renewed = ex.gateway.renew(job, ex.call)
    ex.set_phase(SENT, {"expires_at": renewed.expires_at.isoformat(), "expected": expected.isoformat()})
    return {
        "expires_at": renewed.expires_at.isoformat(),
        "previous_expiry": expected.isoformat(),
        "reconciled": False,
    }
