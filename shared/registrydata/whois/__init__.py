"""WHOIS (TCP port 43): the fallback when the RDAP bootstrap has no entry (.ro, .eu, .de, .it, .jp ...) or
RDAP is down. Never imports Celery.

Public interface::

    WhoisClient(settings, policy=None, *, read_deadline=None, max_bytes=None, resolver=None, connect=None)
        .domain(apex: str) -> DomainAnswer          # raises RateLimited, Throttled, TransientError,
                                                    # ProtocolError (ResponseTooLarge), OutboundRefused
        .registry_for(apex: str) -> Target | None   # which registry server (override or IANA referral)
        .iana_referral(tld: str) -> str | None
        .complete(apex: str, answer: DomainAnswer) -> DomainAnswer
                                                    # a thin answer's missing registrar part, asked alone
    parse_whois(text: str, server: str, domain: str | None = None) -> DomainAnswer
                                                    # raises RateLimited (throttling text), ProtocolError
    find_throttle(text: str) -> ThrottleText | None # a rate-limit refusal standing on its own, its wait

Modules: ``client`` (the lookup: referral, registry, thin registrar hop, merge, call policy), ``servers``
(referrals, per-server query syntax, ``REGQ_WHOIS_SERVERS`` overrides, thin registries), ``transport``
(one TCP query: vetted addresses, deadline, size cap, UTF-8/Latin-1), ``records`` (text to entries),
``parse`` (entries to a Registration, "not found"), ``dates``, ``throttle`` (rate-limit texts).

Parser library evaluation (each run over every sample in ``tests/data/whois/`` and
``sandbox/data/whois/``, December 2026):

* python-whois 0.9.6 (PyPI ``python-whois``, richardpenman/whois): the most used. Left: it reports the
  CZ.NIC throttling text as ``WhoisDomainNotFoundError`` (the bug the issue names) and returns the other
  four throttling texts as empty records; a field is a string or a list depending on the answer; .eu
  name servers come back as one string with addresses; old .org ``Created On`` is missed; parsing is
  welded to its own socket client (no outbound policy, no shared limiter).
* asyncwhois 1.1.15: left: "Z" dates get the local time zone (``tzlocal()``) instead of UTC; the old
  .com answer gives the first lookalike's registrar (INNERWISE instead of MARKMONITOR); .eu and .uk
  name servers come back empty; the throttling texts parse as empty records; it pulls in python-socks
  and whodap for a client we cannot use.
* whoisit: RDAP only. whoisdomain: a fork of the same regex tables as python-whois, shells out to the
  ``whois`` binary by default. whois-parser (weppos, Ruby): not Python; its fixtures served as samples.

So the parser here is our own, table-driven (key names per registry in :mod:`.parse`, layouts in
:mod:`.records`), with the rate-limit check first (before any record or "not found" line) and "not
found" only for answers without data.
"""

from shared.registrydata.whois.client import WhoisClient, merge
from shared.registrydata.whois.parse import parse_whois, read_record
from shared.registrydata.whois.servers import Target
from shared.registrydata.whois.throttle import ThrottleText, find_throttle

__all__ = ["Target", "ThrottleText", "WhoisClient", "find_throttle", "merge", "parse_whois", "read_record"]
