"""Register, renew, nameservers and sync: thin wrappers around :class:`shared.execution.runner.JobRunner`."""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import NoReturn

from celery import Task
from celery.exceptions import Reject

from shared.execution import Defer, Done
from shared.jobs import MAX_KEY_LENGTH, JobOutcome
from shared.store.database import unreachable
from tasks import runtime
from tasks.app import app
from tasks.publish import publish_record

log = logging.getLogger(__name__)
_HOST = socket.gethostname()


def deliver(task: Task, key: str) -> dict[str, object] | None:
    """Run one delivery of ``key``; re-schedule on Defer. Returns a summary without personal data."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        # Not a message we publish (our key is always a stored job's): acked, once, no store access.
        log.warning(
            "%s[%s]: malformed message (no job key): acked without action", task.name, task.request.id
        )
        return None
    owner = f"{_HOST}:{os.getpid()}:{task.request.id}"
    kwargs = task.request.kwargs if isinstance(task.request.kwargs, dict) else {}
    domain = kwargs.get("domain")
    rt = runtime.get()
    kind, named = task.name.removeprefix("regq."), domain if isinstance(domain, str) else None
    try:
        step = rt.runner.run(key, owner, kind=kind, domain=named)
    except Exception as exc:
        if not unreachable(exc):
            raise
        _hold_until_the_store_answers(key)
    if isinstance(step, Done) and step.outcome is None and not rt.store.db.answers():
        # The delivery stopped without an outcome (its lease could not be renewed) because the store is
        # gone: the message must not be acked as if the job had been dealt with.
        _hold_until_the_store_answers(key)
    if isinstance(step, Defer):
        log.info("job %s deferred %.1f s: %s", key, step.countdown, step.reason)
        raise task.retry(countdown=step.countdown, max_retries=None)
    assert isinstance(step, Done)
    _publish_follow_up(step.outcome)
    return _summary(step.outcome)


def _hold_until_the_store_answers(key: str) -> NoReturn:
    """A delivery that cannot record what happened never acks its message: it keeps it (unacked, so
    neither lost nor given to another worker) while the store is unreachable, polling it at the lease
    keeper's pace for at most REGQ_MAX_COUNTDOWN_SECONDS, then gives it back to the queue for a new
    delivery, which claims the job (or finds it busy or final) and reconciles a send left unrecorded."""
    rt = runtime.get()
    log.warning("job %s: the store is unreachable; its message is held unacked until it answers", key)
    deadline = time.monotonic() + rt.settings.max_countdown_seconds
    while time.monotonic() < deadline and not rt.store.db.answers():
        time.sleep(rt.settings.lease_seconds / 3)
    raise Reject("the store was unreachable: requeued for a new delivery", requeue=True)


def _publish_follow_up(outcome: JobOutcome | None) -> None:
    """A register that left its nameserver step to a follow-up job (stored by the runner): publish it
    now; should this publish be lost, the sweep republishes the stored, unpublished job."""
    follow = (outcome.result or {}).get("follow_up") if outcome is not None else None
    if not isinstance(follow, str):
        return
    rt = runtime.get()
    record = rt.store.jobs.get(follow)
    if record is not None and record.published_at is None:
        publish_record(rt.producer, record)
        rt.store.jobs.mark_published(follow)


def _summary(outcome: JobOutcome | None) -> dict[str, object] | None:
    if outcome is None:
        return None
    return {"key": outcome.key, "status": outcome.status.value, "error_code": outcome.error_code}


# Celery's per-worker rate_limit comes from the configuration (task_annotations in celeryconfig).
@app.task(name="regq.register", bind=True, acks_late=True, max_retries=None)
def register(self: Task, key: str, domain: str, registrar: str) -> dict[str, object] | None:
    return deliver(self, key)


@app.task(name="regq.renew", bind=True, acks_late=True, max_retries=None)
def renew(self: Task, key: str, domain: str, registrar: str) -> dict[str, object] | None:
    return deliver(self, key)


@app.task(name="regq.nameservers", bind=True, acks_late=True, max_retries=None)
def nameservers(self: Task, key: str, domain: str, registrar: str) -> dict[str, object] | None:
    return deliver(self, key)


# On the maintenance queue (tasks.routing): the registrar's shared limiter still paces its calls.
@app.task(name="regq.sync", bind=True, acks_late=True, max_retries=None)
def sync(self: Task, key: str, domain: str, registrar: str) -> dict[str, object] | None:
    return deliver(self, key)
