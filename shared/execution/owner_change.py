"""Owner change (Gandi changeowner, ROTLD domain-trade): prepare, start exactly once, follow to the end.

It costs money and needs confirmations (Gandi e-mails the old and the new owner; ROTLD's trade waits for
``trade-confirm``), so it runs like a transfer-in (:mod:`shared.execution.transfer`). Phases
(``jobs.phase``)::

    (none) ── owner_change_prepare (ROTLD: the new registrant's contact, created once) ──> ``prepared``
      │       (the contact id is kept with the job: a redelivery reuses it)
      ▼ ``sending`` recorded right before the start request leaves (paid)
    sending ── answered ──> auth code scrubbed from jobs.params ──> started (ROTLD: with the trade id)
      │ unanswered: the next delivery reads owner_change_status BEFORE anything is sent
      ├─ a change is known (or the domain already reads as the new owner's) ──> started: followed
      └─ none shown ── within the read-after-create wait, or not read twice yet ──> wait, read again
                    └─ still none after it ──> NeedsOperator (never a blind second start)
    started ── each follow-up delivery reads owner_change_status once ──
      ├─ pending, the registrar waits for our confirmation, not sent yet ──> ``confirming`` recorded,
      │          owner_change_confirm once (ROTLD trade-confirm), read again
      ├─ pending ───> TransferPending: "owner change pending: step S, started AGE ago" (not an attempt)
      │               past REGQ_TRANSFER_MAX_DAYS ──> failed (owner_change_timeout)
      ├─ failed ────> failed (owner_change_failed, the registrar's own words)
      └─ completed (the domain reads as the new owner's) ──> the inventory's updated_at ──> succeeded

The follow-up period and the deadline are the transfer's (REGQ_TRANSFER_FOLLOW_SECONDS,
REGQ_TRANSFER_MAX_DAYS): both wait on the same kind of confirmations. A read that fails after ``sending``
never fails the job (the change may be running): a wait, or NeedsOperator for a refusal. The outcome
holds no personal data (the new owner's details stay in jobs.params) and never the auth code.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from shared import defaults
from shared.errors import (
    AwaitingRegistry,
    Inconsistent,
    NeedsOperator,
    RegqError,
    TransferFailed,
    TransferPending,
    Unsupported,
)
from shared.execution.context import Execution, LeaseLost
from shared.execution.transfer import age_text
from shared.gateways.day2 import Secret, TransferState
from shared.gateways.owner_change import OwnerChangeOperations, OwnerChangeStatus, OwnerChangeTicket
from shared.jobs import SCRUBBED, OwnerChangeJob
from shared.store.schema import utcnow

log = logging.getLogger(__name__)

PREPARED = "prepared"
SENDING = "sending"
STARTED = "started"
CONFIRMING = "confirming"
COMPLETED = "completed"
SECRET_FIELDS = ("auth_code",)
FOLLOWED = (SENDING, STARTED, CONFIRMING)


def _since(data: dict[str, Any], field: str) -> float:
    return (utcnow() - datetime.fromisoformat(data[field])).total_seconds()


def _gateway(ex: Execution) -> OwnerChangeOperations:
    gw = ex.registrar
    if not isinstance(gw, OwnerChangeOperations):
        raise Unsupported(str(getattr(gw, "name", type(gw).__name__)), "owner change")
    return gw


def _ticket(job: OwnerChangeJob, data: dict[str, Any]) -> OwnerChangeTicket:
    return OwnerChangeTicket(job.owner, data.get("contact_id"), data.get("reference"))


def _settle_seconds(ex: Execution) -> float:
    if ex.registrar.name == "gandi":
        return float(ex.settings.gandi_visibility_wait_seconds)
    return float(defaults.REGISTRY_READBACK_SECONDS)


def _scrub(ex: Execution, job: OwnerChangeJob) -> None:
    """The registry has the code (ROTLD), or may have it: it leaves jobs.params (a job without one: no-op)."""
    if job.auth_code is None:
        return
    if ex.store.jobs.scrub_params(ex.key, SECRET_FIELDS, SCRUBBED):
        log.info("%s: auth code scrubbed from the stored params", ex.key)


def _deadline(ex: Execution, job: OwnerChangeJob, data: dict[str, Any], why: str) -> None:
    waited = _since(data, "sent_at")
    if waited > ex.settings.transfer_max_days * 86400:
        raise TransferFailed(
            f"no answer from the registry: the owner change of {job.domain} at {ex.registrar.name} is "
            f"still {why} {age_text(waited)} after its start (limit REGQ_TRANSFER_MAX_DAYS="
            f"{ex.settings.transfer_max_days:g})",
            code="owner_change_timeout",
        )


def _read(
    ex: Execution, gw: OwnerChangeOperations, job: OwnerChangeJob, data: dict[str, Any]
) -> OwnerChangeStatus | None:
    """owner_change_status once; a failed read is a wait (the change may be running), never a failure."""
    name = ex.registrar.name
    try:
        return gw.owner_change_status(job.domain, _ticket(job, data), ex.policy)
    except LeaseLost:
        raise
    except RegqError as exc:
        if exc.disposition == "wait":
            raise
        _deadline(ex, job, data, "unread")
        if exc.disposition == "retry":
            reason = f"reading the owner change of {job.domain} failed ({exc}); reading again"
            raise AwaitingRegistry(name, float(ex.settings.transfer_follow_seconds), reason) from None
        raise NeedsOperator(
            name,
            float(defaults.NEEDS_OPERATOR_RECHECK_SECONDS),
            f"reading the owner change of {job.domain} was refused ({exc}); it may be running: never "
            "started again",
        ) from None


def _unseen(ex: Execution, job: OwnerChangeJob, data: dict[str, Any]) -> None:
    """After an unanswered start the registrar shows no change: wait out its read-after-create window and
    read once more; still nothing: a human decides (a second start is paid again)."""
    name, settle = ex.registrar.name, _settle_seconds(ex)
    waited = _since(data, "sent_at")
    if waited < settle or "unseen_at" not in data:
        ex.set_phase(SENDING, {**data, "unseen_at": utcnow().isoformat()})
        retry = max(settle - waited if waited < settle else settle, 1.0)
        reason = f"the owner change of {job.domain} went unanswered and {name} shows none yet"
        raise AwaitingRegistry(name, retry, reason)
    raise NeedsOperator(
        name,
        float(defaults.NEEDS_OPERATOR_RECHECK_SECONDS),
        f"the owner change of {job.domain} went unanswered and {name} shows none {age_text(waited)} "
        f"later: it may never have reached {name}; regq never starts an owner change twice (check at the "
        "registrar, then resubmit under a new key if nothing started)",
    )


def _confirm(
    ex: Execution, gw: OwnerChangeOperations, job: OwnerChangeJob, data: dict[str, Any]
) -> dict[str, Any]:
    """Our confirmation, once per job (``confirming`` recorded first); then the change is read again."""
    data = {**data, "confirm_sent_at": utcnow().isoformat()}
    ex.set_phase(CONFIRMING, data)
    try:
        gw.owner_change_confirm(job.domain, _ticket(job, data), ex.policy)
    except LeaseLost:
        raise
    except RegqError as exc:
        if exc.disposition == "wait":
            raise
        raise NeedsOperator(
            ex.registrar.name,
            float(defaults.NEEDS_OPERATOR_RECHECK_SECONDS),
            f"confirming the owner change of {job.domain} failed ({exc}); regq confirms once: look at "
            "the registrar",
        ) from None
    log.info("owner change of %s confirmed at %s", job.domain, ex.registrar.name)
    return data


def _follow(
    ex: Execution,
    gw: OwnerChangeOperations,
    job: OwnerChangeJob,
    data: dict[str, Any],
    status: OwnerChangeStatus,
) -> dict[str, Any]:
    name = ex.registrar.name
    if status.state is TransferState.FAILED:
        detail = status.detail or status.step or "no reason given"
        raise TransferFailed(
            f"the owner change of {job.domain} failed at {name}: {detail}", "owner_change_failed"
        )
    if status.state is TransferState.COMPLETED:
        ex.set_phase(COMPLETED, data)
        log.info("owner change of %s completed at %s", job.domain, name)
        return _finish(ex, job, data)
    _deadline(ex, job, data, f"pending (step {status.step or 'unknown'})")
    if status.needs_confirmation and "confirm_sent_at" not in data:
        data = _confirm(ex, gw, job, data)
        again = _read(ex, gw, job, data)
        if again is not None and not again.needs_confirmation:
            return _follow(ex, gw, job, data, again)
    elif status.step != data.get("step"):
        data = {**data, "step": status.step}
        ex.set_phase(CONFIRMING if "confirm_sent_at" in data else STARTED, data)
    step = status.step or "unknown"
    reason = f"owner change pending at {name}: step {step}, started {age_text(_since(data, 'sent_at'))} ago"
    raise TransferPending(name, float(ex.settings.transfer_follow_seconds), reason)


def _finish(ex: Execution, job: OwnerChangeJob, data: dict[str, Any]) -> dict[str, Any]:
    """The inventory keeps its expiry and status: only its ``updated_at`` says something changed."""
    ex.store.inventory.touch(job.domain)
    result: dict[str, Any] = {"domain": job.domain, "registrar": ex.registrar.name, "owner_changed": True}
    if data.get("reference"):
        result["reference"] = data["reference"]
    return result


def _start(
    ex: Execution, gw: OwnerChangeOperations, job: OwnerChangeJob, data: dict[str, Any]
) -> dict[str, Any]:
    """Prepare (kept with the job), then send the start once (``sending`` recorded right before it)."""
    if job.scrubbed:  # the code left for the registry once already: a second start is never blind
        raise Inconsistent(f"the owner change of {job.domain} was sent before (its auth code is scrubbed)")
    if ex.record.phase != PREPARED:
        try:
            contact_id = gw.owner_change_prepare(job.domain, job.owner, ex.policy)
        except RegqError as exc:
            if exc.disposition == "final":
                _scrub(ex, job)  # the job ends before the start: its code is needed no more
            raise
        data = {"contact_id": contact_id} if contact_id else {}
        ex.set_phase(PREPARED, data)
    data = {**data, "sent_at": utcnow().isoformat(), "fingerprint": job.params_hash()[:16]}
    ex.record_before_effect(SENDING, data)
    code = Secret(job.auth_code.get_secret_value()) if job.auth_code is not None else None
    try:
        status = gw.owner_change_start(job.domain, _ticket(job, data), code, job.years, ex.policy)
    except LeaseLost:
        raise
    except RegqError as exc:
        if exc.disposition == "final":
            _scrub(ex, job)  # refused: the registrar had the code; the job ends here
            raise
        if exc.disposition == "retry":
            reason = f"the owner change of {job.domain} got no clear answer ({exc}); reading it next"
            raise AwaitingRegistry(ex.registrar.name, max(_settle_seconds(ex), 1.0), reason) from None
        raise
    _scrub(ex, job)
    data = {**data, "step": status.step, "reference": status.reference}
    ex.set_phase(STARTED, data)
    log.info("owner change of %s started at %s: %s", job.domain, ex.registrar.name, status.state.value)
    return _follow(ex, gw, job, data, status)


def run_owner_change(ex: Execution) -> dict[str, Any]:
    """The result of a completed owner change; a wait while it runs, a typed error otherwise."""
    job = ex.job
    assert isinstance(job, OwnerChangeJob)
    gw = _gateway(ex)
    data = dict(ex.record.phase_data or {})
    if ex.record.phase == COMPLETED:
        return _finish(ex, job, data)
    if ex.record.phase not in FOLLOWED:
        return _start(ex, gw, job, data)
    _scrub(ex, job)
    status = _read(ex, gw, job, data)
    if status is None:
        if ex.record.phase == SENDING:
            _unseen(ex, job, data)
        _deadline(ex, job, data, "unseen")
        raise NeedsOperator(
            ex.registrar.name,
            float(defaults.NEEDS_OPERATOR_RECHECK_SECONDS),
            f"{ex.registrar.name} no longer shows the started owner change of {job.domain}, and the "
            "domain does not read as the new owner's",
        )
    if ex.record.phase == SENDING:
        log.info("owner change of %s: the unanswered start is known at %s", job.domain, ex.registrar.name)
        data = {**data, "step": status.step, "reconciled": True}
        if status.reference and not data.get("reference"):
            data["reference"] = status.reference
        ex.set_phase(STARTED, data)
    return _follow(ex, gw, job, data, status)
