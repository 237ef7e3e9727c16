"""The domain's contacts (job kind ``contacts``): Gandi's admin/bill/tech, ROTLD's registrant address data.

Neither registrar shows the contacts in a form to compare (Gandi's PATCH is idempotent; ROTLD's contact
is shared by every domain using it), so the given roles are sent once; the result names the roles and the
registrar's notes (never the contact data itself)."""

from __future__ import annotations

from typing import Any

from shared.contact import Contact
from shared.execution.context import Execution
from shared.execution.day2_ops import day2
from shared.jobs_day2 import ContactsJob

ROLES = ("owner", "admin", "bill", "tech")


def run_contacts(ex: Execution) -> dict[str, Any]:
    job = ex.job
    assert isinstance(job, ContactsJob)
    given: dict[str, Contact] = {}
    for role in ROLES:
        contact = getattr(job, role, None)
        if contact is not None:
            given[role] = contact
    gateway = day2(ex.registrar, "update_contacts", "contact updates")
    notes = gateway.update_contacts(job.domain, given, ex.policy)
    return {"updated": list(given), "notes": list(notes)}
