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
holds no personal data (the new owner's details stay in jobs.params) and never the auth code. The reads,
waits and deadline it shares with the transfer: :mod:`shared.execution.follow`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from shared import defaults
from shared.errors import Inconsistent, NeedsOperator, RegqError, TransferFailed, Unsupported
from shared.execution import follow
from shared.execution.context import Execution, LeaseLost
from shared.gateways.day2 import Secret, TransferState
from shared.gateways.owner_change import OwnerChangeOperations, OwnerChangeStatus, OwnerChangeTicket
from shared.jobs import OwnerChangeJob
from shared.store.schema import utcnow

log = logging.getLogger(__name__)

PREPARED = "prepared"
CONFIRMING = "confirming"
FOLLOWED = (follow.SENDING, follow.STARTED, CONFIRMING)


def _followed(job: OwnerChangeJob) -> follow.Followed:
    gone = "and the domain does not read as the new owner's"
    return follow.Followed("owner change", job.domain, "owner_change_timeout", gone)


def _gateway(ex: Execution) -> OwnerChangeOperations:
    gw = ex.registrar
    if not isinstance(gw, OwnerChangeOperations):
        raise Unsupported(str(getattr(gw, "name", type(gw).__name__)), "owner change")
    return gw


def _ticket(job: OwnerChangeJob, data: dict[str, Any]) -> OwnerChangeTicket:
    return OwnerChangeTicket(job.owner, data.get("contact_id"), data.get("reference"))


def _scrub(ex: Execution, job: OwnerChangeJob) -> None:
    """The registry has the code (ROTLD), or may have it: it leaves jobs.params (a job without one: no-op)."""
    if job.auth_code is not None:
        follow.scrub_code(ex)


def _reader(
    ex: Execution, gw: OwnerChangeOperations, job: OwnerChangeJob, data: dict[str, Any]
) -> Callable[[], OwnerChangeStatus | None]:
    """owner_change_status of the started change, as :mod:`shared.execution.follow` calls it."""
    return lambda: gw.owner_change_status(job.domain, _ticket(job, data), ex.policy)


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
        ex.set_phase(follow.COMPLETED, data)
        log.info("owner change of %s completed at %s", job.domain, name)
        return _finish(ex, job, data)
    follow.deadline(ex, _followed(job), data, f"pending (step {status.step or 'unknown'})")
    if status.needs_confirmation and "confirm_sent_at" not in data:
        data = _confirm(ex, gw, job, data)
        again = follow.read_status(ex, _followed(job), data, _reader(ex, gw, job, data))
        if again is not None and not again.needs_confirmation:
            return _follow(ex, gw, job, data, again)
    elif status.step != data.get("step"):
        data = {**data, "step": status.step}
        ex.set_phase(CONFIRMING if "confirm_sent_at" in data else follow.STARTED, data)
    follow.pending(ex, _followed(job), data, status.step)


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
    ex.record_before_effect(follow.SENDING, data)
    code = Secret(job.auth_code.get_secret_value()) if job.auth_code is not None else None
    try:
        status = gw.owner_change_start(job.domain, _ticket(job, data), code, job.years, ex.policy)
    except LeaseLost:
        raise
    except RegqError as exc:
        if exc.disposition == "final":
            _scrub(ex, job)  # refused: the registrar had the code; the job ends here
        follow.start_failed(ex, _followed(job), exc)
        raise
    _scrub(ex, job)
    data = {**data, "step": status.step, "reference": status.reference}
    ex.set_phase(follow.STARTED, data)
    log.info("owner change of %s started at %s: %s", job.domain, ex.registrar.name, status.state.value)
    return _follow(ex, gw, job, data, status)


def run_owner_change(ex: Execution) -> dict[str, Any]:
    """The result of a completed owner change; a wait while it runs, a typed error otherwise."""
    job = ex.job
    assert isinstance(job, OwnerChangeJob)
    gw = _gateway(ex)
    data = dict(ex.record.phase_data or {})
    if ex.record.phase == follow.COMPLETED:
        return _finish(ex, job, data)
    if ex.record.phase not in FOLLOWED:
        return _start(ex, gw, job, data)
    _scrub(ex, job)
    status = follow.read_again(ex, _followed(job), data, _reader(ex, gw, job, data))
    if ex.record.phase == follow.SENDING:
        data = {**data, "step": status.step}
        if status.reference and not data.get("reference"):
            data["reference"] = status.reference
        data = follow.reconciled(ex, _followed(job), data)
    return _follow(ex, gw, job, data, status)
