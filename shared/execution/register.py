"""Register: reconcile a previous unanswered send first, then create exactly once, then the nameservers.

Phases (``jobs.phase``)::

    (none) ──send─> sending ──answered──> sent ──> succeeded
                      │ next delivery: find the domain
                      ├─ in our account, expiry explained ──> succeeded (reconciled)
                      └─ provably not there ──> checked (never re-read for a throttle) ──> create again

``sending`` is recorded only when ``domain-register`` (Gandi: the create POST) leaves with credentials:
a contact-create, an availability check, a Digest challenge or a throttled attempt leave no phase. Once
the domain exists, nothing turns the job into a failure: the nameserver step runs after it, and when it
fails the job still succeeds, with ``warnings`` and a follow-up ``nameservers`` job; then the registrar's
own auto-renew is switched off (regq renews; :mod:`shared.execution.autorenew`), a warning when it fails.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from shared import defaults
from shared.errors import DomainUnavailable, Inconsistent, NeedsOperator, RegqError, ValidationRejected
from shared.execution.autorenew import autorenew_off
from shared.execution.context import Execution
from shared.execution.nameservers import complete_nameservers
from shared.gateways.base import DomainInfo
from shared.gateways.dates import TOLERANCE, add_years
from shared.jobs import RegisterJob
from shared.store.schema import utcnow

SENDING = "sending"
SENT = "sent"
CHECKED = "checked"  # a previous send was reconciled and provably created nothing


def _consistent(info: DomainInfo, job: RegisterJob, sent_on: date) -> bool:
    """Our create (sent on ``sent_on`` for ``job.years``) explains the expiry the registrar shows."""
    if info.expires_at is None:
        return False
    return info.expires_at >= add_years(sent_on, job.years) - TOLERANCE


def _result(expires: date | None, reconciled: bool) -> dict[str, Any]:
    return {
        "expires_at": expires.isoformat() if expires else None,
        "reconciled": reconciled,
        "warnings": [],
        "nameservers_pending": False,
    }


def _after_create(ex: Execution, job: RegisterJob, shown: list[str] | None) -> dict[str, Any]:
    """The steps once the domain is ours, neither failing the job: nameservers, then auto-renew off."""
    steps = complete_nameservers(ex, job, shown)
    renew = autorenew_off(ex, job.domain)
    warnings = [*steps["warnings"], *renew["warnings"]]
    return {**steps, "warnings": warnings, "autorenew_at_registrar": renew["autorenew_at_registrar"]}


def reconcile_register(ex: Execution, job: RegisterJob, settle: bool) -> dict[str, Any] | None:
    """After an unanswered send: the outcome if the create happened, None if it provably did not.

    A registry answer that is neither (an error we cannot read as "not found") raises NeedsOperator from
    the gateway's ``find``: the job waits; it never re-sends the create on a guess."""
    data = ex.record.phase_data or {}
    sent_on = date.fromisoformat(data.get("sent_on", utcnow().date().isoformat()))
    try:
        info = ex.registrar.find(job.domain, ex.policy, settle=settle)
    except RegqError as exc:
        if exc.disposition != "final":
            raise  # a wait or a retry: ask again later
        # Refused (auth, a rule of ours...): we cannot tell whether our create happened. Neither fail the
        # job (the domain may be ours) nor send again: wait for a human.
        raise NeedsOperator(
            ex.registrar.name,
            float(defaults.NEEDS_OPERATOR_RECHECK_SECONDS),
            f"reconciling {job.domain} failed ({exc}); cannot tell whether our create happened",
        ) from None
    if info is None:
        return None
    if not _consistent(info, job, sent_on):
        raise Inconsistent(
            f"{job.domain} is in our account but expires {info.expires_at}, which a {job.years}-year "
            f"registration sent on {sent_on} does not explain"
        )
    return {**_result(info.expires_at, reconciled=True), **_after_create(ex, job, info.nameservers)}


def run_register(ex: Execution) -> dict[str, Any]:
    """Returns the result for a succeeded job; raises the gateway's typed errors otherwise."""
    job = ex.job
    assert isinstance(job, RegisterJob)
    if job.dry_run:
        verdict = ex.registrar.dry_run_register(job, ex.policy)
        if not verdict.ok:
            detail = "; ".join(verdict.errors or verdict.messages) or "refused"
            raise ValidationRejected(f"dry run refused: {detail}", provider=ex.registrar.name)
        return verdict.to_dict()
    data = ex.record.phase_data or {}
    if ex.record.phase == SENT:  # the create was answered and recorded; finish the steps after it
        result = _result(date.fromisoformat(data["expires_at"]), reconciled=True)
        return {**result, **_after_create(ex, job, data.get("nameservers"))}
    sent_before = ex.record.phase in (SENDING, CHECKED)
    if ex.record.phase == SENDING:
        found = reconcile_register(ex, job, settle=False)
        if found is not None:
            return found
        # Provably not created: remember that, so a throttled create below is not reconciled again.
        ex.set_phase(CHECKED, {**data, "checked_at": utcnow().isoformat()})
    ex.record_before_effect(
        SENDING, {"sent_on": utcnow().date().isoformat(), "fingerprint": job.params_hash()[:16]}
    )
    try:
        registered = ex.registrar.register(job, ex.policy)
    except DomainUnavailable:
        # Taken: by someone else, or by our own earlier send that the registrar had not shown yet.
        if sent_before:
            found = reconcile_register(ex, job, settle=True)
            if found is not None:
                return found
        raise
    shown = list(registered.nameservers) if registered.nameservers is not None else None
    ex.set_phase(SENT, {"expires_at": registered.expires_at.isoformat(), "nameservers": shown})
    result = _result(registered.expires_at, reconciled=False)
    return {**result, **_after_create(ex, job, shown)}
