"""``WhoisClient``: a domain's registration data over WHOIS, referrals followed (see the package doc).

One lookup, ``domain(apex)``:

1. the registry server: a TLD override from ``REGQ_WHOIS_SERVERS``, else IANA's referral for the TLD
   (``REGQ_WHOIS_IANA_SERVER``; the answer is kept ``WHOIS_REFERRAL_TTL_SECONDS`` in this process);
2. the registry's answer, in that server's query syntax, parsed (:mod:`.parse`);
3. for a thin registry (.com/.net) the ``Registrar WHOIS Server`` it names is asked too and its answer
   fills what the registry's lacks (the registrant). When that hop is throttled (a throttling text, or
   our limiter's block window for that host) the answer is the registry's with ``missing`` naming the
   registrar part, its server and the wait: the lookup is partial, and :meth:`WhoisClient.complete`
   later sends only that one query. When the hop fails otherwise (refused, down, unreadable, "not
   found") the registry answer stands.

Every TCP query, IANA's included, goes through the lookups' :class:`~shared.upstream.policy.CallPolicy`
at the same fixed points as an HTTP request: the host is resolved and vetted first (private addresses
refused unless ``REGQ_OUTBOUND_ALLOW_PRIVATE``), then ``policy.before_send(<server name>, "whois")``
(a limiter token; may raise Throttled), the query to a vetted address, then
``policy.after_response(<server name>, status, wait)`` with ``status`` 200 for an answer, 429 for a
throttling answer (``wait`` its seconds: a fleet-wide block window) and None when no answer came. The
server name (``whois.eu``, or the target host of a TLD override) is the limiter key, of rate class
"whois" (``policy.route`` when first met, so ``REGQ_WHOIS_RATE``/``REGQ_WHOIS_BURST`` apply to every
host).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from shared import defaults
from shared.errors import OutboundRefused, RateLimited, Throttled, UpstreamError
from shared.http.policy import OutboundPolicy, Resolver
from shared.registrydata.model import DomainAnswer, MissingPart, Registration, host_name
from shared.registrydata.whois import transport
from shared.registrydata.whois.parse import WhoisRecord, read_record
from shared.registrydata.whois.servers import (
    Target,
    host_target,
    is_thin,
    query_text,
    referral,
    tld_of,
    tld_override,
    whois_host,
)
from shared.registrydata.whois.throttle import find_throttle, rate_limited
from shared.settings import Settings
from shared.upstream.policy import CallPolicy

T = TypeVar("T")
log = logging.getLogger("regq.whois")
RATE_CLASS = "whois"
_ANSWERED, _THROTTLED = 200, 429


def _missing(server: str, exc: RateLimited | Throttled) -> MissingPart:
    """The registrar part, missing because ``server`` (or our limiter for it) said wait."""
    if isinstance(exc, RateLimited):
        wait = exc.retry_after if exc.retry_after is not None else float(defaults.WHOIS_THROTTLE_SECONDS)
        return MissingPart("registrar", server, f"registrar WHOIS {server} rate limited: {exc.message}", wait)
    return MissingPart(
        "registrar", server, f"registrar WHOIS {server} not asked: {exc.reason}", exc.retry_after
    )


def merge(registry: Registration, registrar: Registration) -> Registration:
    """The registry's view, with what it lacks taken from the registrar's (thin registries)."""
    return registry.completed_by(registrar)


class WhoisClient:
    """WHOIS lookups for one process (thread-safe; the referral cache is shared by its threads).

    ``read_deadline``/``max_bytes`` default to ``WHOIS_READ_DEADLINE_SECONDS``/``WHOIS_MAX_RESPONSE_BYTES``;
    ``resolver`` (``socket.getaddrinfo``) and ``connect`` (``socket.create_connection``) are the network,
    replaceable in tests.
    """

    def __init__(
        self,
        settings: Settings,
        policy: CallPolicy | None = None,
        *,
        read_deadline: float | None = None,
        max_bytes: int | None = None,
        resolver: Resolver | None = None,
        connect: transport.Connector | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.calls = policy if policy is not None else CallPolicy()
        self.overrides = dict(settings.whois_servers)
        self.limits = transport.Limits(
            connect_timeout=settings.connect_timeout_seconds,
            read_deadline=read_deadline or defaults.WHOIS_READ_DEADLINE_SECONDS,
            max_bytes=max_bytes or defaults.WHOIS_MAX_RESPONSE_BYTES,
        )
        self.policy = OutboundPolicy(
            allowed_hosts=frozenset(),  # WHOIS hosts come from referrals: the address vetting is the guard
            allow_private=settings.outbound_allow_private,
            connect_timeout=settings.connect_timeout_seconds,
            max_bytes=self.limits.max_bytes,
            resolver=resolver or socket.getaddrinfo,
        )
        self._connect = connect
        self._clock = clock
        self._lock = threading.Lock()
        self._referrals: dict[str, tuple[str | None, float]] = {}

    # --- public -----------------------------------------------------------------------------------
    def domain(self, apex: str) -> DomainAnswer:
        """Registration data of ``apex`` (an eTLD+1, IDNA A-labels). ``registered`` is None only when
        the TLD has no WHOIS server. Raises RateLimited, Throttled, TransientError (NotSentError),
        ProtocolError (ResponseTooLarge), OutboundRefused."""
        apex = host_name(apex)
        if whois_host(apex) is None:
            raise ValueError(f"not a domain name: {apex[:100]!r}")  # a WHOIS query line is sent as is
        registry = self.registry_for(apex)
        if registry is None:
            return DomainAnswer(registered=None)
        record = self._exchange(
            registry, query_text(registry, apex), lambda t: read_record(t, self._key(registry), apex)
        )
        answer = record.answer
        if not (answer.registered and answer.registration and record.referral and is_thin(registry, apex)):
            return answer
        if host_target(record.referral, self.overrides).name == registry.name:
            return answer
        return self._registrar_hop(apex, answer.registration, record.referral)

    def complete(self, apex: str, answer: DomainAnswer) -> DomainAnswer:
        """``answer`` (a thin registry's, its registrar part missing) completed by asking only the
        registrar's WHOIS server it names; partial again when that server still throttles us."""
        if answer.missing is None or answer.registration is None:
            return answer
        return self._registrar_hop(host_name(apex), answer.registration, answer.missing.server)

    def _registrar_hop(self, apex: str, registry: Registration, server: str) -> DomainAnswer:
        """The registry's view completed by registrar ``server``'s. Throttled (a throttling text, or our
        limiter holding the query back): the registry's view with the registrar part missing, to ask
        again after the wait. Any other failure, or a registrar that does not know the name: the registry
        answer stands (it is complete for what a registry holds)."""
        registrar = host_target(server, self.overrides)
        try:
            extra = self._exchange(
                registrar, query_text(registrar, apex), lambda t: read_record(t, self._key(registrar), apex)
            )
        except (RateLimited, Throttled) as exc:
            log.info("registrar WHOIS %s for %s: %s; the registrar part waits", registrar.name, apex, exc)
            return DomainAnswer(True, registry, missing=_missing(server, exc))
        except (UpstreamError, OutboundRefused) as exc:
            log.info("registrar WHOIS %s for %s: %s; the registry answer stands", registrar.name, apex, exc)
            return DomainAnswer(True, registry)
        if not extra.answer.registered or extra.answer.registration is None:
            return DomainAnswer(True, registry)
        return DomainAnswer(True, merge(registry, extra.answer.registration))

    def registry_for(self, apex: str) -> Target | None:
        """The registry WHOIS server for ``apex``: a TLD override, else IANA's referral (None: no WHOIS)."""
        override = tld_override(apex, self.overrides)
        if override is not None:
            return override
        host = self.iana_referral(tld_of(apex))
        return host_target(host, self.overrides) if host else None

    def iana_referral(self, tld: str) -> str | None:
        """The WHOIS host IANA names for ``tld`` (cached for ``WHOIS_REFERRAL_TTL_SECONDS``)."""
        now = self._clock()
        with self._lock:
            cached = self._referrals.get(tld)
        if cached is not None and cached[1] > now:
            return cached[0]
        iana_host, iana_port = self.settings.whois_iana_server
        iana = host_target(iana_host, self.overrides, port=iana_port)
        host = self._exchange(iana, tld, lambda text: self._read_referral(iana, text))
        with self._lock:
            self._referrals[tld] = (host, now + defaults.WHOIS_REFERRAL_TTL_SECONDS)
        return host

    # --- one query ----------------------------------------------------------------------------------
    @staticmethod
    def _key(target: Target) -> str:
        """The limiter key and shown server name: the WHOIS host (the target host of a TLD override)."""
        return host_name(target.host) if target.via_tld else target.name

    def _read_referral(self, iana: Target, text: str) -> str | None:
        found = find_throttle(text)
        if found is not None:
            raise rate_limited(self._key(iana), found)
        return referral(text)

    def _exchange(self, target: Target, text: str, read: Callable[[str], T]) -> T:
        key = self._key(target)
        addresses = transport.resolve(key, target.host, target.port, self.policy)
        self.calls.route(key, RATE_CLASS)
        self.calls.before_send(key, RATE_CLASS)
        status: int | None = None
        wait: float | None = None
        try:
            answer = transport.query(
                key, addresses, target.port, text, limits=self.limits, connect=self._connect
            )
            status = _ANSWERED
            try:
                return read(answer)
            except RateLimited as exc:
                status, wait = _THROTTLED, exc.retry_after
                raise
        finally:
            self.calls.after_response(key, status, wait)


__all__ = ["WhoisClient", "WhoisRecord", "merge"]
