"""The registries' view of the sandbox world: a name registered at a registrar stand-in is registered.

In the real world a register at Gandi or ROTLD creates the name at the registry, and the registry's RDAP
and WHOIS answer for it from then on. Here the registrar stand-ins (``sandbox/gandi.py``,
``sandbox/rotld.py``) keep their names in :class:`~sandbox.domains.DomainStore` objects;
:class:`RegistryView` reads those same stores, so the RDAP stand-in (``sandbox/rdap.py``) and the WHOIS
stand-in (``sandbox/whois.py``) answer for every name they hold, at once and with the same dates and
nameservers, without being told of each register:

    POST /v5/domain/domains (Gandi) ─┐
    POST domain-create (ROTLD) ──────┴─> DomainStore ──> RegistryView ─┬─> RDAP  /registry/domain/<name>
                                                                       └─> WHOIS registry roles

The recorded answers the stand-ins ship (google.com, google.ro, ...) come first; the view answers only
names they do not hold. A name is registered whatever its owner (``us``: our account; ``other``: seeded
as someone else's) and from the moment of the create: Gandi's read-after-create delay
(``visibility_delay``) is the registrar API's, not the registry's. Names the stores lose (a sandbox reset,
a transfer away that removes them) are no longer registered.

Shapes:

* RDAP: a thick registry's domain object, RFC 9083 section 5.3 (``objectClassName``, ``handle``,
  ``ldhName``, ``status``, ``events`` registration/expiration/last changed, ``nameservers``, a registrar
  entity with an ``IANA Registrar ID`` public id and a vCard ``fn``, as in the recorded
  ``sandbox/data/rdap/whoisit__domain1.json``); no ``related`` link, so no registrar hop;
* WHOIS, ``whois.rotld.ro``: the lines of ROTLD's real record (``sandbox/data/whois/google.ro.txt``:
  Domain Name, Registered On, Expires On, Registrar, Nameserver, Domain Status);
* WHOIS, every other registry role: the ICANN RDDS labels of Verisign's real record
  (``sandbox/data/whois/urlowl.com.txt``) without a ``Registrar WHOIS Server`` line (no hop). Assumption,
  not documented: .eu, .de and .jp registries use their own layouts (``eurid.eu.txt``, ``google.de.txt``,
  ``yahoo.co.jp.txt``); the sandbox answers its own names in the ICANN one, which regq reads the same.

Registrar names: Gandi SAS, IANA Registrar ID 81 (https://www.iana.org/assignments/registrar-ids/); for
ROTLD's names and names seeded as someone else's, constructed names (assumption).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.domains import Domain, DomainStore, iso_z, to_unicode

RDAP_CONFORMANCE = ["rdap_level_0"]


@dataclass(frozen=True)
class Registrar:
    """Who sponsors a name at the registry."""

    name: str
    iana_id: str | None = None


GANDI = Registrar("Gandi SAS", "81")  # IANA registrar id 81 (the IANA registrar-ids registry)
ROTLD_ACCOUNT = Registrar("regq sandbox registrar")  # assumption: the ROTLD reseller account's name
SOMEONE_ELSE = Registrar("Another Registrar (sandbox)")  # assumption: a name seeded as owner "other"


class RegistryView:
    """Reads the registrar stand-ins' stores; each store comes with the registrar that sponsors its names."""

    def __init__(self, stores: Sequence[tuple[DomainStore, Registrar]]) -> None:
        self.stores = list(stores)

    def find(self, name: str) -> tuple[Domain, Registrar] | None:
        """The stored domain ``name`` (lower case, no trailing dot) and its sponsor, or None."""
        fqdn = name.lower().rstrip(".")
        for store, registrar in self.stores:
            with store.lock:
                domain = store.domains.get(fqdn)
            if domain is not None:
                return domain, (registrar if domain.owner == "us" else SOMEONE_ELSE)
        return None

    def rdap_object(self, name: str) -> dict[str, Any] | None:
        """The registry's RDAP domain object for ``name`` (RFC 9083 5.3), or None when not registered."""
        found = self.find(name)
        if found is None:
            return None
        domain, registrar = found
        entity: dict[str, Any] = {
            "objectClassName": "entity",
            "handle": registrar.iana_id or registrar.name,
            "roles": ["registrar"],
            "vcardArray": ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", registrar.name]]],
        }
        if registrar.iana_id:
            entity["publicIds"] = [{"type": "IANA Registrar ID", "identifier": registrar.iana_id}]
        answer: dict[str, Any] = {
            "objectClassName": "domain",
            "handle": f"{domain.id}_DOMAIN-SANDBOX",
            "ldhName": domain.fqdn,
            "status": ["active"],
            "entities": [entity],
            "events": [
                {"eventAction": "registration", "eventDate": iso_z(domain.created_at)},
                {"eventAction": "expiration", "eventDate": iso_z(domain.ends_at)},
                {"eventAction": "last changed", "eventDate": iso_z(domain.updated_at)},
            ],
            "nameservers": [{"objectClassName": "nameserver", "ldhName": ns} for ns in domain.nameservers],
            "rdapConformance": RDAP_CONFORMANCE,
        }
        if to_unicode(domain.fqdn) != domain.fqdn:
            answer["unicodeName"] = to_unicode(domain.fqdn)
        return answer

    def whois_text(self, role: str, name: str) -> str | None:
        """What registry WHOIS server ``role`` answers for ``name``, or None when not registered."""
        found = self.find(name)
        if found is None:
            return None
        domain, registrar = found
        if role == "whois.rotld.ro":  # the lines of sandbox/data/whois/google.ro.txt
            lines = [
                f"  Domain Name: {domain.fqdn}",
                f"  Registered On: {domain.created_at.date().isoformat()}",
                f"  Expires On: {domain.ends_at.date().isoformat()}",
                f"  Registrar: {registrar.name}",
                "",
                "  DNSSEC: Inactive",
                "",
                *[f"  Nameserver: {ns}" for ns in domain.nameservers],
                "",
                "  Domain Status: OK",
            ]
            return "\n".join(lines) + "\n"
        lines = [  # the labels of sandbox/data/whois/urlowl.com.txt, without the registrar hop
            f"   Domain Name: {domain.fqdn.upper()}",
            f"   Registry Domain ID: {domain.id}_DOMAIN-SANDBOX",
            f"   Updated Date: {iso_z(domain.updated_at)}",
            f"   Creation Date: {iso_z(domain.created_at)}",
            f"   Registry Expiry Date: {iso_z(domain.ends_at)}",
            f"   Registrar: {registrar.name}",
            *([f"   Registrar IANA ID: {registrar.iana_id}"] if registrar.iana_id else []),
            "   Domain Status: ok https://icann.org/epp#ok",
            *[f"   Name Server: {ns.upper()}" for ns in domain.nameservers],
            "   DNSSEC: unsigned",
            f">>> Last update of whois database: {iso_z(domain.updated_at)} <<<",
        ]
        return "\n".join(lines) + "\n"

    def tlds(self) -> set[str]:
        """The TLDs of the names registered now."""
        found: set[str] = set()
        for store, _registrar in self.stores:
            with store.lock:
                found.update(fqdn.rsplit(".", 1)[-1] for fqdn in store.domains)
        return found
