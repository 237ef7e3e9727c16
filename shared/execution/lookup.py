"""Lookup: registration data (RDAP/WHOIS), nameserver addresses (DNS), address holders (RDAP IP).

With ``availability`` the job asks the domain's registrar instead whether the name can be registered
(and at what price).

A lookup whose sub-step was throttled answers what it has: :class:`~shared.errors.PartialLookup` stores
it as the job's result (status ``partial``) and the job runs again after ``retry_after`` (not an
attempt); the next run reuses the cached sub-results. A complete lookup of a domain in our inventory
updates its expiry there.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from shared.errors import AnswerPending, PartialLookup
from shared.execution.context import Execution
from shared.jobs import LookupJob


def run_lookup(ex: Execution) -> dict[str, Any]:
    job = ex.job
    assert isinstance(job, LookupJob)
    if job.availability:
        return _availability(ex)
    if ex.lookups is None:
        raise RuntimeError("no lookup pipeline is wired into this runner")
    answer = ex.lookups.lookup_domain(job.domain)
    result = answer.to_dict()
    if answer.partial:
        raise PartialLookup(answer.retry_after or 1.0, answer.reason or "partial", result)
    _update_inventory(ex, job.domain, answer.registration.expires if answer.registration else None)
    return result


def _update_inventory(ex: Execution, domain: str, expires: date | datetime | None) -> None:
    if expires is not None:
        ex.store.inventory.note_expiry(domain, expires.date() if isinstance(expires, datetime) else expires)


def _availability(ex: Execution) -> dict[str, Any]:
    availability = ex.registrar.check(ex.job.domain, ex.policy)
    if availability.retriable:
        raise AnswerPending(
            f"availability is {availability.status!r}: ask again later", provider=ex.registrar.name
        )
    held = ex.store.inventory.get(ex.job.domain)
    result = availability.to_dict()
    result["in_inventory"] = held is not None
    if held is not None and held.expires_at is not None:
        result["expires_at"] = held.expires_at.isoformat()
    return result
