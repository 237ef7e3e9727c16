"""An owner (registrant) change at the registrar: the interface both registrar gateways implement.

Gandi v5 changes the owner with ``POST /domain/changeowner/{fqdn}`` (not always free; confirmation e-mails
to the old and the new owner) and reports it with ``GET /domain/changeowner/{fqdn}``
(:mod:`shared.gateways.gandi_owner`). ROTLD trades the domain: the new registrant's contact is created
(``contact-create``), ``domain-trade`` returns a trade id, ``trade-info`` reports it and ``trade-confirm``
confirms it (:mod:`shared.gateways.rotld_trade`). Either way the change is paid and may take days: it is
started once and then followed (:mod:`shared.execution.owner_change`), like a transfer-in.

Completion is never taken from the registrar's words alone (their values are not documented): the change
is ``completed`` when the domain itself reads as owned by the new registrant (Gandi: the domain's
``contacts.owner``; ROTLD: domain-info's ``registrant_id`` is the new contact).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from shared.contact import Contact
from shared.gateways.base import _Result
from shared.gateways.day2 import Secret, TransferState
from shared.upstream.policy import CallPolicy


@dataclass(frozen=True)
class OwnerChangeStatus(_Result):
    """An owner change as the registrar reports it. ``state`` reuses the transfer's states (pending,
    completed, failed); ``step``/``detail``: the registrar's own words; ``reference``: what the registrar
    calls it (ROTLD's trade id; None for Gandi, which keys it by the domain); ``needs_confirmation``: the
    registrar waits for our own confirmation (ROTLD's ``trade-confirm``)."""

    domain: str
    state: TransferState
    step: str | None = None
    detail: str | None = None
    reference: str | None = None
    needs_confirmation: bool = False


@dataclass(frozen=True)
class OwnerChangeTicket:
    """What the follow-up reads need to know of a started change: the new ``owner``, and what the start
    created or got back (ROTLD: the new registrant's ``contact_id`` and the trade id ``reference``)."""

    owner: Contact
    contact_id: str | None = None
    reference: str | None = None


class OwnerChangeOperations(ABC):
    """The owner change, one logical registrar operation per method (see the module)."""

    @abstractmethod
    def owner_change_prepare(self, domain: str, owner: Contact, policy: CallPolicy) -> str | None:
        """What must exist before the start (ROTLD: the new registrant's contact id, created once per
        distinct registrant); None where nothing must (Gandi: the owner goes inline)."""

    @abstractmethod
    def owner_change_start(
        self,
        domain: str,
        ticket: OwnerChangeTicket,
        auth_code: Secret | None,
        years: int,
        policy: CallPolicy,
    ) -> OwnerChangeStatus:
        """Start the change (``effect=True`` on its request). Never called twice for one job: a
        redelivery reads :meth:`owner_change_status` first."""

    @abstractmethod
    def owner_change_status(
        self, domain: str, ticket: OwnerChangeTicket, policy: CallPolicy
    ) -> OwnerChangeStatus | None:
        """Where the change stands (None: the registrar knows no change of ``domain`` and the domain does
        not read as the new owner's)."""

    @abstractmethod
    def owner_change_confirm(self, domain: str, ticket: OwnerChangeTicket, policy: CallPolicy) -> None:
        """Our confirmation, where the registrar waits for one (ROTLD's ``trade-confirm``)."""
