"""The lookup caches' interface: three granularities (and the registration answer of a domain), a TTL
each, short negative entries, JSON values.

=========  ===================  ==========================================  ============================
kind       key                  value (JSON)                                negative ("not found")
=========  ===================  ==========================================  ============================
domain     apex (eTLD+1)        a complete ``DomainLookup.to_dict()``       the domain is not registered
ns         nameserver host      ``NameserverAddresses.to_dict()``           NXDOMAIN / no A or AAAA
ipreg      IP address           the registrant's name (a string)            no registrant known (null)
reg        apex (eTLD+1)        the RDAP/WHOIS answer (domain TTL)          the domain is not registered
=========  ===================  ==========================================  ============================

A positive entry lives its kind's TTL, a negative one ``negative`` seconds (both from settings). Keys are
normalised here (host names lower case without a trailing dot, addresses in canonical text), so callers
may pass them as they come. Backends only store text under a key with an expiry.
"""

from __future__ import annotations

import ipaddress
import json
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from shared import defaults
from shared.registrydata.model import NameserverAddresses, host_name
from shared.settings import Settings

Kind = Literal["domain", "ns", "ipreg", "reg"]
#: ``reg:<apex>`` holds a domain's registration answer (RDAP/WHOIS) as soon as it is known, with the
#: domain TTL, so a partial lookup's retry does not ask the registry again.
KINDS: tuple[Kind, ...] = ("domain", "ns", "ipreg", "reg")


@dataclass(frozen=True)
class CacheTTLs:
    """Seconds an entry lives, per kind, and for every negative entry."""

    domain: float = defaults.LOOKUP_DOMAIN_TTL_SECONDS
    ns: float = defaults.LOOKUP_NS_TTL_SECONDS
    ipreg: float = defaults.LOOKUP_IPREG_TTL_SECONDS
    negative: float = defaults.LOOKUP_NEGATIVE_TTL_SECONDS

    def __post_init__(self) -> None:
        for name in ("domain", "ns", "ipreg", "negative"):
            if not getattr(self, name) > 0:
                raise ValueError(f"cache TTL {name} must be positive, got {getattr(self, name)!r}")

    @classmethod
    def from_settings(cls, settings: Settings) -> CacheTTLs:
        return cls(
            domain=settings.lookup_domain_ttl_seconds,
            ns=settings.lookup_ns_ttl_seconds,
            ipreg=settings.lookup_ipreg_ttl_seconds,
            negative=settings.lookup_negative_ttl_seconds,
        )

    def for_entry(self, kind: Kind, negative: bool) -> float:
        return self.negative if negative else float(getattr(self, "domain" if kind == "reg" else kind))


@dataclass(frozen=True)
class Cached:
    """A cache hit: the stored JSON ``value``, whether it is a ``negative`` (not found) entry, and when it
    was stored (``time.time()``)."""

    value: Any
    negative: bool
    stored_at: float


def normalise_key(kind: Kind, key: str) -> str:
    """The key as stored: a host name for domain/ns/reg, a canonical address for ipreg (else ValueError)."""
    if kind == "ipreg":
        return str(ipaddress.ip_address(key.strip()))
    if kind in ("domain", "ns", "reg"):
        return host_name(key)
    raise ValueError(f"cache kind must be one of {KINDS}, got {kind!r}")


def encode(value: Any, negative: bool) -> str:
    return json.dumps({"value": value, "negative": negative, "stored_at": time.time()}, separators=(",", ":"))


def decode(text: str) -> Cached:
    data = json.loads(text)
    return Cached(data["value"], bool(data["negative"]), float(data["stored_at"]))


class LookupCache(ABC):
    """``domain:<apex>``, ``ns:<host>``, ``ipreg:<ip>`` entries with their TTLs (:class:`CacheTTLs`)."""

    def __init__(self, ttls: CacheTTLs) -> None:
        self.ttls = ttls

    # --- what backends store ----------------------------------------------------------------------
    @abstractmethod
    def _read(self, keys: list[str]) -> list[str | None]:
        """The stored text of each ``kind:key`` (None when absent or expired), in one round trip."""

    @abstractmethod
    def _write(self, key: str, text: str, ttl_seconds: float) -> None:
        """Store ``text`` under ``kind:key`` for ``ttl_seconds``, replacing what was there."""

    @abstractmethod
    def _remove(self, key: str) -> None:
        """Forget ``kind:key``."""

    # --- the interface ----------------------------------------------------------------------------
    def get(self, kind: Kind, key: str) -> Cached | None:
        """The live entry for ``key``, or None."""
        return self.get_many(kind, [key]).get(normalise_key(kind, key))

    def get_many(self, kind: Kind, keys: Iterable[str]) -> dict[str, Cached]:
        """The live entries among ``keys`` (one round trip), by normalised key; misses are left out."""
        names = list(dict.fromkeys(normalise_key(kind, k) for k in keys))
        if not names:
            return {}
        texts = self._read([f"{kind}:{name}" for name in names])
        return {name: decode(text) for name, text in zip(names, texts, strict=True) if text is not None}

    def put(self, kind: Kind, key: str, value: Any, *, negative: bool = False) -> None:
        """Store the JSON-serialisable ``value``: for the kind's TTL, or the negative TTL if ``negative``."""
        self._write(
            f"{kind}:{normalise_key(kind, key)}", encode(value, negative), self.ttls.for_entry(kind, negative)
        )

    def delete(self, kind: Kind, key: str) -> None:
        self._remove(f"{kind}:{normalise_key(kind, key)}")

    # --- nameserver addresses, typed ----------------------------------------------------------------
    def get_nameserver(self, host: str) -> NameserverAddresses | None:
        """The cached addresses of ``host`` (empty ``ips``: a cached NXDOMAIN/no address), or None."""
        hit = self.get("ns", host)
        if hit is None:
            return None
        return NameserverAddresses(hit.value["host"], list(hit.value["ips"]))

    def put_nameserver(self, addresses: NameserverAddresses) -> None:
        """Cache a resolution; one without addresses is a negative entry (short TTL)."""
        self.put("ns", addresses.host, addresses.to_dict(), negative=not addresses.ips)
