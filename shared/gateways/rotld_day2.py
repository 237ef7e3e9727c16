"""ROTLD's side of the day-2 operations (issue 20): :class:`RotldDay2`, mixed into the ROTLD gateway.

Every request goes through the gateway's ``_command`` (the delivery's policy: breaker, limiter, lease,
audit); only ``domain-transfer`` is ``effect=True``. Commands and parameters: ROTLD's REST API 2.0
reference (https://rest2-test.rotld.ro:6080/) as the public client alinchican/rotld-rest-client transcribes
it (``schema/domain-transfer.schema.js``, ``schema/nameserver-create.schema.js``,
``schema/nameserver-update.schema.js``, ``schema/nameserver-info.schema.js``, ``schema/nameserver-delete.js``,
``schema/domain-reset-ns.schema.js``, ``schema/command-contact-update.schema.js``).

* transfer_check: ROTLD has no transfer check. ``check-availability``: "Available" means not registered
  (nothing to transfer: register it); "Not Available" is a candidate. The key is checked by the transfer
  itself, never before.
* transfer_start: ``domain-transfer`` (``domain``, ``authorization_key``: the key the registrant read in
  the registry's own panel; it lasts 14 days), then ``domain-info``: in our account -> ``completed`` with
  the registry's ``expiration_date``; not yet -> ``pending``. Whether the REST transfer completes in the
  call is UNVERIFIED (ROTLD's EPP answers 1000, not 1001): both are handled. A refusal keeps the registry's
  code and message (RegistryRefused for a code outside our table): no transfer code is guessed.
* transfer_status: ``domain-info``: ours -> ``completed`` (``pending`` while a status says pendingTransfer);
  not ours -> ``check-availability``: not registered -> None (no transfer can exist); registered ->
  ``pending``: ROTLD shows no transfer state, so "running" and "never started" look alike; the caller,
  who knows it sent the transfer, bounds the wait (the key's 14 days).
* domain_state: ``domain-info`` (``nameservers``, ``statuses``); lock and auto-renew are None: ROTLD has
  neither. set_lock, set_autorenew, auth_code (read or reset), FOA resend, replacing the auth code:
  :class:`~shared.errors.Unsupported` naming rotld, before anything is sent (none of the 25 commands does it).
* update_contacts: role ``owner`` only (admin/bill/tech: Unsupported): ``domain-info``'s ``registrant_id``,
  then ``contact-update`` with the address data. The contact is shared: the notes say every domain using
  it changes, and that name, person type and CNP/CUI stay (``contact-correct`` changes those).
* glue: ROTLD lists no hosts per domain: glue_hosts reads the in-zone hosts among the domain's nameservers
  with ``nameserver-info`` (a host created but not delegated to is not listed). glue_set: ``nameserver-info``,
  then ``nameserver-create`` (unknown host) or ``nameserver-update`` (addresses differ; it replaces them),
  then read back. glue_delete: ``nameserver-delete``; a refusal while ``nameserver-info`` refuses the host
  too means "gone already".
* :func:`nameserver_hosts` guards ``domain-reset-ns``: "If nameservers parameter is empty, the current
  nameservers of the domain will be deleted": an empty list is refused before any request (at most 6).

The owner change (domain-trade, trade-info, trade-confirm): :mod:`shared.gateways.rotld_trade`.

Code 10002 is read two ways by public code ("unknown command", "no longer ours"): from every command here
it is :class:`~shared.errors.NeedsOperator`, never proof either way.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from shared import defaults
from shared.contact import Contact
from shared.errors import (
    AwaitingRegistry,
    NeedsOperator,
    NotFound,
    ProtocolError,
    RegistryRefused,
    Unsupported,
    ValidationRejected,
)
from shared.gateways.base import DomainInfo, ascii_domain, read_back
from shared.gateways.day2 import (
    AuthCode,
    Day2Operations,
    DomainState,
    GlueHost,
    Secret,
    Transferability,
    TransferState,
    TransferStatus,
)
from shared.gateways.rotld_commands import PROVIDER, ambiguous_10002
from shared.gateways.rotld_trade import RotldOwnerChange
from shared.http.redact import get_logger, register_secret
from shared.upstream.policy import CallPolicy

MAX_NAMESERVERS = 6  # [ref] domain-reset-ns: "Maximum allowed number of nameservers is 6"
MAX_IPS = 2  # [ref] nameserver-create/update: "Maximum allowed number of IPs is 2"
POLL_FIRST, POLL_MAX = 0.5, 2.0
#: Answers that refuse a host or a domain (not transport trouble): what "not there" looks like.
REFUSALS = (NotFound, ValidationRejected, RegistryRefused)
log = get_logger("regq.gateways.rotld")


def nameserver_hosts(hosts: list[str]) -> list[str]:
    """The hosts for ``domain-reset-ns``, or ValidationRejected before any request: an empty value makes
    ROTLD delete every nameserver of the domain, and it takes at most 6."""
    cleaned = [h.strip().lower().rstrip(".") for h in hosts if h and h.strip()]
    if not cleaned:
        raise ValidationRejected(
            "an empty nameserver list would remove every nameserver at ROTLD: not sent",
            provider=PROVIDER,
            fields=["nameservers"],
        )
    if len(cleaned) > MAX_NAMESERVERS:
        raise ValidationRejected(
            f"ROTLD takes at most {MAX_NAMESERVERS} nameservers, got {len(cleaned)}: not sent",
            provider=PROVIDER,
            fields=["nameservers"],
        )
    return cleaned


def contact_update_form(cid: str, owner: Contact) -> dict[str, str]:
    """``contact-update`` parameters: the address data only (no name, person type or CNP/CUI)."""
    form = {
        "cid": cid,
        "address1": owner.streetaddr,
        "city": owner.city,
        "state_province": owner.state_text or owner.city,
        "country_code": owner.country,
        "phone": owner.phone,
        "email": owner.email,
    }
    if owner.zip:
        form["postal_code"] = owner.zip
    return form


def _in_zone(host: str, domain: str) -> str:
    name = host.strip().lower().rstrip(".")
    if not name.endswith("." + domain):
        raise ValidationRejected(
            f"{name} is not a host under {domain}: not sent", provider=PROVIDER, fields=["host"]
        )
    return name


def _addresses(values: tuple[str, ...]) -> tuple[str, ...]:
    try:
        parsed = tuple(str(ipaddress.ip_address(v.strip())) for v in values)
    except ValueError:
        raise ValidationRejected(
            "a glue address is not an IPv4 or IPv6 address: not sent", provider=PROVIDER, fields=["addresses"]
        ) from None
    if not 1 <= len(parsed) <= MAX_IPS:
        raise ValidationRejected(
            f"ROTLD takes 1 to {MAX_IPS} addresses per host, got {len(parsed)}: not sent",
            provider=PROVIDER,
            fields=["addresses"],
        )
    return parsed


def _ips(data: dict[str, Any]) -> list[str]:
    raw = data.get("ips", [])
    if isinstance(raw, str):  # the answer's shape is not documented: a list or the request's comma form
        raw = raw.split(",")
    return [str(a).strip() for a in raw if str(a).strip()] if isinstance(raw, list) else []


class RotldDay2(RotldOwnerChange, Day2Operations):
    """The day-2 operations over the gateway's command path (see the module)."""

    unsupported: ClassVar[frozenset[str]] = frozenset(
        {"set_lock", "set_autorenew", "auth_code", "transfer_replace_auth_code"}
    )

    if TYPE_CHECKING:  # provided by RotldGateway (``_command``, ``_day2``: RotldCommands)
        sleep: Callable[[float], None]
        clock: Callable[[], float]
        readback_seconds: float

        def _read(self, domain: str, policy: CallPolicy) -> tuple[DomainInfo, Any]: ...

    def _domain_info(self, domain: str, policy: CallPolicy) -> DomainInfo:
        with ambiguous_10002("domain-info"):
            return self._read(domain, policy)[0]

    def _status_word(self, domain: str, policy: CallPolicy) -> str:
        data = self._day2("check-availability", {"domain": domain}, policy, idempotent=True)
        status = data.get("status")
        if not isinstance(status, str) or not status.strip():
            raise ProtocolError("check-availability answered without a status", provider=PROVIDER)
        return status.strip()

    # -- transfer-in
    def transfer_check(self, domain: str, auth_code: Secret | None, policy: CallPolicy) -> Transferability:
        fqdn = ascii_domain(domain, PROVIDER)
        status = self._status_word(fqdn, policy)
        if status.lower() == "available":
            return Transferability(fqdn, False, f"{status}: not registered, nothing to transfer")
        return Transferability(fqdn, True)

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
        """``owner``, ``contacts`` and ``years`` are not sent: domain-transfer takes none of them (the
        registrant and the expiry stay as the registry holds them; the job refuses other roles for .ro)."""
        fqdn = ascii_domain(domain, PROVIDER)
        key = auth_code.reveal().strip()
        if not key:
            raise ValidationRejected(
                "the authorization key is empty: not sent", provider=PROVIDER, fields=["auth_code"]
            )
        register_secret(key)  # never in a log line or a message, even if the registry echoes it
        params = {"domain": fqdn, "authorization_key": key}
        self._day2("domain-transfer", params, policy, idempotent=False, effect=True)
        log.info("rotld domain-transfer of %s accepted", fqdn)
        state = self._transfer_state(fqdn, policy)
        if state is not None:
            return state
        detail = "domain-transfer accepted; domain-info does not show the domain in our account yet"
        return TransferStatus(fqdn, TransferState.PENDING, step="accepted", detail=detail)

    def _transfer_state(self, fqdn: str, policy: CallPolicy) -> TransferStatus | None:
        """Completed or pending when the domain is in our account; None when it is not."""
        try:
            info = self._domain_info(fqdn, policy)
        except NotFound:
            return None
        except (ValidationRejected, RegistryRefused) as exc:
            raise NeedsOperator(
                PROVIDER,
                float(defaults.NEEDS_OPERATOR_RECHECK_SECONDS),
                f"domain-info for {fqdn} answered {exc.upstream_code or 'an error'} ({exc.message}); "
                "cannot tell where the transfer stands",
            ) from None
        flat = [s.lower().replace(" ", "").replace("_", "") for s in info.statuses]
        if any("pendingtransfer" in s for s in flat):
            return TransferStatus(
                fqdn, TransferState.PENDING, step="pendingTransfer", detail="in our account"
            )
        if info.expires_at is None:
            raise ProtocolError("domain-info answered without an expiration_date", provider=PROVIDER)
        return TransferStatus(
            fqdn, TransferState.COMPLETED, step="in our account", expires_at=info.expires_at
        )

    def transfer_status(self, domain: str, policy: CallPolicy) -> TransferStatus | None:
        fqdn = ascii_domain(domain, PROVIDER)
        state = self._transfer_state(fqdn, policy)
        if state is not None:
            return state
        status = self._status_word(fqdn, policy)
        if status.lower() == "available":
            return None  # not registered at all: no transfer of it can exist
        detail = "registered, not in our account; ROTLD shows no transfer state (running or never started)"
        return TransferStatus(fqdn, TransferState.PENDING, step="not in our account", detail=detail)

    def transfer_resend_confirmation(self, domain: str, policy: CallPolicy) -> None:
        raise Unsupported(PROVIDER, "FOA resend")

    def transfer_replace_auth_code(self, domain: str, auth_code: Secret, policy: CallPolicy) -> None:
        raise Unsupported(PROVIDER, "auth-code replacement")

    # -- the domain's settings
    def domain_state(self, domain: str, policy: CallPolicy) -> DomainState:
        fqdn = ascii_domain(domain, PROVIDER)
        info = self._domain_info(fqdn, policy)
        return DomainState(fqdn, tuple(info.nameservers), None, None, tuple(info.statuses))

    def set_lock(self, domain: str, locked: bool, policy: CallPolicy) -> DomainState:
        raise Unsupported(PROVIDER, "transfer lock")

    def set_autorenew(self, domain: str, enabled: bool, policy: CallPolicy) -> None:
        raise Unsupported(PROVIDER, "auto-renew")

    def auth_code(self, domain: str, policy: CallPolicy, *, reset: bool = False) -> AuthCode:
        raise Unsupported(PROVIDER, "auth-code reset" if reset else "auth-code read")

    def update_contacts(self, domain: str, contacts: dict[str, Contact], policy: CallPolicy) -> list[str]:
        others = sorted(role for role in contacts if role != "owner")
        if others:
            raise Unsupported(PROVIDER, f"{', '.join(others)} contact update (owner address data only)")
        if not contacts:
            return []
        fqdn = ascii_domain(domain, PROVIDER)
        data = self._day2("domain-info", {"domain": fqdn}, policy, idempotent=True)
        cid = data.get("registrant_id")
        if not isinstance(cid, str) or not cid.strip():
            raise ProtocolError("domain-info answered without a registrant_id", provider=PROVIDER)
        cid = cid.strip()
        self._day2("contact-update", contact_update_form(cid, contacts["owner"]), policy, idempotent=True)
        log.info("rotld contact %s of %s updated (address data)", cid, fqdn)
        return [
            f"contact {cid} is shared: every domain using it changes",
            f"contact {cid}: name, person type and CNP/CUI stay as registered (contact-correct)",
        ]

    # -- glue hosts
    def _host_addresses(self, host: str, policy: CallPolicy) -> list[str] | None:
        """The host's addresses, or None when the registry refuses the host (unknown to it)."""
        try:
            return _ips(self._day2("nameserver-info", {"nameserver": host}, policy, idempotent=True))
        except REFUSALS:
            return None

    def glue_hosts(self, domain: str, policy: CallPolicy) -> list[GlueHost]:
        fqdn = ascii_domain(domain, PROVIDER)
        hosts = [h for h in self._domain_info(fqdn, policy).nameservers if h.endswith("." + fqdn)]
        found = []
        for host in hosts:
            data = self._day2("nameserver-info", {"nameserver": host}, policy, idempotent=True)
            found.append(GlueHost(host, tuple(_ips(data))))
        return found

    def glue_set(self, domain: str, host: GlueHost, policy: CallPolicy) -> GlueHost:
        fqdn = ascii_domain(domain, PROVIDER)
        name, wanted = _in_zone(host.host, fqdn), _addresses(host.addresses)
        form = {"nameserver": name, "ips": ",".join(wanted)}
        current = self._host_addresses(name, policy)
        if current is None:
            self._day2("nameserver-create", form, policy, idempotent=True)
        elif set(current) != set(wanted):
            self._day2("nameserver-update", form, policy, idempotent=True)
        else:
            return GlueHost(name, tuple(current))
        shown, confirmed = read_back(
            lambda: self._host_addresses(name, policy),
            lambda ips: ips is not None and set(ips) == set(wanted),
            self.readback_seconds,
            sleep=self.sleep,
            clock=self.clock,
            first=POLL_FIRST,
            largest=POLL_MAX,
        )
        if not confirmed:
            raise AwaitingRegistry(
                PROVIDER,
                float(defaults.REGISTRY_LAG_RECHECK_SECONDS),
                f"nameserver {name} accepted; nameserver-info does not show its new addresses yet",
            )
        return GlueHost(name, tuple(shown or ()))

    def glue_delete(self, domain: str, host: str, policy: CallPolicy) -> None:
        fqdn = ascii_domain(domain, PROVIDER)
        name = _in_zone(host, fqdn)
        try:
            self._day2("nameserver-delete", {"nameserver": name}, policy, idempotent=True)
        except REFUSALS:
            if self._host_addresses(name, policy) is None:
                return  # nameserver-info refuses it too: gone already
            raise
