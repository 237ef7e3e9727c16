"""``RdapClient``: domain and IP queries (RFC 7482) to the servers the IANA bootstrap names.

Every request goes through :class:`~shared.http.client.OutboundClient`, one per RDAP host:

* the policy allows ANY host (``allowed_hosts=None``: bootstrap entries and ``related`` links name
  servers nobody can list beforehand) but keeps the SSRF guard: vetted public addresses only, https only,
  unless REGQ_OUTBOUND_ALLOW_PRIVATE; answers capped at ``RDAP_MAX_RESPONSE_BYTES``; a read timeout of at
  most ``RDAP_READ_TIMEOUT_SECONDS`` per read and ``RDAP_READ_DEADLINE_SECONDS`` for the whole answer;
* every request gets the lookups' :class:`~shared.upstream.policy.CallPolicy` (the process's limiter
  guard; no breaker, no lease): ``OutboundClient.call(..., policy=...)`` calls it at its fixed points.
  The limiter key is the host name, of rate class ``rdap`` (REGQ_RDAP_RATE/BURST): the client routes
  ``host -> "rdap"`` (``policy.route``) when it first meets a host;
* ``Accept: application/rdap+json`` (RFC 7480 4.2).

``domain(apex)``: the registry's server first; a 404 is "not registered". A thin registry's answer
(Verisign) carries a ``related`` link of type ``application/rdap+json`` to the registrar's server, which
holds the registrant: that one hop is followed through the same policy. When the hop is throttled (the
registrar answers 429, with or without ``Retry-After``, or another rate limit :mod:`.answers` reads as
one; or our limiter holds the request back: Throttled) the answer is the registry's with ``missing``
naming the registrar part, the ``related`` URL and the wait, as the WHOIS hop does: the lookup is
partial, and :meth:`RdapClient.complete` later sends only that one GET. The wait is the ``Retry-After``
(RFC 6585 section 4: a 429 MAY carry one; RFC 9110 section 10.2.3: seconds or an HTTP-date), else
``RDAP_RATE_LIMIT_WAIT_SECONDS`` (RFC 9082/9083 define no rate limiting; RFC 7480 section 5.5 names
429 for it). When the hop fails otherwise (refused address, 5xx, malformed, 404) the registry answer
stands. Listed base URLs are tried in order; the next one only after a transport failure or a 5xx (a
rate limit or a malformed answer is the answer). One client per thread (each OutboundClient holds one
``requests.Session``).
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from shared import defaults
from shared.audit import AuditSink
from shared.errors import (
    OutboundRefused,
    ProtocolError,
    RateLimited,
    Throttled,
    TransientError,
    UpstreamError,
)
from shared.http.client import OutboundClient
from shared.http.policy import OutboundPolicy, normalize_host
from shared.registrydata.model import DomainAnswer, MissingPart, Registration
from shared.registrydata.rdap.answers import interpret
from shared.registrydata.rdap.bootstrap import Bootstrap, BootstrapSource, NoRdapService
from shared.registrydata.rdap.ip import ip_registrant
from shared.registrydata.rdap.parse import RDAP_MEDIA_TYPE, merge, parse_domain, related_links
from shared.registrydata.rdap.store import store_for
from shared.settings import Settings
from shared.upstream.policy import CallPolicy

log = logging.getLogger("regq.rdap")
RATE_CLASS = "rdap"


def any_host_policy(settings: Settings, max_bytes: int = defaults.RDAP_MAX_RESPONSE_BYTES) -> OutboundPolicy:
    """Any vetted host (see :class:`OutboundPolicy`), RDAP's size cap and read timeout."""
    return OutboundPolicy(
        allowed_hosts=None,
        allow_private=settings.outbound_allow_private,
        connect_timeout=settings.connect_timeout_seconds,
        read_timeout=min(settings.read_timeout_seconds, defaults.RDAP_READ_TIMEOUT_SECONDS),
        read_deadline=min(settings.read_deadline_seconds, defaults.RDAP_READ_DEADLINE_SECONDS),
        max_bytes=max_bytes,
    )


class RdapClient:
    """RDAP queries for the lookup pipeline. ``bootstrap``: a :class:`BootstrapSource` (default: from
    ``settings``, refreshed copy from :func:`~shared.registrydata.rdap.store.store_for`) or a fixed
    :class:`Bootstrap`. ``policies`` overrides the policy of a host (a private CA for one server)."""

    def __init__(
        self,
        settings: Settings,
        audit: AuditSink,
        policy: CallPolicy | None,
        bootstrap: BootstrapSource | Bootstrap | None = None,
        *,
        policies: Mapping[str, OutboundPolicy] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.audit = audit
        self.calls = policy if policy is not None else CallPolicy()
        self.bootstrap = (
            bootstrap if bootstrap is not None else BootstrapSource(settings, store_for(settings))
        )
        self.policy = any_host_policy(settings)
        self.policies = {normalize_host(h): p for h, p in (policies or {}).items()}
        self.sleep = sleep
        self.default_wait = defaults.RDAP_RATE_LIMIT_WAIT_SECONDS
        self._clients: dict[str, OutboundClient] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    # -- public API ---------------------------------------------------------------------------------
    def domain(self, apex: str) -> DomainAnswer:
        """What RDAP says of ``apex`` (an A-label eTLD+1). Raises NoRdapService (no bootstrap entry: use
        WHOIS), RateLimited, Throttled (our limiter), TransientError (every listed server failed),
        ProtocolError (a malformed or error answer), OutboundRefused."""
        name = _a_label(apex)
        servers = self._domain_servers(name)
        if not servers:
            raise NoRdapService(name, "dns.json")
        base, obj = self._first_answer(servers, "domain/" + quote(name), "domain")
        if obj is None:
            return DomainAnswer(registered=False)
        if str(obj.get("objectClassName", "domain")).lower() != "domain":
            raise ProtocolError(f"answer is a {obj.get('objectClassName')!r}, not a domain", provider=base)
        registry = parse_domain(obj, base)
        return _completed(registry, self._registrar_view(obj, base + "domain/" + quote(name)))

    def complete(self, apex: str, answer: DomainAnswer) -> DomainAnswer:
        """``answer`` (a thin registry's, its registrar part missing) completed by one GET of the
        registrar's ``related`` URL it names; partial again when that server (or our limiter) still says
        wait. ``apex`` is not asked again: the URL already names it."""
        if answer.missing is None or answer.registration is None:
            return answer
        return _completed(answer.registration, self._hop(answer.missing.server))

    def ip_registrant(self, ip: str) -> str | None:
        """Who holds ``ip`` (the registrant's name, else the network's name); None when the RIR answers
        404 or names nobody. Raises like :meth:`domain` (NoRdapService: no bootstrap prefix)."""
        address = str(ipaddress.ip_address(ip.strip()))  # ValueError for a non-address: bad input
        servers = self._ip_servers(address)
        if not servers:
            raise NoRdapService(address, "ipv6.json" if ":" in address else "ipv4.json")
        _base, obj = self._first_answer(servers, "ip/" + quote(address, safe=":."), "ip")
        return ip_registrant(obj) if obj is not None else None

    def fetch(self, url: str, operation: str) -> dict[str, Any] | None:
        """One RDAP GET through the host's client: the object, None for 404, or a typed error."""
        host = normalize_host(urlsplit(url).hostname or "")
        client = self._client(host)
        try:
            return client.call(
                "GET",
                url,
                operation=operation,
                interpret=lambda response: interpret(response, self.default_wait),
                idempotent=True,
                policy=self.calls,
                headers={"Accept": RDAP_MEDIA_TYPE},
            )
        except RateLimited as exc:
            raise self._rate_limited(host, exc) from None

    # -- internals ----------------------------------------------------------------------------------
    def _domain_servers(self, name: str) -> list[str]:
        return self._usable(self.bootstrap.domain_servers(name))

    def _ip_servers(self, address: str) -> list[str]:
        return self._usable(self.bootstrap.ip_servers(address))

    def _usable(self, urls: list[str]) -> list[str]:
        """The listed base URLs the host's policy may reach by scheme (plain http only where allowed)."""
        return [u for u in urls if urlsplit(u).scheme.lower() == "https" or self._policy_for(u).allow_private]

    def _policy_for(self, url: str) -> OutboundPolicy:
        return self.policies.get(normalize_host(urlsplit(url).hostname or ""), self.policy)

    def _client(self, host: str) -> OutboundClient:
        with self._lock:
            client = self._clients.get(host)
            if client is None:
                self.calls.route(host, RATE_CLASS)
                client = self._clients[host] = OutboundClient(
                    host,
                    self.policies.get(host, self.policy),
                    self.audit,
                    tries=self.settings.http_tries,
                    sleep=self.sleep,
                )
            return client

    def _rate_limited(self, host: str, exc: RateLimited) -> RateLimited:
        """A rate limit with the wait we will honour, reported to the policy as the 429 it means, so the
        fleet's block window for ``host`` covers 403/422/notice limits and wait-less 429s too."""
        wait = exc.retry_after if exc.retry_after is not None else self.default_wait
        if exc.status not in (429, 503) or exc.retry_after is None:
            self.calls.after_response(host, 429, wait)
        return RateLimited(
            exc.message, provider=host, status=exc.status, retry_after=wait, upstream_code=exc.upstream_code
        )

    def _first_answer(
        self, servers: list[str], path: str, operation: str
    ) -> tuple[str, dict[str, Any] | None]:
        """The first listed server's answer; the next one only after a transport failure, a 5xx or a
        refused address. The last error when every one failed."""
        last: UpstreamError | OutboundRefused | None = None
        for index, base in enumerate(servers):
            try:
                return base, self.fetch(base + path, operation)
            except (TransientError, OutboundRefused) as exc:
                left = len(servers) - index - 1
                log.info("rdap %s%s failed (%s); %d more listed", base, path, exc, left)
                last = exc
        assert last is not None
        raise last

    def _registrar_view(self, obj: dict[str, Any], asked: str) -> Registration | MissingPart | None:
        """The hop behind the first ``related`` RDAP link (:meth:`_hop`); None when there is none."""
        for href in related_links(obj):
            if href.rstrip("/").lower() == asked.rstrip("/").lower():
                continue  # a link back to the question: no second hop
            return self._hop(href)
        return None

    def _hop(self, href: str) -> Registration | MissingPart | None:
        """The registrar's answer at ``href``; the missing part when it (or our limiter) says wait; None
        when the hop failed or was refused otherwise, or the registrar does not hold the name (the
        registry answer stands)."""
        parts = urlsplit(href)
        try:
            answer = self.fetch(href, "related")
        except (RateLimited, Throttled) as exc:
            log.info("rdap related hop to %s throttled: %s; the registrar part waits", parts.hostname, exc)
            return _missing(href, exc)
        except (UpstreamError, OutboundRefused) as exc:
            log.info("rdap related hop to %s not used: %s", parts.hostname, exc)
            return None
        if answer is None or str(answer.get("objectClassName", "domain")).lower() != "domain":
            return None
        return parse_domain(answer, f"{parts.scheme}://{parts.netloc}/")


def _completed(registry: Registration, hop: Registration | MissingPart | None) -> DomainAnswer:
    """The registry's view with what the registrar hop brought: its view merged, or its part missing."""
    if isinstance(hop, MissingPart):
        return DomainAnswer(True, registry, missing=hop)
    return DomainAnswer(True, merge(registry, hop) if hop is not None else registry)


def _missing(href: str, exc: RateLimited | Throttled) -> MissingPart:
    """The registrar part, missing because the server at ``href`` (or our limiter for it) said wait.
    A RateLimited from :meth:`RdapClient.fetch` always carries a wait (the stated one, else the default)."""
    host = urlsplit(href).hostname or href
    if isinstance(exc, RateLimited):
        wait = exc.retry_after if exc.retry_after is not None else defaults.RDAP_RATE_LIMIT_WAIT_SECONDS
        return MissingPart("registrar", href, f"registrar RDAP {host}: {exc.message}", wait)
    return MissingPart(
        "registrar", href, f"registrar RDAP {host} not asked: throttled by {exc.reason}", exc.retry_after
    )


def _a_label(name: str) -> str:
    text = name.strip().rstrip(".").lower()
    try:
        text.encode("ascii")
    except UnicodeEncodeError:
        text = text.encode("idna").decode("ascii")
    return text
