"""Register, renew, nameservers, lock, contacts, glue, transfer, owner change and sync: thin wrappers around
:func:`tasks.delivery.deliver` (the job runner, then what the delivery recorded is published: follow-up
jobs and completion webhooks)."""

from __future__ import annotations

from celery import Task

from tasks.app import app
from tasks.delivery import ENDED, deliver


# Celery's per-worker rate_limit comes from the configuration (task_annotations in celeryconfig).
@app.task(name="regq.register", bind=True, acks_late=True, max_retries=None, throws=ENDED)
def register(self: Task, key: str, domain: str, registrar: str) -> dict[str, object] | None:
    return deliver(self, key)


@app.task(name="regq.renew", bind=True, acks_late=True, max_retries=None, throws=ENDED)
def renew(self: Task, key: str, domain: str, registrar: str) -> dict[str, object] | None:
    return deliver(self, key)


@app.task(name="regq.nameservers", bind=True, acks_late=True, max_retries=None, throws=ENDED)
def nameservers(self: Task, key: str, domain: str, registrar: str) -> dict[str, object] | None:
    return deliver(self, key)


@app.task(name="regq.lock", bind=True, acks_late=True, max_retries=None, throws=ENDED)
def lock(self: Task, key: str, domain: str, registrar: str) -> dict[str, object] | None:
    return deliver(self, key)


@app.task(name="regq.contacts", bind=True, acks_late=True, max_retries=None, throws=ENDED)
def contacts(self: Task, key: str, domain: str, registrar: str) -> dict[str, object] | None:
    return deliver(self, key)


@app.task(name="regq.glue", bind=True, acks_late=True, max_retries=None, throws=ENDED)
def glue(self: Task, key: str, domain: str, registrar: str) -> dict[str, object] | None:
    return deliver(self, key)


# Started, a transfer re-delivers itself every REGQ_TRANSFER_FOLLOW_SECONDS until it ends (a wait each).
@app.task(name="regq.transfer", bind=True, acks_late=True, max_retries=None, throws=ENDED)
def transfer(self: Task, key: str, domain: str, registrar: str) -> dict[str, object] | None:
    return deliver(self, key)


# Started, an owner change re-delivers itself like a transfer until the registrar says it is done or failed.
@app.task(name="regq.owner_change", bind=True, acks_late=True, max_retries=None, throws=ENDED)
def owner_change(self: Task, key: str, domain: str, registrar: str) -> dict[str, object] | None:
    return deliver(self, key)


# On the maintenance queue (tasks.routing): the registrar's shared limiter still paces its calls.
@app.task(name="regq.sync", bind=True, acks_late=True, max_retries=None, throws=ENDED)
def sync(self: Task, key: str, domain: str, registrar: str) -> dict[str, object] | None:
    return deliver(self, key)
