"""The outbound policy: which hosts regq may call, over which scheme, to which kinds of address.

Every request is checked before it is sent (:func:`check_url`): the URL's host must be on the allowlist
(derived from the configured base URL, :func:`policy_for`), the scheme must be ``https`` (plain ``http``
only with ``allow_private``, for the sandbox and tests), the URL must carry no user-info, and every address
the host resolves to must be a public unicast address unless ``allow_private``. IP literals are checked the
same way, so ``169.254.169.254`` or ``10.0.0.1`` are refused even if configured.

DNS rebinding: checking a name and then letting the HTTP library resolve it again leaves a gap (the second
answer may be ``127.0.0.1``). :mod:`shared.http.pinning` closes it: the connection itself resolves, vets
the addresses with :func:`vetted_addresses` and connects to a vetted IP, keeping the original name for the
``Host`` header, SNI and certificate checks. The check in :func:`check_url` is kept as a pre-flight for a
clear early error (and for requests that reuse a pooled keep-alive connection).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, urlsplit

from shared import defaults
from shared.errors import OutboundRefused
from shared.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., Sequence[tuple[Any, ...]]]

#: Carrier-grade NAT (RFC 6598): not "private" to :mod:`ipaddress`, but never a registrar.
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


@dataclass(frozen=True)
class OutboundPolicy:
    """What one client may reach. ``resolver`` is ``socket.getaddrinfo`` (replaceable in tests).

    ``allowed_hosts`` None: any host whose addresses pass the vetting (RDAP servers named by the IANA
    bootstrap or a ``related`` link); the scheme and address checks still apply to every request."""

    allowed_hosts: frozenset[str] | None
    allow_private: bool = False
    connect_timeout: float = defaults.CONNECT_TIMEOUT_SECONDS
    read_timeout: float = defaults.READ_TIMEOUT_SECONDS
    max_bytes: int = defaults.MAX_RESPONSE_BYTES
    #: a CA bundle (PEM file) to verify the upstream with instead of the system's (a private CA);
    #: verification itself is never turned off
    ca_bundle: str | None = None
    #: the whole answer (status line, headers, body) must arrive within this, however it trickles
    read_deadline: float = defaults.READ_DEADLINE_SECONDS
    resolver: Resolver = field(default=socket.getaddrinfo, compare=False, repr=False)

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)


def normalize_host(host: str) -> str:
    """Lower-case, no trailing dot, no IPv6 brackets."""
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host


def policy_for(
    base_url: str, settings: Settings, *, max_bytes: int | None = None, ca_bundle: str | None = None
) -> OutboundPolicy:
    """The policy for a client of ``base_url``: its host is the only allowed one."""
    host = urlsplit(base_url).hostname
    if not host:
        raise OutboundRefused(f"base URL {_safe_url(base_url)!r} has no host")
    return OutboundPolicy(
        allowed_hosts=frozenset({normalize_host(host)}),
        allow_private=settings.outbound_allow_private,
        connect_timeout=settings.connect_timeout_seconds,
        read_timeout=settings.read_timeout_seconds,
        read_deadline=settings.read_deadline_seconds,
        max_bytes=max_bytes or defaults.MAX_RESPONSE_BYTES,
        ca_bundle=ca_bundle,
    )


def address_problem(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public unicast address (None when it is)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return address_problem(ip.ipv4_mapped)
    checks = (
        (ip.is_unspecified, "an unspecified"),
        (ip.is_loopback, "a loopback"),
        (ip.is_link_local, "a link-local"),
        (ip.is_multicast, "a multicast"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT, "a carrier-grade NAT (100.64/10)"),
        (ip.is_reserved, "a reserved"),
        (ip.is_private, "a private"),
        (not ip.is_global, "a non-global"),
    )
    for hit, kind in checks:
        if hit:
            return f"{kind} address"
    return None


def _parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def vetted_addresses(host: str, port: int, policy: OutboundPolicy) -> list[str]:
    """Resolve ``host`` and return its addresses, all vetted; OutboundRefused if any is not allowed.

    Raises ``socket.gaierror`` when the name does not resolve (the caller maps it to "not sent").
    """
    host = normalize_host(host)
    literal = _parse_ip(host)
    if literal is not None:
        found = [str(literal)]
    else:
        infos = policy.resolver(host, port, type=socket.SOCK_STREAM)
        found = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not found:
            raise socket.gaierror(socket.EAI_NONAME, "no address")
    if not policy.allow_private:
        for text in found:
            ip = _parse_ip(text)
            problem = "an unparsable address" if ip is None else address_problem(ip)
            if problem:
                shown = host if literal is not None else f"{host} (resolves to {text})"
                raise OutboundRefused(f"refusing {shown}: {problem}; only public addresses are allowed")
    return found


def check_url(url: str, policy: OutboundPolicy) -> SplitResult:
    """Check scheme, user-info, allowlist and addresses of ``url``; return it split. Never resolves twice."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise OutboundRefused(f"malformed URL {_safe_url(url)!r}") from None
    host = normalize_host(parts.hostname or "")
    if not host:
        raise OutboundRefused(f"URL {_safe_url(url)!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise OutboundRefused("URLs with user-info are refused (credentials go in headers)")
    if policy.allowed_hosts is not None and host not in policy.allowed_hosts:
        allowed = ", ".join(sorted(policy.allowed_hosts))
        raise OutboundRefused(f"host {host!r} is not on the allowlist ({allowed})")
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise OutboundRefused(f"scheme {scheme!r} is refused; https only")
    vetted_addresses(host, port or (443 if scheme == "https" else 80), policy)
    if scheme == "http" and not policy.allow_private:
        raise OutboundRefused("plain http is refused; https only (http needs REGQ_OUTBOUND_ALLOW_PRIVATE)")
    return parts


def same_origin(a: SplitResult, b: SplitResult) -> bool:
    def origin(p: SplitResult) -> tuple[str, str, int | None]:
        scheme = p.scheme.lower()
        return scheme, normalize_host(p.hostname or ""), p.port or (443 if scheme == "https" else 80)

    return origin(a) == origin(b)


def _safe_url(url: str) -> str:
    """A URL for a message: scheme, host and path only (no user-info, query or fragment)."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname or ''}{parts.path}"[:200]
    except ValueError:
        return "<unparsable URL>"
