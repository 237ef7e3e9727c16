"""The completion event: which job outcomes make one, its id, its payload and the exact body sent.

A job with a callback makes one event each time it reaches a final state (``job.succeeded``,
``job.failed``, ``job.rejected``; a replayed job that finishes again makes another) and each time a
lookup stores a partial answer (``job.partial``). The payload is what ``GET /v1/jobs/{key}`` says of the
outcome, plus the event's ``id`` (receivers de-duplicate on it: delivery is at least once) and
``occurred_at``. The body is the payload as compact JSON with sorted keys, built once per attempt from
the stored payload, so every attempt sends the same bytes.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from shared.jobs import JobStatus

EVENTS: dict[str, str] = {
    JobStatus.SUCCEEDED.value: "job.succeeded",
    JobStatus.FAILED.value: "job.failed",
    JobStatus.REJECTED.value: "job.rejected",
    JobStatus.PARTIAL.value: "job.partial",
}


def event_name(status: str) -> str | None:
    """The event a job reaching ``status`` makes, None for a status that makes none (queued, waiting)."""
    return EVENTS.get(status)


def new_event_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


def event_payload(
    *,
    event_id: str,
    event: str,
    key: str,
    kind: str,
    domain: str,
    status: str,
    result: dict[str, Any] | None,
    error_code: str | None,
    error_message: str | None,
    occurred_at: datetime,
) -> dict[str, Any]:
    """The JSON document a receiver gets (README, "Completion webhooks")."""
    return {
        "id": event_id,
        "event": event,
        "key": key,
        "kind": kind,
        "domain": domain,
        "status": status,
        "result": result,
        "error_code": error_code,
        "error_message": error_message,
        "occurred_at": occurred_at.isoformat(),
    }


def encode(payload: dict[str, Any]) -> bytes:
    """The body: compact JSON, sorted keys, UTF-8."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8")
