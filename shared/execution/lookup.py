"""Lookup: availability and price at the domain's registrar, plus what our inventory knows."""

from __future__ import annotations

from typing import Any

from shared.errors import AnswerPending
from shared.execution.context import Execution


def run_lookup(ex: Execution) -> dict[str, Any]:
    availability = ex.gateway.check(ex.job.domain, ex.call)
    if availability.retriable:
        raise AnswerPending(
            f"availability is {availability.status!r}: ask again later", provider=ex.gateway.name
        )
    held = ex.store.inventory.get(ex.job.domain)
    result = availability.to_dict()
    result["in_inventory"] = held is not None
    if held is not None and held.expires_at is not None:
        result["expires_at"] = held.expires_at.isoformat()
    return result
