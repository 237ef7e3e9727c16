"""Register, renew, nameservers and sync: thin wrappers around :class:`shared.execution.runner.JobRunner`."""

from __future__ import annotations

import logging
import os
import socket

from celery import Task

from shared.execution import Defer, Done
from shared.jobs import JobOutcome
from tasks import runtime
from tasks.app import app
from tasks.publish import publish_record

log = logging.getLogger(__name__)
_HOST = socket.gethostname()


def deliver(task: Task, key: str) -> dict[str, object] | None:
    """Run one delivery of ``key``; re-schedule on Defer. Returns a summary without personal data."""
    owner = f"{_HOST}:{os.getpid()}:{task.request.id}"
    kwargs = task.request.kwargs or {}
    step = runtime.get().runner.run(
        key, owner, kind=task.name.removeprefix("regq."), domain=kwargs.get("domain")
    )
    if isinstance(step, Defer):
        log.info("job %s deferred %.1f s: %s", key, step.countdown, step.reason)
        raise task.retry(countdown=step.countdown, max_retries=None)
    assert isinstance(step, Done)
    _publish_follow_up(step.outcome)
    return _summary(step.outcome)


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
