"""Durable state through SQLAlchemy: Postgres in production, SQLite for the embedded default.

``Store(url)`` bundles the repositories; ``Store.upgrade()`` applies the Alembic migrations.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.store.database import Database
    from shared.store.inventory import DomainRecord
    from shared.store.job_record import Claim, ClaimState, JobRecord

__all__ = ["Claim", "ClaimState", "DomainRecord", "JobRecord", "Store"]

#: Re-exported names, imported on first use: ``regq status KEY`` imports ``shared.store.jobs`` and so
#: this package, and should not pay for every repository (the breaker journal, the token store, ...).
_LAZY = {
    "Claim": "shared.store.job_record",
    "ClaimState": "shared.store.job_record",
    "JobRecord": "shared.store.job_record",
    "DomainRecord": "shared.store.inventory",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Store:
    def __init__(self, url: str) -> None:
        from shared.store.api_tokens import ApiTokens
        from shared.store.audit_log import AuditLog
        from shared.store.breaker_journal import BreakerEvents
        from shared.store.contacts import RegistryContacts
        from shared.store.database import Database
        from shared.store.hook_receipts import HookReceipts
        from shared.store.inventory import Inventory
        from shared.store.jobs import JobStore
        from shared.store.renewals import RenewalScans
        from shared.store.replays import Replays
        from shared.store.webhooks import WebhookDeliveries

        self.db: Database = Database(url)
        self.jobs = JobStore(self.db)
        self.inventory = Inventory(self.db)
        self.audit = AuditLog(self.db)
        self.contacts = RegistryContacts(self.db)
        self.breaker_events = BreakerEvents(self.db)
        self.renewals = RenewalScans(self.db)
        self.replays = Replays(self.db)
        self.api_tokens = ApiTokens(self.db)
        self.hook_receipts = HookReceipts(self.db)
        self.webhooks = WebhookDeliveries(self.db)

    def upgrade(self) -> None:
        self.db.upgrade()

    def dispose(self) -> None:
        self.db.dispose()
