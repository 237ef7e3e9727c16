"""Who holds an IP address, from an RDAP IP network object (RFC 9083 5.4).

The name is the ``fn`` of the entity with role ``registrant`` (ARIN, LACNIC: whoisit__ip_v4_3.json gives
"Microsoft Corporation"); else the network's ``name`` (APNIC has no registrant role, whoisit__ip_v4.json
gives "APNIC-LABS"; RIPE lists registrant entities without vCards, whoisit__ip_v4_2.json gives
"SWITCH-LAN"). Entities without ``roles`` (some AFRINIC answers) are never taken for the registrant.
"""

from __future__ import annotations

from typing import Any

from shared.registrydata.rdap.parse import named_role


def ip_registrant(obj: Any) -> str | None:
    """The holder's name of an IP network object; None when it names nobody."""
    if not isinstance(obj, dict):
        return None
    name = named_role(obj, "registrant")
    if name:
        return name
    network = obj.get("name")
    if isinstance(network, str) and network.strip():
        return network.strip()
    return None
