"""Lookup: a thin wrapper around the job runner, on its own queue."""

from __future__ import annotations

from celery import Task

from tasks.app import app
from tasks.registrar import deliver


@app.task(name="regq.lookup", bind=True, acks_late=True, max_retries=None)
def lookup(self: Task, key: str, domain: str, registrar: str | None = None) -> dict[str, object] | None:
    return deliver(self, key)
