"""Register and renew: thin wrappers around :class:`shared.execution.runner.JobRunner`."""

from __future__ import annotations

import logging
import os
import socket

from celery import Task

from shared.execution import Defer, Done
from shared.jobs import JobOutcome
from shared.settings import get_settings
from tasks import runtime
from tasks.app import app

log = logging.getLogger(__name__)
_HOST = socket.gethostname()


def deliver(task: Task, key: str) -> dict[str, object] | None:
    """Run one delivery of ``key``; re-schedule on Defer. Returns a summary without personal data."""
    owner = f"{_HOST}:{os.getpid()}:{task.request.id}"
    step = runtime.get().runner.run(key, owner)
    if isinstance(step, Defer):
        log.info("job %s deferred %.1f s: %s", key, step.countdown, step.reason)
        raise task.retry(countdown=step.countdown, max_retries=None)
    assert isinstance(step, Done)
    return _summary(step.outcome)


def _summary(outcome: JobOutcome | None) -> dict[str, object] | None:
    if outcome is None:
        return None
    return {"key": outcome.key, "status": outcome.status.value, "error_code": outcome.error_code}


_RATE = get_settings().task_rate_limit  # Celery's per-worker first line; the shared bucket is the truth


@app.task(name="regq.register", bind=True, acks_late=True, rate_limit=_RATE, max_retries=None)
def register(self: Task, key: str, domain: str, registrar: str) -> dict[str, object] | None:
    return deliver(self, key)


@app.task(name="regq.renew", bind=True, acks_late=True, rate_limit=_RATE, max_retries=None)
def renew(self: Task, key: str, domain: str, registrar: str) -> dict[str, object] | None:
    return deliver(self, key)
