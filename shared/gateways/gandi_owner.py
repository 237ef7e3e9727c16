"""Gandi API v5: the owner change (:class:`~shared.gateways.owner_change.OwnerChangeOperations`), a mixin
:class:`~shared.gateways.gandi_day2.GandiDay2` inherits.

* owner_change_start: ``POST /domain/changeowner/{fqdn}`` ``{"owner": {...}}``, the owner inline like a
  register's (v5 has no contact handles), ``effect=True`` (not always free). Source: Gandi's endpoint list
  (https://api.gandi.net/docs/domains/ ; as scraped into millsymills-com/gandi-mcp
  ``tests/data/raml_coverage_snapshot.json``); terraform-provider-gandi refuses an owner change in its
  contacts update for this reason. Gandi then e-mails the old and the new owner for confirmation.
* owner_change_status: ``GET /domain/changeowner/{fqdn}`` (same endpoint list): the VALUES of its fields
  are not documented, so it is read like a transfer-in's record (``step``, ``inner_step``, ``errortype``,
  ``errortype_label``: an errortype, or a step naming an error, a failure, a cancel or a refusal, is a
  failure), then ``GET /domain/domains/{fqdn}``: ``completed`` only once the domain's ``contacts.owner``
  reads as the new owner (given, family, e-mail, organisation and country, compared case-blind). A 404 on
  the change with the owner not yet new: None (no change known).
* owner_change_prepare / owner_change_confirm: nothing to do (the owner goes inline; the owners confirm
  by e-mail, not us).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from shared.contact import Contact
from shared.errors import NotFound
from shared.gateways.base import ascii_domain
from shared.gateways.day2 import Secret, TransferState
from shared.gateways.gandi_answers import PROVIDER, contact_body, failed, json_object, upstream_text
from shared.gateways.gandi_calls import GandiCalls
from shared.gateways.owner_change import OwnerChangeOperations, OwnerChangeStatus, OwnerChangeTicket
from shared.upstream.policy import CallPolicy

#: The owner fields that say who the registrant is (the address may be rewritten by the registrar).
IDENTITY = ("given", "family", "email", "orgname", "country")


def same_owner(shown: Any, wanted: dict[str, Any]) -> bool:
    """Whether the domain's ``contacts.owner`` (``shown``) is the contact ``wanted`` (a Gandi body)."""
    if not isinstance(shown, dict):
        return False

    def norm(value: Any) -> str:
        return str(value or "").strip().casefold()

    return all(norm(shown.get(field)) == norm(wanted.get(field)) for field in IDENTITY)


class GandiOwnerChange(GandiCalls, OwnerChangeOperations):
    """The owner change over :class:`~shared.gateways.gandi_calls.GandiCalls` (see the module)."""

    @staticmethod
    def _changeowner_path(fqdn: str, suffix: str = "") -> str:
        return f"/domain/changeowner/{quote(fqdn, safe='')}{suffix}"

    def owner_change_prepare(self, domain: str, owner: Contact, policy: CallPolicy) -> str | None:
        return None

    def owner_change_confirm(self, domain: str, ticket: OwnerChangeTicket, policy: CallPolicy) -> None:
        return None

    def owner_change_start(
        self,
        domain: str,
        ticket: OwnerChangeTicket,
        auth_code: Secret | None,
        years: int,
        policy: CallPolicy,
    ) -> OwnerChangeStatus:
        """``auth_code`` and ``years`` are not sent: Gandi's changeowner takes neither."""
        fqdn = ascii_domain(domain, PROVIDER)
        body = {"owner": contact_body(ticket.owner)}
        path = self._changeowner_path(fqdn)
        self._call("POST", path, policy, "changeowner", json_object, idempotent=False, body=body, effect=True)
        status = self.owner_change_status(fqdn, ticket, policy)
        return status or OwnerChangeStatus(fqdn, TransferState.PENDING, detail="accepted; not listed yet")

    def _changeowner_record(self, fqdn: str, policy: CallPolicy) -> dict[str, Any] | None:
        path = self._changeowner_path(fqdn)
        try:
            return self._call("GET", path, policy, "changeowner_info", json_object, idempotent=True)
        except NotFound:
            return None

    def owner_change_status(
        self, domain: str, ticket: OwnerChangeTicket, policy: CallPolicy
    ) -> OwnerChangeStatus | None:
        fqdn = ascii_domain(domain, PROVIDER)
        record = self._changeowner_record(fqdn, policy)
        step = detail = None
        if record is not None:
            step, inner = upstream_text(record.get("step")), upstream_text(record.get("inner_step"))
            errortype = upstream_text(record.get("errortype"))
            detail = upstream_text(record.get("errortype_label")) or errortype or inner
            if failed(step, inner, errortype):
                return OwnerChangeStatus(fqdn, TransferState.FAILED, step, detail or step)
        domain_body = self._call("GET", self._domain_path(fqdn), policy, "info", json_object, idempotent=True)
        contacts = domain_body.get("contacts")
        shown = contacts.get("owner") if isinstance(contacts, dict) else None
        if same_owner(shown, contact_body(ticket.owner)):
            return OwnerChangeStatus(fqdn, TransferState.COMPLETED, step, detail)
        if record is None:
            return None
        return OwnerChangeStatus(fqdn, TransferState.PENDING, step, detail)
