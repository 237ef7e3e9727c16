"""The lookup pipeline: who registered a domain, where its nameservers are, who holds those addresses.

::

    lookup_domain(name)
      ├─ normalise (IDNA, as for jobs) and reduce to the apex (eTLD+1, tldextract's bundled snapshot)
      ├─ domain:<apex> cached and complete ──────────────────────────────> the snapshot, no upstream
      ├─ registration: reg:<apex> cached, else RDAP (bootstrap; registry -> registrar hop), falling back
      │    to WHOIS when the bootstrap has no entry or RDAP is down             (one fetch per stampede)
      ├─ each nameserver: ns:<host> cached, else DNS A/AAAA                      (one fetch per stampede)
      └─ each address: ipreg:<ip> cached, else RDAP IP registrant                (one fetch per stampede)

Every sub-result is cached as soon as it is known, the whole snapshot only when complete. A sub-step that
is throttled (our shared limiter, a 429, a WHOIS throttle text) or transiently down does not fail the
lookup: it answers what it has, ``partial: true`` with the reason and ``retry_after``; asking again later
reuses the cached sub-results, so only the missing requests reach the upstreams. A thin registry's
registrar hop is such a sub-step: when it is throttled the registry's answer is cached with the missing
part named (``DomainAnswer.missing``: the registrar's WHOIS server or RDAP URL), the lookup is
partial, and the next try sends only that registrar request (``CompletingSource.complete``).

A lookup that cannot start at all (bad input) raises JobValidationError; a registration source that
refuses for good (OutboundRefused, a protocol error at every source) raises its error.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

from shared import defaults
from shared.errors import (
    FieldProblem,
    JobValidationError,
    MustWait,
    NotFound,
    ProtocolError,
    RateLimited,
    RegqError,
    TransientError,
)
from shared.names import parse_domain, parse_hostname
from shared.registrydata.cache import LookupCache
from shared.registrydata.model import (
    DomainAnswer,
    DomainLookup,
    MissingPart,
    NameserverAddresses,
    Registration,
)
from shared.registrydata.rdap.bootstrap import NoRdapService
from shared.registrydata.singleflight import MemorySingleflight, Singleflight

T = TypeVar("T")


class RegistrationSource(Protocol):
    def domain(self, apex: str) -> DomainAnswer: ...


@runtime_checkable
class CompletingSource(Protocol):
    """A source whose answer may name a missing part (``DomainAnswer.missing``) it can fetch alone."""

    def complete(self, apex: str, answer: DomainAnswer) -> DomainAnswer: ...


class AddressSource(Protocol):
    def resolve(self, host: str) -> NameserverAddresses: ...


class IpRegistrantSource(Protocol):
    def ip_registrant(self, ip: str) -> str | None: ...


@dataclass(frozen=True)
class Wait:
    """Why a sub-step could not finish now, and when to ask again."""

    reason: str
    retry_after: float


def _wait_of(exc: RegqError) -> Wait | None:
    """A wait or a transient failure of a sub-step: a reason to answer partially (else None). A wait is
    our limiter's (Throttled) or a shared fetch's (the singleflight's FlightTimeout, LeaderFailed)."""
    if isinstance(exc, MustWait):
        return Wait(str(exc), exc.retry_after)
    if isinstance(exc, RateLimited):
        seconds = exc.retry_after if exc.retry_after is not None else defaults.LOOKUP_RETRY_AFTER_SECONDS
        return Wait(f"rate limited: {exc}", seconds)
    if isinstance(exc, TransientError):
        return Wait(f"unavailable: {exc}", float(defaults.LOOKUP_RETRY_AFTER_SECONDS))
    return None


def apex_of(name: str) -> tuple[str, str]:
    """``(domain, apex)``: the IDNA A-label form of ``name`` and its registrable part (eTLD+1)."""
    try:
        parsed = parse_domain(name)
    except ValueError as exc:
        raise JobValidationError([FieldProblem("domain", str(exc))]) from None
    apex = parsed.registrable
    if not apex:
        raise JobValidationError([FieldProblem("domain", f"{parsed.ascii} is a public suffix, not a domain")])
    return parsed.ascii, apex


class Pipeline:
    """The three lookups over their sources, the caches and the singleflight.

    ``fallback`` lists the errors of ``rdap`` after which ``whois`` is asked instead (no bootstrap entry,
    RDAP down)."""

    def __init__(
        self,
        rdap: RegistrationSource,
        whois: RegistrationSource,
        dns: AddressSource,
        ip_registrants: IpRegistrantSource,
        cache: LookupCache,
        flight: Singleflight | None = None,
        fallback: tuple[type[Exception], ...] = (NoRdapService, TransientError, ProtocolError),
    ) -> None:
        self.rdap, self.whois, self.dns, self.ips = rdap, whois, dns, ip_registrants
        self.cache = cache
        self.flight = flight or MemorySingleflight()  # this process only (``regq lookup``, tests)
        self.fallback = fallback

    # --- the three lookups -------------------------------------------------------------------------
    def lookup_domain(self, name: str) -> DomainLookup:
        domain, apex = apex_of(name)
        cached = self._cached(domain, apex)
        if cached is not None:
            return cached
        result = DomainLookup(domain=domain, apex=apex)
        waits: list[Wait] = []
        answer = _step(waits, lambda: self.registration(apex))
        if answer is None:
            return _partial(result, waits)
        result.registered = answer.registered
        result.registration = answer.registration
        if answer.missing is not None:  # a throttled registrar hop: what the registry said, and a retry
            waits.append(Wait(answer.missing.reason, answer.missing.retry_after))
        for host in answer.registration.nameservers if answer.registration else []:
            addresses = _step(waits, functools.partial(self.lookup_nameserver, host))
            result.nameservers.append(addresses or NameserverAddresses(host, []))
            for ip in addresses.ips if addresses else []:
                if ip not in result.ip_registrants:
                    holder = _step(waits, functools.partial(self._holder, ip))
                    if holder is not None:
                        result.ip_registrants[ip] = holder[0]
        if waits:
            return _partial(result, waits)
        if result.registered is not None:
            self.cache.put("domain", apex, result.to_dict(), negative=not result.registered)
        return result

    def cached_domain(self, name: str) -> DomainLookup | None:
        """The complete snapshot of ``name``'s apex if the cache holds one (no upstream, no wait)."""
        return self._cached(*apex_of(name))

    def cached_answer(self, name: str) -> dict[str, Any] | None:
        """:meth:`cached_domain` as the job result it is stored as (``DomainLookup.to_dict()``), for
        ``name``: the cached JSON as decoded, not rebuilt into a DomainLookup and back (the cache-hot
        lookup job's path, :meth:`shared.execution.runner.JobRunner.run`)."""
        domain, apex = apex_of(name)
        hit = self.cache.get("domain", apex)
        if hit is None:
            return None
        # A snapshot is only ever a complete answer: the defaults of a field an older writer left out.
        empty: dict[str, Any] = {"registered": None, "registration": None}
        final = {"domain": domain, "partial": False, "reason": None, "retry_after": None}
        return {**empty, "nameservers": [], "ip_registrants": {}, **hit.value, **final}

    def _cached(self, domain: str, apex: str) -> DomainLookup | None:
        hit = self.cache.get("domain", apex)
        return _snapshot(hit.value, domain) if hit is not None else None

    def registration(self, apex: str) -> DomainAnswer:
        """The registration data of ``apex`` (RDAP, else WHOIS), through the ``reg:`` cache. A cached
        answer with a missing part (a throttled registrar hop) is completed by asking only for that part.
        """

        def cached() -> dict[str, Any] | None:
            hit = self.cache.get("reg", apex)
            return dict(hit.value) if hit is not None else None

        def complete() -> dict[str, Any] | None:  # only a whole answer ends a flight without a fetch
            value = cached()
            return value if value is not None and not value.get("missing") else None

        def fetch() -> dict[str, Any]:
            known = cached()
            if known is not None and known.get("missing"):
                answer = self._complete_registration(apex, _answer(known))
            else:
                answer = self._fetch_registration(apex)
            value = _answer_dict(answer)
            if answer.registered is not None:
                self.cache.put("reg", apex, value, negative=not answer.registered)
            return value

        # The cache first (one GET); a flight's leader looks again (a flight may have just ended).
        value = complete() or self.flight.do(f"reg:{apex}", fetch, lookup=complete)
        return _answer(value)

    def _complete_registration(self, apex: str, answer: DomainAnswer) -> DomainAnswer:
        """The missing part of a cached answer, asked of the source that named it (RDAP or WHOIS)."""
        reg = answer.registration
        source = (self.rdap if reg.source == "rdap" else self.whois) if reg is not None else None
        if isinstance(source, CompletingSource):
            return source.complete(apex, answer)
        return self._fetch_registration(apex)  # a source that cannot complete: ask it all again

    def _fetch_registration(self, apex: str) -> DomainAnswer:
        try:
            return self.rdap.domain(apex)
        except self.fallback:
            return self.whois.domain(apex)

    def lookup_nameserver(self, host: str) -> NameserverAddresses:
        name = parse_hostname(host)

        def cached() -> dict[str, Any] | None:
            hit = self.cache.get_nameserver(name)
            return hit.to_dict() if hit is not None else None

        def fetch() -> dict[str, Any]:
            addresses = self.dns.resolve(name)
            self.cache.put_nameserver(addresses)
            return addresses.to_dict()

        value = cached() or self.flight.do(f"ns:{name}", fetch, lookup=cached)
        return NameserverAddresses(value["host"], list(value["ips"]))

    def _holder(self, ip: str) -> list[str | None]:
        return [self.lookup_ip_registrant(ip)]  # a list: None is an answer ("no holder known")

    def lookup_ip_registrant(self, ip: str) -> str | None:
        try:
            address = str(ipaddress.ip_address(ip.strip()))
        except ValueError:
            raise JobValidationError([FieldProblem("ip", f"{ip[:60]!r} is not an IP address")]) from None

        def cached() -> list[str | None] | None:  # [name] on a hit (name may be None), None on a miss
            hit = self.cache.get("ipreg", address)
            return [hit.value] if hit is not None else None

        def fetch() -> list[str | None]:
            try:
                name = self.ips.ip_registrant(address)
            except (NotFound, NoRdapService):  # no registry serves that address: nobody to name
                name = None
            self.cache.put("ipreg", address, name, negative=name is None)
            return [name]

        value = cached() or self.flight.do(f"ipreg:{address}", fetch, lookup=cached)
        return value[0]


def _step(waits: list[Wait], run: Callable[[], T]) -> T | None:
    """``run()``'s value; None, with the reason added to ``waits``, when it was throttled or down."""
    try:
        return run()
    except RegqError as exc:
        wait = _wait_of(exc)
        if wait is None:
            raise
        waits.append(wait)
        return None


def _partial(result: DomainLookup, waits: list[Wait]) -> DomainLookup:
    result.partial = True
    result.reason = "; ".join(dict.fromkeys(w.reason for w in waits))
    result.retry_after = max(w.retry_after for w in waits)
    return result


def _answer_dict(answer: DomainAnswer) -> dict[str, Any]:
    reg = answer.registration.to_dict() if answer.registration else None
    value: dict[str, Any] = {"registered": answer.registered, "registration": reg}
    if answer.missing is not None:
        value["missing"] = answer.missing.to_dict()
    return value


def _answer(value: dict[str, Any]) -> DomainAnswer:
    reg = value.get("registration")
    missing = value.get("missing")
    return DomainAnswer(
        value.get("registered"),
        Registration.from_dict(reg) if reg else None,
        MissingPart.from_dict(missing) if missing else None,
    )


def _snapshot(value: dict[str, Any], domain: str) -> DomainLookup:
    reg = value.get("registration")
    return DomainLookup(
        domain=domain,
        apex=value["apex"],
        registered=value.get("registered"),
        registration=Registration.from_dict(reg) if reg else None,
        nameservers=[NameserverAddresses(n["host"], list(n["ips"])) for n in value.get("nameservers", [])],
        ip_registrants=dict(value.get("ip_registrants", {})),
    )
