"""Day-2 operations on a domain we hold or are moving in: the gateway side (issue 20).

What a billing panel's registrar contract asks after the register (WHMCS: TransferDomain, TransferSync,
GetEPPCode, Get/SaveRegistrarLock, Get/SaveNameservers, Save/GetContactDetails,
Register/Modify/DeleteNameserver; https://developers.whmcs.com/domain-registrars/), as one interface both
registrar gateways implement (:class:`Day2Operations`), each method ONE logical registrar operation taking
the delivery's :class:`~shared.upstream.policy.CallPolicy`, like the rest of :mod:`shared.gateways.base`.

A registrar that does not offer an operation raises :class:`~shared.errors.Unsupported` naming itself
(ROTLD has no transfer lock and no auth-code reset: https://rest2-test.rotld.ro:6080/ command list).

Results never hold a secret in ``to_dict()`` or ``repr``: an auth code is a :class:`Secret`, shown only
through :meth:`Secret.reveal` to the caller who asked for it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import ClassVar

from shared.contact import Contact
from shared.gateways.base import _Result
from shared.upstream.policy import CallPolicy


class Secret:
    """A value that must reach only its caller: ``repr``/``str`` never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class TransferState(StrEnum):
    """Where a transfer-in stands. ``completed`` only when the domain is in our account AND its status
    no longer holds ``pendingTransfer`` (a module that stops at "visible" reports completion early)."""

    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass(frozen=True)
class Transferability(_Result):
    """Can ``domain`` move in now? ``reason``: the registrar's own words when not."""

    domain: str
    available: bool
    reason: str | None = None
    durations: tuple[int, ...] = ()


@dataclass(frozen=True)
class TransferStatus(_Result):
    """A transfer-in as the registrar reports it. ``step``/``detail``: the registrar's own words (kept as
    they are: their values are not all documented). ``expires_at``: read from the registry once completed,
    never computed."""

    domain: str
    state: TransferState
    step: str | None = None
    detail: str | None = None
    expires_at: date | None = None


@dataclass(frozen=True)
class GlueHost(_Result):
    """A host under the domain's own zone with its addresses (``ns1.example.com``: ["192.0.2.1"])."""

    host: str
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class DomainState(_Result):
    """The day-2 view of a domain: nameservers, lock, who renews (the registrar's auto-renew)."""

    domain: str
    nameservers: tuple[str, ...] = ()
    locked: bool | None = None
    autorenew: bool | None = None
    statuses: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class AuthCode:
    """A transfer code for a customer moving away. Not a :class:`_Result`: it has no ``to_dict``, so it
    cannot be written into an outcome, an audit row or a webhook body by accident."""

    domain: str
    code: Secret
    expires_at: date | None = None


class Day2Operations(ABC):
    """What every registrar gateway offers after the register (see the module)."""

    #: Methods that raise :class:`~shared.errors.Unsupported` before sending anything: a caller that
    #: reads state first (the lock job) asks this, so such a job is refused with no request at all.
    unsupported: ClassVar[frozenset[str]] = frozenset()

    # -- transfer-in -------------------------------------------------------------------------------
    @abstractmethod
    def transfer_check(self, domain: str, auth_code: Secret | None, policy: CallPolicy) -> Transferability:
        """Whether ``domain`` can move in (before any money is spent)."""

    @abstractmethod
    def transfer_start(
        self,
        domain: str,
        auth_code: Secret,
        owner: Contact,
        years: int,
        policy: CallPolicy,
        *,
        contacts: dict[str, Contact] | None = None,
    ) -> TransferStatus:
        """Start the transfer (the effect: ``effect=True`` on its request). Never called twice for one job:
        a redelivery reconciles through :meth:`transfer_status` first. ``contacts``: the other roles
        (``admin``, ``bill``, ``tech``) where the registrar takes them with the transfer (Gandi)."""

    @abstractmethod
    def transfer_status(self, domain: str, policy: CallPolicy) -> TransferStatus | None:
        """The transfer's state at the registrar (None: no transfer of ``domain`` is known there)."""

    @abstractmethod
    def transfer_resend_confirmation(self, domain: str, policy: CallPolicy) -> None:
        """Send the confirmation (FOA) e-mail again."""

    @abstractmethod
    def transfer_replace_auth_code(self, domain: str, auth_code: Secret, policy: CallPolicy) -> None:
        """Give a running transfer a corrected auth code."""

    # -- the domain's settings ---------------------------------------------------------------------
    @abstractmethod
    def domain_state(self, domain: str, policy: CallPolicy) -> DomainState:
        """Nameservers, lock and auto-renew as the registrar holds them now."""

    @abstractmethod
    def set_lock(self, domain: str, locked: bool, policy: CallPolicy) -> DomainState:
        """Transfer lock on or off (``Unsupported`` where the registrar has none)."""

    @abstractmethod
    def set_autorenew(self, domain: str, enabled: bool, policy: CallPolicy) -> None:
        """The registrar's own auto-renew (regq renews itself: off, or the customer pays twice)."""

    @abstractmethod
    def auth_code(self, domain: str, policy: CallPolicy, *, reset: bool = False) -> AuthCode:
        """The transfer code (after a reset when ``reset``)."""

    @abstractmethod
    def update_contacts(self, domain: str, contacts: dict[str, Contact], policy: CallPolicy) -> list[str]:
        """Update the given roles (``admin``, ``bill``, ``tech``; ROTLD: ``owner`` address data). Returns
        notes for the caller (ROTLD: the contact is shared by every domain using it)."""

    # -- glue hosts --------------------------------------------------------------------------------
    @abstractmethod
    def glue_hosts(self, domain: str, policy: CallPolicy) -> list[GlueHost]:
        """The glue hosts under ``domain`` the registrar holds."""

    @abstractmethod
    def glue_set(self, domain: str, host: GlueHost, policy: CallPolicy) -> GlueHost:
        """Create the host, or replace its addresses; read back until it shows."""

    @abstractmethod
    def glue_delete(self, domain: str, host: str, policy: CallPolicy) -> None:
        """Delete the host (gone already: nothing to do)."""
