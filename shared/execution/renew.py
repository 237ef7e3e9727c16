"""Renew: guarded by the expiry the term starts from, so a term is never renewed twice.

Phases::

    (none) ──send─> sending ──answered, new expiry seen──> sent ──> succeeded
                      │                └─ answered, registry still shows the old date ──> answered
                      │ next delivery: read the expiry (the guard)
                      ├─ already the new term ──> succeeded (reconciled)
                      └─ still the old term ──> send again (the first send never took effect)
    answered ── next delivery reads: new term ──> succeeded; old term ──> wait (AwaitingRegistry), never
                re-send; after REGISTRY_LAG_LIMIT_SECONDS the wait says an operator should look
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from shared import defaults
from shared.errors import AwaitingRegistry, Inconsistent, NeedsOperator, RegqError
from shared.execution.context import Execution
from shared.gateways.dates import add_years, same_day
from shared.jobs import RenewJob
from shared.store.inventory import MISSING
from shared.store.schema import utcnow

SENDING = "sending"
SENT = "sent"
ANSWERED = "answered"  # the registrar accepted the renewal; its read-back still showed the old expiry


class TransferredAway(RegqError):
    """The inventory says the domain is no longer in our account (a sync found it ``missing``): a renew
    still queued for it is cancelled, never sent."""

    code = "transferred_away"
    final_status = "rejected"


def _done(expires: str, expected: date, reconciled: bool) -> dict[str, Any]:
    return {"expires_at": expires, "previous_expiry": expected.isoformat(), "reconciled": reconciled}


def _still_lagging(ex: Execution, job: RenewJob, expected: date, target: date, since: str) -> None:
    waited = (utcnow() - datetime.fromisoformat(since)).total_seconds()
    reason = f"{job.domain}: the renewal was accepted but the registrar still shows {expected}, not {target}"
    if waited > defaults.REGISTRY_LAG_LIMIT_SECONDS:
        raise NeedsOperator(ex.registrar.name, float(defaults.REGISTRY_LAG_RECHECK_SECONDS), reason)
    raise AwaitingRegistry(ex.registrar.name, float(defaults.REGISTRY_LAG_RECHECK_SECONDS), reason)


def run_renew(ex: Execution) -> dict[str, Any]:
    job = ex.job
    assert isinstance(job, RenewJob)
    data = ex.record.phase_data or {}
    if ex.record.phase == SENT:  # answered and recorded; only the outcome was not: finish from the record
        return {"expires_at": data["expires_at"], "previous_expiry": data.get("expected"), "reconciled": True}
    held = ex.store.inventory.get(job.domain)
    if held is not None and held.status == MISSING:
        raise TransferredAway(f"{job.domain} left our account (transferred away): renew cancelled")
    info = ex.registrar.info(job.domain, ex.policy)  # NotFound: not in our account
    current = info.expires_at
    if current is None:
        raise Inconsistent(f"the registrar shows no expiry date for {job.domain}")
    expected = job.current_expiry
    if expected is None and ex.record.phase in (SENDING, ANSWERED) and data.get("expected"):
        expected = date.fromisoformat(data["expected"])
    if expected is None:
        expected = current  # a producer-keyed renew with no expiry: the term starts where it is now
    target = add_years(expected, job.years)
    if same_day(current, target):
        # Already renewed for this term: by our earlier send, or by a duplicate job.
        return _done(current.isoformat(), expected, reconciled=True)
    if not same_day(current, expected):
        raise Inconsistent(
            f"{job.domain} expires {current} at the registrar; this renewal expected {expected} "
            f"(or {target} if already renewed) and will not guess"
        )
    if ex.record.phase == ANSWERED:  # accepted earlier; the registry lags: wait, never renew again
        _still_lagging(ex, job, expected, target, data.get("answered_at", utcnow().isoformat()))
    ex.record_before_effect(SENDING, {"expected": expected.isoformat(), "years": job.years})
    try:
        renewed = ex.registrar.renew(job, ex.policy, expected=target)
    except AwaitingRegistry:
        answered = {"expected": expected.isoformat(), "years": job.years, "answered_at": utcnow().isoformat()}
        ex.set_phase(ANSWERED, answered)
        raise
    ex.set_phase(SENT, {"expires_at": renewed.expires_at.isoformat(), "expected": expected.isoformat()})
    return _done(renewed.expires_at.isoformat(), expected, reconciled=False)
