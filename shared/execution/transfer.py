"""Transfer-in: check first, start exactly once, then follow the transfer to its end.

Phases (``jobs.phase``)::

    (none) ── transfer_check ── cannot move ──> rejected (NotTransferable: nothing paid, nothing started)
      │ can move
      ▼ ``sending`` recorded right before the start request leaves (paid; a failed transfer is not refunded)
    sending ── answered ──> auth code scrubbed from jobs.params ──> started
      │ unanswered: the next delivery reads transfer_status BEFORE anything is sent
      ├─ a transfer is known (pending / completed / failed) ──> started: followed, never restarted
      └─ none shown ── within the read-after-create wait, or not read twice yet ──> wait, read again
                    └─ still none after it ──> NeedsOperator (never a blind second start)
    started ── each follow-up delivery reads transfer_status once (one limiter token) ──
      ├─ pending ───> TransferPending: waiting, "transfer pending: step S, started AGE ago" (not an attempt)
      │               past REGQ_TRANSFER_MAX_DAYS ──> failed (transfer_timeout: no answer from the registry)
      ├─ failed ────> failed (transfer_failed, the registrar's own words)
      └─ completed (in our account, no pendingTransfer) ──> completed
    completed ── inventory (the registry's expiry, never computed), the registrar's auto-renew off, the
                 nameservers asked for ──> succeeded

A read that fails after ``sending`` (5xx, garbage, a refusal we cannot read) never fails the job: the
transfer may be running; the job waits and reads again (a refusal: NeedsOperator). An unclear start
(a timeout, a 5xx, a 429 that may have hit the read-back after it) is a wait too: the next delivery
reconciles before anything is sent, so running out of attempts never leaves a started transfer failed.
The reads, waits and deadline it shares with the owner change: :mod:`shared.execution.follow`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, cast

from shared.contact import Contact
from shared.errors import Inconsistent, NotTransferable, RegqError, TransferFailed
from shared.execution import follow
from shared.execution.autorenew import autorenew_off
from shared.execution.context import Execution, LeaseLost
from shared.execution.day2_ops import day2
from shared.gateways.day2 import Day2Operations, Secret, TransferState, TransferStatus
from shared.jobs import TransferJob
from shared.store.schema import utcnow

log = logging.getLogger(__name__)


def _followed(job: TransferJob) -> follow.Followed:
    return follow.Followed("transfer", job.domain, "transfer_timeout", "nor the domain in our account")


def _follow(ex: Execution, job: TransferJob, data: dict[str, Any], status: TransferStatus) -> dict[str, Any]:
    """Act on what the registrar says of a started transfer (see the module's diagram)."""
    name = ex.registrar.name
    if status.state is TransferState.FAILED:
        detail = status.detail or status.step or "no reason given"
        raise TransferFailed(f"the transfer of {job.domain} failed at {name}: {detail}")
    if status.state is TransferState.COMPLETED:
        if status.expires_at is None:
            raise Inconsistent(f"{name} shows the transfer of {job.domain} completed without an expiry")
        ex.set_phase(follow.COMPLETED, {**data, "expires_at": status.expires_at.isoformat()})
        log.info("transfer of %s completed at %s; expires %s", job.domain, name, status.expires_at)
        return _finish(ex, job, status.expires_at.isoformat())
    follow.deadline(ex, _followed(job), data, f"pending (step {status.step or 'unknown'})")
    if status.step != data.get("step"):
        ex.set_phase(follow.STARTED, {**data, "step": status.step})
    follow.pending(ex, _followed(job), data, status.step)


def _nameservers(ex: Execution, job: TransferJob) -> list[str]:
    """The nameservers the job asks for, once the domain is ours; a failure is a warning (a wait goes up)."""
    if not job.nameservers:
        return []
    try:
        ex.registrar.set_nameservers(job.domain, job.nameservers, ex.policy)
    except LeaseLost:
        raise
    except RegqError as exc:
        if exc.disposition == "wait":
            raise
        return [f"the domain is ours, but setting its nameservers failed ({exc}): submit a nameservers job"]
    return []


def _finish(ex: Execution, job: TransferJob, expires_at: str) -> dict[str, Any]:
    ex.store.inventory.upsert(job.domain, ex.registrar.name, datetime.fromisoformat(expires_at).date())
    renew = autorenew_off(ex, job.domain)
    return {
        "domain": job.domain,
        "expires_at": expires_at,
        "registrar": ex.registrar.name,
        "autorenew_at_registrar": renew["autorenew_at_registrar"],
        "warnings": [*renew["warnings"], *_nameservers(ex, job)],
        "notes": renew["notes"],
    }


def _start(ex: Execution, gw: Day2Operations, job: TransferJob) -> dict[str, Any]:
    """Check, then send the start once (``sending`` recorded right before it leaves)."""
    if job.scrubbed:  # the code left for the registry once already: a second start is never blind
        raise Inconsistent(f"the transfer of {job.domain} was sent before (its auth code is scrubbed)")
    code = Secret(job.auth_code.get_secret_value())
    verdict = gw.transfer_check(job.domain, code, ex.policy)
    if not verdict.available:
        raise NotTransferable(job.domain, verdict.reason or f"{ex.registrar.name} gives no reason")
    data: dict[str, Any] = {"sent_at": utcnow().isoformat(), "fingerprint": job.params_hash()[:16]}
    ex.record_before_effect(follow.SENDING, data)
    owner = cast(Contact, job.owner)  # required for gandi by the job; rotld's domain-transfer ignores it
    try:
        status = gw.transfer_start(job.domain, code, owner, job.years, ex.policy, contacts=job.other_contacts)
    except LeaseLost:
        raise
    except RegqError as exc:
        if exc.disposition == "final":
            follow.scrub_code(ex)  # refused: the registrar had the code; the job ends here
        follow.start_failed(ex, _followed(job), exc)
        raise
    follow.scrub_code(ex)
    data = {**data, "step": status.step}
    ex.set_phase(follow.STARTED, data)
    log.info("transfer of %s started at %s: %s", job.domain, ex.registrar.name, status.state.value)
    return _follow(ex, job, data, status)


def run_transfer(ex: Execution) -> dict[str, Any]:
    """Returns the result of a completed transfer; raises a wait while it runs, a typed error otherwise."""
    job = ex.job
    assert isinstance(job, TransferJob)
    gw = day2(ex.registrar, "transfer_start", "transfer-in")
    data = dict(ex.record.phase_data or {})
    if ex.record.phase == follow.COMPLETED:  # read completed; the steps after it (or the outcome) were not
        return _finish(ex, job, data["expires_at"])
    if ex.record.phase not in (follow.SENDING, follow.STARTED):
        return _start(ex, gw, job)
    follow.scrub_code(ex)  # the registry has the code, or may have it: either way it is never sent again
    status = follow.read_again(ex, _followed(job), data, lambda: gw.transfer_status(job.domain, ex.policy))
    if ex.record.phase == follow.SENDING:
        data = follow.reconciled(ex, _followed(job), {**data, "step": status.step})
    return _follow(ex, job, data, status)
