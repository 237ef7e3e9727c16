"""What the Gandi day-2 operations (:mod:`shared.gateways.gandi_day2`) read of Gandi's answers.

The domain object (``GET /domain/domains/{fqdn}``: go-gandi ``domain/types.go`` Details, ResponseDates;
gem ``lib/gandi_v5/domain.rb`` for ``autorenew`` as an object or a bool) and the transferability answer
(gem ``lib/gandi_v5/domain/transfer_in/availability.rb``). An ``authinfo`` read here is kept only as a
:class:`~shared.gateways.day2.Secret` and registered with the log redaction.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.contact import Contact
from shared.errors import ProtocolError
from shared.gateways.base import parse_day
from shared.gateways.day2 import DomainState, Secret, Transferability
from shared.http import HttpResponse, register_secret
from shared.http.redact import scrub_upstream_text

PROVIDER = "gandi"
PENDING_TRANSFER = "pendingTransfer"
LOCK_STATUS = "clientTransferProhibited"
CONTACT_ROLES = ("admin", "bill", "tech")
#: Words of a ``step``/``inner_step`` that mean the transfer stopped (their values are not documented).
FAILURE_WORDS = ("error", "fail", "cancel", "refus", "reject", "abort")
#: ``foa[].answer`` values that mean the e-mail was answered (not documented either: anything else waits).
FOA_ANSWERED = frozenset({"yes", "accepted", "approved", "ok", "done"})


@dataclass(frozen=True)
class DomainView:
    """What the day-2 operations read of ``GET /domain/domains/{fqdn}`` (``authinfo`` only as a Secret)."""

    fqdn: str
    statuses: tuple[str, ...]
    nameservers: tuple[str, ...]
    can_tld_lock: bool | None
    autorenew: bool | None
    expires_at: date | None
    authinfo: Secret | None
    authinfo_expires_at: date | None

    def state(self) -> DomainState:
        locked = LOCK_STATUS in self.statuses if self.can_tld_lock is not False else None
        return DomainState(self.fqdn, self.nameservers, locked, self.autorenew, self.statuses)


# shared.gateways.gandi imports the day-2 mixin, which imports this module: its helpers are imported when
# first called, never at import time.
def json_object(response: HttpResponse) -> dict[str, Any]:
    """A 2xx JSON object answer (an empty one for 204), else Gandi's typed error."""
    from shared.gateways.gandi import _accepted

    return _accepted(response)


def json_array(response: HttpResponse) -> list[Any]:
    from shared.gateways.gandi import gandi_error

    if not 200 <= response.status < 300:
        raise gandi_error(response)
    items = response.json()
    if not isinstance(items, list):
        raise ProtocolError("expected a JSON array", provider=PROVIDER, status=response.status)
    return items


def contact_body(contact: Contact) -> dict[str, Any]:
    from shared.gateways.gandi import gandi_contact

    return gandi_contact(contact)


def strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def autorenew_enabled(value: Any) -> bool | None:
    """``autorenew`` is an object ``{"enabled": ...}`` in the domain's detail, a bool in some answers."""
    if isinstance(value, bool):
        return value
    if isinstance(value, dict) and isinstance(value.get("enabled"), bool):
        return bool(value["enabled"])
    return None


def domain_view(fqdn: str, response: HttpResponse) -> DomainView:
    body = json_object(response)
    raw_dates = body.get("dates")
    dates: dict[str, Any] = raw_dates if isinstance(raw_dates, dict) else {}
    code = body.get("authinfo")
    secret = None
    if isinstance(code, str) and code:
        register_secret(code)  # any log line or error text that meets it shows [REDACTED]
        secret = Secret(code)
    lockable = body.get("can_tld_lock")
    return DomainView(
        fqdn=fqdn,
        statuses=strings(body.get("status")),
        nameservers=strings(body.get("nameservers")),
        can_tld_lock=lockable if isinstance(lockable, bool) else None,
        autorenew=autorenew_enabled(body.get("autorenew")),
        expires_at=parse_day(dates.get("registry_ends_at")),
        authinfo=secret,
        authinfo_expires_at=parse_day(dates.get("authinfo_expires_at")),
    )


def upstream_text(value: Any) -> str | None:
    return scrub_upstream_text(value, 120) or None if isinstance(value, str) and value.strip() else None


def transferability(fqdn: str, response: HttpResponse) -> Transferability:
    body = json_object(response)
    available = body.get("available")
    if not isinstance(available, bool):
        raise ProtocolError("transferability answer without 'available'", provider=PROVIDER)
    durations = body.get("durations")
    years = tuple(d for d in durations if isinstance(d, int)) if isinstance(durations, list) else ()
    return Transferability(fqdn, available, None if available else upstream_text(body.get("msg")), years)


def failed(step: str | None, inner: str | None, errortype: str | None) -> bool:
    if errortype:
        return True
    words = f"{step or ''} {inner or ''}".lower()
    return any(word in words for word in FAILURE_WORDS)


def canonical_ips(addresses: Iterable[str]) -> frozenset[str]:
    """Addresses in one canonical form (``2001:DB8::1`` and ``2001:db8:0::1`` are the same)."""
    out = set()
    for address in addresses:
        try:
            out.add(str(ipaddress.ip_address(str(address).strip())))
        except ValueError:
            out.add(str(address).strip().lower())
    return frozenset(out)
