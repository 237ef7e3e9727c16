"""Which WHOIS server to ask, how to word the query, and where a host really is.

* Referral: IANA's answer for a TLD names the registry's server on a ``refer:`` line (and again on
  ``whois:``); ``tests/data/whois/nic.live.txt`` shows both. No such line: the TLD has no WHOIS
  (``sandbox/data/whois/iana-not-assigned.txt``).
* Thin registries (Verisign's .com/.net) hold no registrant: their answer names the registrar's server
  on ``Registrar WHOIS Server:`` (old answers: ``Whois Server:``, ``tests/data/whois/shazow.net.txt``).
  Only those registries are followed: thick registries name a registrar server too (.ca, .live) but
  already answer with everything the registrar would.
* Query syntax: DENIC wants ``-T dn,ace -C UTF-8 <q>`` (as python-whois sends it: richardpenman/whois,
  ``whois/whois.py``, ``NICClient``), JPRS
  ``<q>/e`` (English answer, as its banner in ``tests/data/whois/yahoo.co.jp.txt`` says); everyone
  else the bare name followed by CRLF (RFC 3912). Looked up by the server's host name, else the TLD, so
  an override that points ``de`` at a test server still speaks DENIC's syntax.
* ``REGQ_WHOIS_SERVERS`` (``name=host[:port],...``): a TLD name (the longest matching suffix of the
  domain wins, so ``co.uk`` beats ``uk``) skips IANA and goes straight to that target; a WHOIS host name
  (a referral IANA or a registry gave) is reached at that target instead of its own address.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from shared.registrydata.model import host_name

WHOIS_PORT = 43  # RFC 3912

_REFER = re.compile(r"^\s*(?:refer|whois):\s*(\S+)\s*$", re.I | re.M)
_HOST = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")

#: Registries whose answer lacks the registrant: follow ``Registrar WHOIS Server:`` (Verisign .com/.net).
THIN_REGISTRY_HOSTS = frozenset({"whois.verisign-grs.com", "whois.crsnic.net"})
THIN_TLDS = frozenset({"com", "net"})

_DENIC = "-T dn,ace -C UTF-8 {q}"
_JPRS = "{q}/e"
#: Query templates by WHOIS host name.
QUERY_BY_HOST: Mapping[str, str] = {"whois.denic.de": _DENIC, "whois.jprs.jp": _JPRS}
#: The same templates by TLD, for a server reached through a TLD override.
QUERY_BY_TLD: Mapping[str, str] = {"de": _DENIC, "jp": _JPRS}


@dataclass(frozen=True)
class Target:
    """Where to send one query: ``name`` is the WHOIS server's own name (the limiter key and what
    ``Registration.server`` shows), ``host``/``port`` where it is really reached."""

    name: str
    host: str
    port: int
    via_tld: bool = False  # named by a TLD override (``name`` is then that TLD, e.g. "de" or "co.uk")


def whois_host(value: str | None) -> str | None:
    """``value`` as a WHOIS host name (lower case, no trailing dot), or None when it is not a bare host
    name (some registrars put a URL on ``Registrar WHOIS Server:``; that is no TCP 43 server)."""
    if not value:
        return None
    host = host_name(value)
    return host if _HOST.match(host) else None


def referral(iana_answer: str) -> str | None:
    """The registry WHOIS host IANA's answer names (``refer:``, else ``whois:``), or None."""
    for found in _REFER.findall(iana_answer):
        if (host := whois_host(found)) is not None:
            return host
    return None


def tld_of(domain: str) -> str:
    return host_name(domain).rsplit(".", 1)[-1]


def tld_override(domain: str, overrides: Mapping[str, tuple[str, int]]) -> Target | None:
    """The override for the longest suffix of ``domain`` named in ``overrides`` (e.g. ``co.uk``, ``uk``)."""
    labels = host_name(domain).split(".")
    for start in range(1, len(labels)):
        suffix = ".".join(labels[start:])
        if suffix in overrides:
            host, port = overrides[suffix]
            return Target(name=suffix, host=host, port=port, via_tld=True)
    return None


def host_target(name: str, overrides: Mapping[str, tuple[str, int]], port: int = WHOIS_PORT) -> Target:
    """Where WHOIS host ``name`` (``host`` or ``host:port``) is reached, overrides applied."""
    name = host_name(name)
    if ":" in name and name.count(":") == 1:
        name, _, text = name.partition(":")
        port = int(text) if text.isdigit() else port
    if name in overrides:
        host, target_port = overrides[name]
        return Target(name=name, host=host, port=target_port)
    return Target(name=name, host=name, port=port)


def query_text(target: Target, domain: str) -> str:
    """The query line (without CRLF) for ``domain`` at ``target``."""
    template = QUERY_BY_HOST.get(target.name)
    if template is None and target.via_tld:  # reached through a TLD override: that TLD's syntax
        template = QUERY_BY_TLD.get(tld_of(target.name))
    return (template or "{q}").format(q=domain)


def is_thin(registry: Target, domain: str) -> bool:
    if registry.via_tld:
        return registry.name in THIN_TLDS
    return registry.name in THIN_REGISTRY_HOSTS
