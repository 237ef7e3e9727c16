"""Queues and routing: one queue per registrar, plus lookup and maintenance."""

from __future__ import annotations

from typing import Any

from kombu import Exchange, Queue

from shared.jobs import JobKind
from shared.names import Registrar

REGISTRAR_QUEUES = {r.value: f"registrar.{r.value}" for r in Registrar}
LOOKUP_QUEUE = "lookup"
MAINTENANCE_QUEUE = "maintenance"
ALL_QUEUES = [*REGISTRAR_QUEUES.values(), LOOKUP_QUEUE, MAINTENANCE_QUEUE]
QUEUES = [Queue(name, Exchange(name, type="direct"), routing_key=name) for name in ALL_QUEUES]
_JOB_KINDS = {k.value for k in JobKind}


def queue_for(kind: str, registrar: str | None) -> str:
    """The queue of a task named ``regq.<kind>``: a job that calls a registrar goes to that registrar's
    queue, a lookup to ``lookup``, anything else (sweep, purge, renewal scan, and the inventory's ``sync``
    jobs: bulk reads that must not queue ahead of registers and renews) to ``maintenance``."""
    if kind in (JobKind.LOOKUP, "ping"):  # ping: the bench's no-op baseline, on the lookup workers
        return LOOKUP_QUEUE
    if kind == JobKind.SYNC:
        return MAINTENANCE_QUEUE
    if kind in _JOB_KINDS:
        if registrar not in REGISTRAR_QUEUES:
            raise ValueError(f"no queue for registrar {registrar!r} (job kind {kind!r})")
        return REGISTRAR_QUEUES[registrar]
    return MAINTENANCE_QUEUE


def route_task(
    name: str, args: Any, kwargs: dict[str, Any] | None, options: Any, task: Any = None, **_: Any
) -> dict[str, str]:
    """Celery router, the only place a queue is chosen (publishers and beat name none): job tasks by their
    ``registrar`` argument, the rest by kind."""
    kwargs = kwargs or {}
    kind = name.removeprefix("regq.")
    return {"queue": queue_for(kind, kwargs.get("registrar"))}
