"""Queues and routing: one queue per registrar, plus lookup and maintenance."""

from __future__ import annotations

from typing import Any

from kombu import Exchange, Queue

from shared.names import Registrar

REGISTRAR_QUEUES = {r.value: f"registrar.{r.value}" for r in Registrar}
LOOKUP_QUEUE = "lookup"
MAINTENANCE_QUEUE = "maintenance"
ALL_QUEUES = [*REGISTRAR_QUEUES.values(), LOOKUP_QUEUE, MAINTENANCE_QUEUE]
QUEUES = [Queue(name, Exchange(name, type="direct"), routing_key=name) for name in ALL_QUEUES]


def queue_for(kind: str, registrar: str | None) -> str:
    if kind in ("register", "renew"):
        if registrar not in REGISTRAR_QUEUES:
            raise ValueError(f"no queue for registrar {registrar!r}")
        return REGISTRAR_QUEUES[registrar]
    if kind == "lookup":
        return LOOKUP_QUEUE
    return MAINTENANCE_QUEUE


def route_task(
    name: str, args: Any, kwargs: dict[str, Any] | None, options: Any, task: Any = None, **_: Any
) -> dict[str, str]:
    """Celery router: registrar tasks by their ``registrar`` argument, the rest by kind."""
    kwargs = kwargs or {}
    kind = name.removeprefix("regq.")
    return {"queue": queue_for(kind, kwargs.get("registrar"))}
