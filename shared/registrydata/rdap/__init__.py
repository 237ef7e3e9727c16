"""RDAP for the lookup pipeline: IANA bootstrap, domain and IP queries, the registry -> registrar hop.

Public interface (the pipeline builds one :class:`RdapClient` per thread)::

    RdapClient(settings, audit, policy, bootstrap=None, *, policies=None, sleep=time.sleep)
        .domain(apex: str) -> DomainAnswer        # registered False on 404; registration.source "rdap";
                                                  # .missing: the registrar hop was throttled
        .complete(apex, answer) -> DomainAnswer   # only the missing registrar GET (answer.missing.server)
        .ip_registrant(ip: str) -> str | None     # registrant fn, else the network name
        .fetch(url, operation) -> dict | None     # one GET (object, or None for 404)
        .close()
      raises NoRdapService (no bootstrap entry: fall back to WHOIS), RateLimited (.retry_after, rounded
      up), Throttled (our shared limiter), TransientError, ProtocolError, OutboundRefused
    BootstrapSource(settings, store=None)         # directory override, else refreshed copy, else snapshot
    Bootstrap.domain_servers(name) / .ip_servers(ip) -> list[str]   # ordered base URLs
    refresh_bootstrap(settings, audit, policy, store=None, *, force=False) -> {file: outcome}
    store_for(settings) -> RedisBootstrapStore | FileBootstrapStore  # where the refreshed copy lives
    parse_domain(obj, server) -> Registration; ip_registrant(obj) -> str | None

Modules: ``bootstrap`` (RFC 9224 matching, sources), ``store`` (where a refreshed copy lives),
``refresh`` (the weekly fetch, Cache-Control), ``answers`` (HTTP status and error bodies -> typed errors),
``client`` (requests, ordered fallback, ``related`` hop), ``parse`` (RFC 9083 domain objects), ``ip``.

Libraries looked at, none taken:

* ``whodap`` (0.2): async-first over its own ``httpx`` client, fetches the IANA bootstrap itself at run
  time; its requests would bypass our outbound policy (SSRF guard, pinned vetted addresses, size cap),
  the fleet-wide limiter keyed by host, and the audit rows. Its parsing (``to_whois_dict``) flattens to
  WHOIS-like keys and does not follow ``related`` links.
* ``rdap`` (20C's, 1.7): a CLI-first client configured from a ``config.yaml`` home directory, with
  its own ``requests`` session and by default a RIPE redirect service as its bootstrap; the same problem:
  its HTTP layer is not ours to wrap, and the value we need from it (a handful of fields) is small.
* ``ipwhois`` (1.3): IP only (no domains); its RDAP lookup starts with an ASN lookup over DNS/WHOIS and
  uses ``urllib`` directly; the registrant we need is one role search.
* ``whoisit`` (4.1): the closest fit (domain, IP, bootstrap, flat results) and the source of several
  fixtures, but again its own ``requests`` calls and bootstrap download; we keep it as a second opinion in
  tests only through its published fixtures.

What RDAP needs from a library is the HTTP discipline (our OutboundClient already has it) plus about 200
lines of JSON reading over RFC 9083; the traps (capitalised roles, nested entities, no vCards, loose dates,
rate limits as 403/422/notices) are covered here and tested over every fixture.
"""

from shared.registrydata.rdap.bootstrap import Bootstrap, BootstrapSource, NoRdapService, packaged_snapshot
from shared.registrydata.rdap.client import RdapClient
from shared.registrydata.rdap.ip import ip_registrant
from shared.registrydata.rdap.parse import parse_domain
from shared.registrydata.rdap.refresh import refresh_bootstrap
from shared.registrydata.rdap.store import FileBootstrapStore, RedisBootstrapStore, store_for

__all__ = [
    "Bootstrap",
    "BootstrapSource",
    "FileBootstrapStore",
    "NoRdapService",
    "RdapClient",
    "RedisBootstrapStore",
    "ip_registrant",
    "packaged_snapshot",
    "parse_domain",
    "refresh_bootstrap",
    "store_for",
]
