"""TLDs no registrar sells, and why: special-use names (always refused) and restricted TLDs.

Special-use names are the ones the IETF set aside (IANA's Special-Use Domain Names registry; the table is
:data:`shared.names.SPECIAL_USE`, where settings can read it too): no registry delegates a name under
them, so no registrar can sell one, whatever an operator's override says. Restricted TLDs exist in the
root but are given only to one kind of holder by their own registry; no retail registrar lists them. They
are refused like any TLD nobody sells, with their reason.
"""

from __future__ import annotations

from shared.names import SPECIAL_USE, special_use

#: TLD -> who alone may hold a name under it (the registry's own eligibility rule; RFC 1591 for the
#: original ones). Not on any retail registrar's list.
RESTRICTED: dict[str, str] = {
    "gov": "restricted to US government bodies (the .gov registry, run by CISA)",
    "mil": "restricted to the US Department of Defense (RFC 1591)",
    "int": "restricted to organisations established by international treaty (IANA, RFC 1591)",
    "edu": "restricted to accredited US post-secondary institutions (EDUCAUSE)",
}

__all__ = ["RESTRICTED", "SPECIAL_USE", "special_use"]
