"""Sync: refresh a held domain's expiry and status in the inventory from its registrar (``info``).

Billing systems drift from the registry (a renewal made by hand at the registrar, a domain transferred
away or deleted): ``regq domains sync`` queues one ``sync`` job per domain on the maintenance queue; each
makes ONE read at the registrar, through the same gateway, fleet-wide limiter and breaker as every other
call, and writes what it saw. Read-only at the registrar, so a repeat (a redelivery, a second sync the
same day) is harmless.

The inventory's status from what the registrar shows::

    info ── NotFound (not in our account) ─────────────────────────────> missing   (held domains only)
      ├─ a status naming redemption / pending delete ──────────────────> pending_delete
      ├─ an expiry in the past ────────────────────────────────────────> expired
      └─ otherwise ────────────────────────────────────────────────────> active
"""

from __future__ import annotations

from datetime import date
from typing import Any

from shared.errors import NotFound
from shared.execution.context import Execution
from shared.gateways.base import DomainInfo
from shared.jobs import SyncJob
from shared.store.inventory import ACTIVE, EXPIRED, MISSING, PENDING_DELETE
from shared.store.schema import utcnow

#: Registrar status words (EPP's, Gandi's, ROTLD's), lower-cased, that mean the domain is on its way out.
_DELETING = ("pendingdelete", "pending_delete", "redemption", "deleted", "pendingpurge")


def inventory_status(info: DomainInfo, today: date | None = None) -> str:
    """What the inventory records for a domain the registrar shows as ``info``."""
    words = [s.lower().replace(" ", "") for s in info.statuses]
    if any(marker in word for word in words for marker in _DELETING):
        return PENDING_DELETE
    if info.expires_at is not None and info.expires_at < (today or utcnow().date()):
        return EXPIRED
    return ACTIVE


def run_sync(ex: Execution) -> dict[str, Any]:
    job = ex.job
    assert isinstance(job, SyncJob)
    inventory = ex.store.inventory
    held = inventory.get(job.domain)
    before = {
        "previous_expiry": held.expires_at.isoformat() if held and held.expires_at else None,
        "previous_status": held.status if held else None,
    }
    try:
        info = ex.registrar.info(job.domain, ex.policy)
    except NotFound:
        if held is not None:
            inventory.set_status(job.domain, MISSING)
        return {
            "domain": job.domain,
            "found": False,
            "expires_at": before["previous_expiry"],
            "status": MISSING if held is not None else None,
            "registrar_statuses": [],
            "changed": held is not None and held.status != MISSING,
            **before,
        }
    status = inventory_status(info)
    expires = info.expires_at or (held.expires_at if held else None)  # no date shown: keep ours
    inventory.upsert(job.domain, ex.registrar.name, expires, status)
    return {
        "domain": job.domain,
        "found": True,
        "expires_at": expires.isoformat() if expires else None,
        "status": status,
        "registrar_statuses": info.statuses,
        "changed": held is None or held.expires_at != expires or held.status != status,
        **before,
    }
