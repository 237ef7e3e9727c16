"""One delivery of a job's message, for every job task (``tasks.registrar``, ``tasks.lookup``).

:func:`deliver` runs the job (:class:`shared.execution.runner.JobRunner`), then publishes what the delivery
recorded: a follow-up job the outcome names, and one ``regq.webhook_deliver`` per outbox row (completion
webhook) recorded with the outcome, whose ids come back with it. What Celery (and Flower) then records is
the job's truth: SUCCESS for a job that succeeded (or has nothing left to do here), FAILURE
(:class:`shared.errors.JobUnsuccessful`, raised last) for one that ended failed or rejected, RETRY with
the runner's reason (:class:`shared.errors.JobDeferred`) for one that waits. It imports no task module
(the task modules import it), so it can be imported, and tested, on its own.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import NoReturn

from celery import Task
from celery.exceptions import Reject

from shared.errors import JobDeferred, JobUnsuccessful
from shared.execution import Defer, Done
from shared.jobs import MAX_KEY_LENGTH, JobOutcome, JobStatus
from shared.store.database import unreachable
from tasks import runtime
from tasks.publish import publish_record

log = logging.getLogger(__name__)
#: The job tasks' ``throws``: a job that ended failed or rejected is an expected FAILURE (logged at INFO,
#: no traceback, no error log), not a crash of the task.
ENDED = (JobUnsuccessful,)
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
        _publish_webhooks(key, step.webhooks)  # a lookup's partial answer
        # the reason rides on the retry: Flower's RETRY row (and the row while the job waits) says why
        why = JobDeferred(key, step.countdown, step.reason)
        raise task.retry(countdown=step.countdown, max_retries=None, exc=why)
    assert isinstance(step, Done)
    _publish_follow_up(step.outcome)
    _publish_webhooks(key, step.webhooks)
    _raise_if_unsuccessful(step.outcome)
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


def _publish_webhooks(key: str, delivery_ids: tuple[int, ...]) -> None:
    """The completion webhooks recorded with the outcome (outbox rows, committed with it): one
    ``regq.webhook_deliver`` each, so a receiver hears within a broker round trip. A failure here never
    fails the job's task: the row stays due and beat's ``regq.webhook_sweep`` delivers it."""
    if not delivery_ids:
        return
    try:
        producer = runtime.get().producer
        for delivery_id in delivery_ids:
            producer.send_task("regq.webhook_deliver", kwargs={"delivery_id": delivery_id})
    except Exception:
        log.warning("could not send the webhook of job %s now; the sweep will", key, exc_info=True)


def _raise_if_unsuccessful(outcome: JobOutcome | None) -> None:
    """A job that ended failed or rejected ends its task in FAILURE (Celery, Flower), not SUCCESS: raised
    last, once the outcome is stored and its follow-up and webhooks are published. The job tasks list
    :class:`JobUnsuccessful` in ``throws``: the worker acks, never retries, logs one INFO line."""
    if outcome is not None and outcome.status in (JobStatus.FAILED, JobStatus.REJECTED):
        raise JobUnsuccessful(outcome.key, outcome.status.value, outcome.error_code, outcome.duplicate)


def _summary(outcome: JobOutcome | None) -> dict[str, object] | None:
    if outcome is None:
        return None
    return {"key": outcome.key, "status": outcome.status.value, "error_code": outcome.error_code}
