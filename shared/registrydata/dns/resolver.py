"""The resolver: one dnspython ``Resolver`` per configuration, no cache of its own (the lookup caches are
the cache), no search list (a nameserver host is always absolute)."""

from __future__ import annotations

import ipaddress
import threading

import dns.exception
import dns.name
import dns.nameserver
import dns.rdatatype
import dns.resolver

from shared import defaults
from shared.errors import ConfigError, TransientError
from shared.registrydata.model import NameserverAddresses, host_name
from shared.settings import Settings, get_settings

PROVIDER = "dns"
NAMESERVERS_VARIABLE = "REGQ_DNS_NAMESERVERS"


def sort_addresses(ips: list[str]) -> list[str]:
    """Distinct addresses in canonical text, IPv4 before IPv6, each in numeric order."""
    parsed = {ipaddress.ip_address(ip) for ip in ips}
    return [str(ip) for ip in sorted(parsed, key=lambda ip: (ip.version, int(ip)))]


class DnsResolver:
    """A/AAAA lookups through ``nameservers`` (``[(ip, port)]``), or the system's when empty.

    ``timeout_seconds`` bounds each query (A, then AAAA) with every server and retry;
    ``try_timeout_seconds`` bounds one server's try within it. ConfigError when no nameserver is given
    and the system has no resolver configuration."""

    def __init__(
        self,
        nameservers: list[tuple[str, int]] | None = None,
        timeout_seconds: float = defaults.DNS_TIMEOUT_SECONDS,
        try_timeout_seconds: float = defaults.DNS_TRY_TIMEOUT_SECONDS,
    ) -> None:
        try:
            self._resolver = dns.resolver.Resolver(configure=not nameservers)
        except dns.resolver.NoResolverConfiguration:
            raise ConfigError(
                NAMESERVERS_VARIABLE, "no system resolver configured; set ip[:port],..."
            ) from None
        if nameservers:
            try:
                self._resolver.nameservers = [
                    dns.nameserver.Do53Nameserver(str(ipaddress.ip_address(ip)), port)
                    for ip, port in nameservers
                ]
            except ValueError:
                raise ConfigError(NAMESERVERS_VARIABLE, "each entry must be an IP address[:port]") from None
        self._resolver.cache = None
        self._resolver.search = []
        self._resolver.lifetime = timeout_seconds
        self._resolver.timeout = min(try_timeout_seconds, timeout_seconds)

    @property
    def nameservers(self) -> list[str]:
        """The servers asked, as ``ip:port`` (for messages and tests)."""
        return [f"{ns.address}:{ns.port}" for ns in self._resolver.nameservers]  # type: ignore[union-attr]

    def resolve(self, host: str) -> NameserverAddresses:
        """The addresses of ``host`` (see the package doc for NXDOMAIN, no answer, SERVFAIL, timeout)."""
        name = host_name(host)
        try:
            qname = dns.name.from_text(name)
        except (dns.exception.DNSException, UnicodeError):
            return NameserverAddresses(name, [])  # not a DNS name: nothing can resolve it
        ips: list[str] = []
        for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            found = self._query(name, qname, rdtype)
            if found is None:  # NXDOMAIN: the name does not exist at all, AAAA need not be asked
                return NameserverAddresses(name, [])
            ips.extend(found)
        return NameserverAddresses(name, sort_addresses(ips))

    def _query(self, name: str, qname: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> list[str] | None:
        """The addresses of one type ([] when the name has none of it); None for NXDOMAIN."""
        kind = dns.rdatatype.to_text(rdtype)
        try:
            answer = self._resolver.resolve(qname, rdtype, search=False, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            return None
        except dns.resolver.NoNameservers as exc:  # every server answered SERVFAIL/REFUSED or failed
            raise TransientError(f"{kind} {name}: no server answered ({exc})", provider=PROVIDER) from None
        except dns.exception.Timeout:
            raise TransientError(f"{kind} {name}: no answer in time", provider=PROVIDER) from None
        except dns.exception.DNSException as exc:  # YXDOMAIN, malformed answers, ...
            raise TransientError(f"{kind} {name}: {exc}", provider=PROVIDER) from None
        if answer.rrset is None:
            return []
        return [rdata.address for rdata in answer.rrset]


_resolvers: dict[tuple[tuple[tuple[str, int], ...], float], DnsResolver] = {}
_resolvers_lock = threading.Lock()


def resolver_for(settings: Settings) -> DnsResolver:
    """The resolver ``settings`` name (``REGQ_DNS_NAMESERVERS``, ``REGQ_DNS_TIMEOUT_SECONDS``), built once."""
    key = (tuple(settings.dns_nameservers), settings.dns_timeout_seconds)
    with _resolvers_lock:
        resolver = _resolvers.get(key)
        if resolver is None:
            resolver = _resolvers[key] = DnsResolver(list(key[0]), settings.dns_timeout_seconds)
        return resolver


def resolve(host: str, settings: Settings | None = None) -> NameserverAddresses:
    """The addresses of ``host`` through the resolver of ``settings`` (the environment's by default)."""
    return resolver_for(settings or get_settings()).resolve(host)
