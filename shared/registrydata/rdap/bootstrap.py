"""The IANA RDAP bootstrap (RFC 9224): which RDAP servers answer for a domain or an IP address.

Three registries are used: ``dns.json``, ``ipv4.json``, ``ipv6.json``. Each is
``{"services": [[[entries...], [base URLs...]], ...], "publication", "version"}``.

* A domain matches by dropping its leftmost label until an entry matches (RFC 9224 4: the longest
  matching label sequence wins): ``www.example.co.uk`` tries ``www.example.co.uk``, ``example.co.uk``,
  ``co.uk``, ``uk``.
* An address matches the longest CIDR prefix that contains it (RFC 9224 5.1).
* Base URLs are given in the order listed (RFC 9224 3): the client tries them in that order, and skips
  plain ``http`` ones (ARIN and AFRINIC list both) that its outbound policy would refuse.

Where the registries come from (:class:`BootstrapSource`): REGQ_RDAP_BOOTSTRAP_URL naming a local
directory -> its three files, read as they are and never refreshed; else the copy that
:func:`~shared.registrydata.rdap.refresh.refresh_bootstrap` stored (a Redis key or a file, see that
module), else the snapshot packaged in ``snapshot/``.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from shared import defaults
from shared.errors import ConfigError, RegqError
from shared.registrydata.rdap.store import BootstrapStore
from shared.settings import Settings

FILES = ("dns.json", "ipv4.json", "ipv6.json")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class NoRdapService(RegqError):
    """The bootstrap lists no RDAP server for this domain or address: use WHOIS. No request was made."""

    code = "no_rdap_service"

    def __init__(self, query: str, registry: str) -> None:
        super().__init__(f"no RDAP service in the IANA bootstrap ({registry}) for {query!r}")
        self.query = query
        self.registry = registry


class BootstrapError(ValueError):
    """A bootstrap document is not what RFC 9224 describes."""


def _services(doc: Any, name: str) -> list[tuple[list[str], list[str]]]:
    if not isinstance(doc, dict) or not isinstance(doc.get("services"), list):
        raise BootstrapError(f"{name}: no 'services' list")
    out: list[tuple[list[str], list[str]]] = []
    for service in doc["services"]:
        # [entries, urls] (RFC 9224 3); the object-tags registry has a leading contact list: ignored here
        if not isinstance(service, list) or len(service) < 2:
            raise BootstrapError(f"{name}: a service is not [entries, urls]")
        entries, urls = service[-2], service[-1]
        if not (isinstance(entries, list) and isinstance(urls, list)):
            raise BootstrapError(f"{name}: a service is not [entries, urls]")
        clean = [u.strip() for u in urls if isinstance(u, str) and u.strip()]
        out.append(
            ([str(e).strip() for e in entries if str(e).strip()], [u.rstrip("/") + "/" for u in clean])
        )
    return out


@dataclass(frozen=True)
class Bootstrap:
    """The three registries, ready to match. ``origin`` says where they came from (for ``regq`` output)."""

    domains: Mapping[str, tuple[str, ...]]
    networks: tuple[tuple[Network, tuple[str, ...]], ...]  # longest prefix first
    origin: str = "snapshot"
    publication: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_documents(cls, docs: Mapping[str, Any], origin: str) -> Bootstrap:
        """Build from the decoded ``dns.json``, ``ipv4.json``, ``ipv6.json``; BootstrapError if malformed."""
        domains: dict[str, tuple[str, ...]] = {}
        for entries, urls in _services(docs.get("dns.json"), "dns.json"):
            for entry in entries:
                domains.setdefault(entry.lower().strip(".").encode("idna").decode("ascii"), tuple(urls))
        networks: list[tuple[Network, tuple[str, ...]]] = []
        for name in ("ipv4.json", "ipv6.json"):
            for entries, urls in _services(docs.get(name), name):
                for entry in entries:
                    try:
                        networks.append((ipaddress.ip_network(entry, strict=False), tuple(urls)))
                    except ValueError:
                        raise BootstrapError(f"{name}: {entry!r} is not a CIDR prefix") from None
        networks.sort(key=lambda item: item[0].prefixlen, reverse=True)
        publication = {
            name: str(doc.get("publication", "")) for name, doc in docs.items() if isinstance(doc, dict)
        }
        return cls(domains, tuple(networks), origin, publication)

    def domain_servers(self, name: str) -> list[str]:
        """Base URLs for ``name`` (an A-label domain), in the listed order; [] when none."""
        labels = name.strip().rstrip(".").lower().split(".")
        for start in range(len(labels)):
            urls = self.domains.get(".".join(labels[start:]))
            if urls:
                return list(urls)
        return []

    def ip_servers(self, address: str) -> list[str]:
        """Base URLs for ``address`` from the longest matching prefix; [] when none (or not an address)."""
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return []
        for network, urls in self.networks:
            if network.version == ip.version and ip in network:
                return list(urls)
        return []


@lru_cache(maxsize=1)
def packaged_snapshot() -> Bootstrap:
    """The snapshot shipped in the package (``snapshot/*.json``: IANA's files, sources in its SOURCES.md)."""
    folder = resources.files("shared.registrydata.rdap.snapshot")
    docs = {name: json.loads(folder.joinpath(name).read_text("utf-8")) for name in FILES}
    return Bootstrap.from_documents(docs, "snapshot")


def load_directory(path: str | Path) -> Bootstrap:
    """The three files of a local directory, as they are."""
    folder = Path(path)
    docs: dict[str, Any] = {}
    for name in FILES:
        try:
            docs[name] = json.loads((folder / name).read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(
                "REGQ_RDAP_BOOTSTRAP_URL", f"cannot read {name} in the directory ({type(exc).__name__})"
            ) from None
    try:
        return Bootstrap.from_documents(docs, f"directory {folder}")
    except BootstrapError as exc:
        raise ConfigError("REGQ_RDAP_BOOTSTRAP_URL", str(exc)) from None


def bootstrap_directory(settings: Settings) -> Path | None:
    """The local directory REGQ_RDAP_BOOTSTRAP_URL names (a path or a ``file://`` URL), else None (an
    http(s) base URL). A path that is not a directory is a ConfigError."""
    value = settings.rdap_bootstrap_url.strip()
    parts = urlsplit(value)
    if parts.scheme.lower() in ("http", "https"):
        return None
    path = Path(unquote(parts.path)) if parts.scheme.lower() == "file" else Path(value)
    if not path.is_dir():
        raise ConfigError("REGQ_RDAP_BOOTSTRAP_URL", "expected an http(s) base URL or a local directory")
    return path


def load_stored(store: BootstrapStore) -> Bootstrap | None:
    """The refreshed copy in ``store`` when all three files are there and well-formed, else None."""
    entries = {name: store.load(name) for name in FILES}
    if any(entry is None for entry in entries.values()):
        return None
    docs = {name: entry.document for name, entry in entries.items() if entry is not None}
    fetched = max(entry.fetched_at for entry in entries.values() if entry is not None)
    try:
        return Bootstrap.from_documents(docs, f"refreshed copy (fetched at {fetched:.0f})")
    except BootstrapError:
        return None


class BootstrapSource:
    """The bootstrap a process matches against now.

    A directory override is read once. Otherwise the stored refreshed copy (``store``, see
    :mod:`~shared.registrydata.rdap.refresh`) is looked at again every ``recheck_seconds``, so a
    long-running worker picks up the weekly refresh; the packaged snapshot stands in until one exists.
    """

    def __init__(
        self,
        settings: Settings,
        store: BootstrapStore | None = None,
        *,
        recheck_seconds: float = defaults.RDAP_BOOTSTRAP_RECHECK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.directory = bootstrap_directory(settings)
        self.store = store
        self.recheck_seconds = recheck_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._current: Bootstrap | None = None
        self._checked_at = 0.0

    def current(self) -> Bootstrap:
        with self._lock:
            if self._current is not None and (
                self.directory is not None or self.clock() - self._checked_at < self.recheck_seconds
            ):
                return self._current
            self._checked_at = self.clock()
            if self.directory is not None:
                self._current = load_directory(self.directory)
            else:
                self._current = self._stored() or self._current or packaged_snapshot()
            return self._current

    def _stored(self) -> Bootstrap | None:
        return load_stored(self.store) if self.store is not None else None

    def domain_servers(self, name: str) -> list[str]:
        return self.current().domain_servers(name)

    def ip_servers(self, address: str) -> list[str]:
        return self.current().ip_servers(address)
