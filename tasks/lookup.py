"""Lookup: a thin wrapper around the job runner, on its own queue; :func:`tasks.delivery.deliver` runs it
and publishes the completion webhooks its outcome recorded (a partial answer's too)."""

from __future__ import annotations

from celery import Task

from tasks.app import app
from tasks.delivery import ENDED, deliver


@app.task(name="regq.lookup", bind=True, acks_late=True, max_retries=None, throws=ENDED)
def lookup(self: Task, key: str, domain: str, registrar: str | None = None) -> dict[str, object] | None:
    return deliver(self, key)


@app.task(name="regq.ping", acks_late=True, ignore_result=True)
def ping(counter: str | None = None) -> None:
    """A no-op round trip through the broker and a lookup worker (routed like a lookup): the baseline of
    ``bench/lookup.py``. With ``counter``, RPUSH the time it ran to that Redis list (arrivals, timed)."""
    if counter:
        import time

        from tasks import runtime

        client = getattr(runtime.get().connection, "client", None)
        if client is not None:
            client.rpush(counter, repr(time.time()))
