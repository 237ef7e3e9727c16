"""Following a paid registrar operation that starts once and then waits on confirmations for days.

A transfer-in (:mod:`shared.execution.transfer`) and an owner change (:mod:`shared.execution.owner_change`)
run alike: ``sending`` is recorded right before the start leaves; an unanswered start is reconciled by
reading the registrar BEFORE anything is sent again; each follow-up delivery reads the operation once.
This module holds what both do the same way::

    read_status   one read; a failed read is a wait (the operation may be running), a refusal
                  NeedsOperator, never a failure (past the deadline: failed)
    read_again    a follow-up delivery's read: nothing shown right after an unanswered start ->
                  ``unseen`` (wait out the read-after-create window, read once more, then NeedsOperator);
                  nothing shown later -> NeedsOperator (never a blind second start)
    start_failed  a start without a clear answer (a timeout, a 5xx, a 429 that may have hit the read-back
                  after it) is a wait: the next delivery reconciles first
    deadline      past REGQ_TRANSFER_MAX_DAYS since the start: failed with the operation's timeout code
    pending       still running: TransferPending (a wait, not an attempt) naming the step and the age
    reconciled    an unanswered start the registrar knows: ``started``, followed from then on

The follow-up period and the deadline are the transfer's settings (REGQ_TRANSFER_FOLLOW_SECONDS,
REGQ_TRANSFER_MAX_DAYS) for both: both wait on the same kind of confirmations.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn, TypeVar

from shared import defaults
from shared.errors import AwaitingRegistry, NeedsOperator, RegqError, TransferFailed, TransferPending
from shared.execution.context import Execution, LeaseLost
from shared.jobs import SCRUBBED
from shared.store.schema import utcnow

log = logging.getLogger(__name__)

SENDING = "sending"
STARTED = "started"
COMPLETED = "completed"
SECRET_FIELDS = ("auth_code",)

S = TypeVar("S")


@dataclass(frozen=True)
class Followed:
    """What is followed, for the messages and the outcome: ``noun`` ("transfer", "owner change"), the
    job's ``domain``, the error code its deadline fails with, and what "gone" means for it (the end of
    the NeedsOperator reason when the registrar no longer shows a started one)."""

    noun: str
    domain: str
    timeout_code: str
    gone: str

    def __str__(self) -> str:
        return f"the {self.noun} of {self.domain}"

    @property
    def one(self) -> str:
        """``a transfer``, ``an owner change``."""
        return f"{'an' if self.noun[:1] in 'aeiou' else 'a'} {self.noun}"


def age_text(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3 h``, ``2 d 4 h``: how long ago, for a human reading ``regq status``."""
    s = max(0, int(seconds))
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    if s < 172800:
        return f"{s // 3600} h"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def since(data: dict[str, Any], field: str) -> float:
    """Seconds since the ISO time ``data[field]`` (``sent_at``: the start)."""
    return (utcnow() - datetime.fromisoformat(data[field])).total_seconds()


def settle_seconds(ex: Execution) -> float:
    """How long a just-started operation may take to show (the registrar's read-after-create window)."""
    if ex.registrar.name == "gandi":
        return float(ex.settings.gandi_visibility_wait_seconds)
    return float(defaults.REGISTRY_READBACK_SECONDS)


def scrub_code(ex: Execution) -> None:
    """The registry has the auth code now (or may have it): it leaves jobs.params; the hash keeps its
    SHA-256."""
    if ex.store.jobs.scrub_params(ex.key, SECRET_FIELDS, SCRUBBED):
        log.info("%s: auth code scrubbed from the stored params", ex.key)


def deadline(ex: Execution, followed: Followed, data: dict[str, Any], why: str) -> None:
    """Past REGQ_TRANSFER_MAX_DAYS since the start: the job fails (the registrar may still finish it)."""
    waited = since(data, "sent_at")
    if waited > ex.settings.transfer_max_days * 86400:
        raise TransferFailed(
            f"no answer from the registry: {followed} at {ex.registrar.name} is still {why} "
            f"{age_text(waited)} after its start (limit REGQ_TRANSFER_MAX_DAYS="
            f"{ex.settings.transfer_max_days:g})",
            code=followed.timeout_code,
        )


def read_status(ex: Execution, followed: Followed, data: dict[str, Any], read: Callable[[], S]) -> S:
    """``read()`` once; a failed read is a wait (the operation may be running), never a failure."""
    name = ex.registrar.name
    try:
        return read()
    except LeaseLost:
        raise
    except RegqError as exc:
        if exc.disposition == "wait":
            raise
        deadline(ex, followed, data, "unread")
        if exc.disposition == "retry":
            reason = f"reading {followed} failed ({exc}); reading again"
            raise AwaitingRegistry(name, float(ex.settings.transfer_follow_seconds), reason) from None
        raise NeedsOperator(
            name,
            float(defaults.NEEDS_OPERATOR_RECHECK_SECONDS),
            f"reading {followed} was refused ({exc}); it may be running: never started again",
        ) from None


def _unseen(ex: Execution, followed: Followed, data: dict[str, Any]) -> None:
    """After an unanswered start the registrar shows nothing: wait out its read-after-create window and
    read once more; still nothing: a human decides (a second start is paid again: never blind)."""
    name, settle = ex.registrar.name, settle_seconds(ex)
    waited = since(data, "sent_at")
    if waited < settle or "unseen_at" not in data:
        ex.set_phase(SENDING, {**data, "unseen_at": utcnow().isoformat()})
        retry = max(settle - waited if waited < settle else settle, 1.0)
        reason = f"the start of {followed} went unanswered and {name} shows no {followed.noun} yet"
        raise AwaitingRegistry(name, retry, reason)
    raise NeedsOperator(
        name,
        float(defaults.NEEDS_OPERATOR_RECHECK_SECONDS),
        f"the start of {followed} went unanswered and {name} shows no {followed.noun} {age_text(waited)} "
        f"later: it may never have reached {name}; regq never starts {followed.one} twice (check at the "
        "registrar, then resubmit under a new key if nothing started)",
    )


def read_again(ex: Execution, followed: Followed, data: dict[str, Any], read: Callable[[], S | None]) -> S:
    """A follow-up delivery's read (phase ``sending`` or later): what the registrar shows, or a wait /
    NeedsOperator when it shows nothing (see the module)."""
    status = read_status(ex, followed, data, read)
    if status is not None:
        return status
    if ex.record.phase == SENDING:
        _unseen(ex, followed, data)
    deadline(ex, followed, data, "unseen")
    raise NeedsOperator(
        ex.registrar.name,
        float(defaults.NEEDS_OPERATOR_RECHECK_SECONDS),
        f"{ex.registrar.name} no longer shows {followed} started, {followed.gone}",
    )


def reconciled(ex: Execution, followed: Followed, data: dict[str, Any]) -> dict[str, Any]:
    """An unanswered start the registrar knows: ``started`` from now on (followed, never started again)."""
    log.info("%s: the unanswered start is known at %s", followed, ex.registrar.name)
    data = {**data, "reconciled": True}
    ex.set_phase(STARTED, data)
    return data


def pending(ex: Execution, followed: Followed, data: dict[str, Any], step: str | None) -> NoReturn:
    """Still running at the registrar: a wait of REGQ_TRANSFER_FOLLOW_SECONDS (not an attempt)."""
    name, started = ex.registrar.name, age_text(since(data, "sent_at"))
    reason = f"{followed.noun} pending at {name}: step {step or 'unknown'}, started {started} ago"
    raise TransferPending(name, float(ex.settings.transfer_follow_seconds), reason)


def start_failed(ex: Execution, followed: Followed, exc: RegqError) -> None:
    """A start that raised ``exc`` (the caller scrubbed the code first when it is final): sent with no
    clear answer (``retry``; a 429 too: it may have come from the read-back after the start) is a wait,
    and the next delivery reads the registrar before anything else; otherwise the caller re-raises."""
    if exc.disposition == "retry":
        reason = f"the start of {followed} got no clear answer ({exc}); reading it next"
        raise AwaitingRegistry(ex.registrar.name, max(settle_seconds(ex), 1.0), reason) from None
