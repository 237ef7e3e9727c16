"""Start both stand-ins in-process (:class:`Sandbox`) or drive running ones (:class:`SandboxClient`)."""

from __future__ import annotations

import json
import shutil
import tempfile
import urllib.error
import urllib.request
from types import TracebackType
from typing import Any

from sandbox.dns import DnsServer
from sandbox.gandi import GandiProvider, snapshot_tlds
from sandbox.httpbase import SandboxServer
from sandbox.rdap import RdapProvider, write_bootstrap
from sandbox.registry import GANDI, ROTLD_ACCOUNT, RegistryView
from sandbox.rotld import RotldProvider
from sandbox.stats import Stats
from sandbox.whois import REFERRALS, WhoisSandbox

PROVIDERS = ("gandi", "rotld")
DEFAULT_GANDI_TOKEN = "sandbox-token"
DEFAULT_ROTLD_USER = "sandbox-user"
DEFAULT_ROTLD_PASSWORD = "sandbox-pass"


class SandboxAdminError(RuntimeError):
    """An admin endpoint answered with an error."""


class SandboxClient:
    """Talks HTTP to the ``/_sandbox/*`` admin endpoints of both servers (any process)."""

    def __init__(
        self, gandi_admin: str, rotld_admin: str, timeout: float = 10.0, rdap_admin: str | None = None
    ) -> None:
        self.gandi_admin = gandi_admin.rstrip("/")
        self.rotld_admin = rotld_admin.rstrip("/")
        self.rdap_admin = rdap_admin.rstrip("/") if rdap_admin else None
        self.timeout = timeout

    def _names(self) -> tuple[str, ...]:
        return PROVIDERS + (("rdap",) if self.rdap_admin else ())

    def _base(self, provider: str) -> str:
        if provider == "gandi":
            return self.gandi_admin
        if provider == "rotld":
            return self.rotld_admin
        if provider == "rdap" and self.rdap_admin:
            return self.rdap_admin
        raise ValueError(f"provider must be one of {PROVIDERS}, got {provider!r}")

    def _call(self, provider: str, method: str, path: str, payload: Any = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        req = urllib.request.Request(
            f"{self._base(provider)}/_sandbox/{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data is not None else {},
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")
            raise SandboxAdminError(f"{provider} {method} /_sandbox/{path}: {exc.code} {detail}") from exc

    def stats(self, provider: str) -> dict[str, Any]:
        return self._call(provider, "GET", "stats")

    def reset(self, provider: str | None = None) -> None:
        """Clear state, stats and faults (and config back to startup) of one provider or both."""
        for name in (provider,) if provider else self._names():
            self._call(name, "POST", "reset", {})

    def set_faults(
        self, provider: str, rules: list[dict[str, Any]], seed: int | None = None
    ) -> dict[str, Any]:
        """Replace the fault rules (see :mod:`sandbox.faults`)."""
        return self._call(provider, "POST", "faults", {"rules": rules, "seed": seed})

    def get_faults(self, provider: str) -> dict[str, Any]:
        return self._call(provider, "GET", "faults")

    def clear_faults(self, provider: str | None = None) -> None:
        for name in (provider,) if provider else self._names():
            self._call(name, "DELETE", "faults")

    def seed_domains(self, provider: str, domains: list[dict[str, Any]]) -> list[str]:
        """Seed ``[{"fqdn", "owner": "us"|"other", "expires": "YYYY-MM-DD"}]``."""
        return self._call(provider, "POST", "domains", {"domains": domains})["seeded"]

    def domains(self, provider: str) -> list[dict[str, Any]]:
        """Every domain the stand-in knows (no secrets): fqdn, owner, expires, ends_at, nameservers..."""
        return self._call(provider, "GET", "domains")["domains"]

    def configure(self, provider: str, **settings: Any) -> dict[str, Any]:
        """Gandi: ``visibility_delay`` (seconds), ``create_status`` (201|202)."""
        return self._call(provider, "POST", "config", settings)

    def config(self, provider: str) -> dict[str, Any]:
        return self._call(provider, "GET", "config")


#: Addresses inside the networks the RDAP stand-in's RIR role answers for (sandbox/data/rdap/: APNIC
#: 1.1.1.0/24, RIPE 130.59.0.0/16, ARIN 13.64.0.0/11 and 2001:4860::/32).
LOOKUP_WORLD_ADDRESSES = ["1.1.1.1", "2001:4860:4860::8888", "130.59.31.80", "13.64.1.1"]


class Sandbox(SandboxClient):
    """Both stand-ins on 127.0.0.1 free ports, serving from daemon threads. A context manager."""

    def __init__(
        self,
        gandi_token: str = DEFAULT_GANDI_TOKEN,
        rotld_user: str = DEFAULT_ROTLD_USER,
        rotld_password: str = DEFAULT_ROTLD_PASSWORD,
        host: str = "127.0.0.1",
        gandi_port: int = 0,
        rotld_port: int = 0,
        gandi_config: dict[str, Any] | None = None,
        log_requests: bool = False,
    ) -> None:
        gandi_stats, rotld_stats = Stats(), Stats()
        gandi = GandiProvider(gandi_stats, gandi_token, gandi_config)
        rotld = RotldProvider(rotld_stats, rotld_user, rotld_password)
        self.gandi_server = SandboxServer((host, gandi_port), gandi, gandi_stats, log_requests)
        try:
            self.rotld_server = SandboxServer((host, rotld_port), rotld, rotld_stats, log_requests)
        except OSError:
            self.gandi_server.server_close()
            raise
        # The registries' view: what the registrar stand-ins register, RDAP and WHOIS answer for at once.
        self.registry = RegistryView([(rotld.store, ROTLD_ACCOUNT), (gandi.store, GANDI)])
        sold = {tld for tlds in snapshot_tlds().values() for tld in tlds}
        rdap_stats = Stats()
        # every TLD Gandi sells goes to the RDAP stand-in, but those WHOIS serves (.ro, .eu, .net, ...)
        rdap = self.rdap = RdapProvider(
            rdap_stats, registered=self.registry.rdap_object, tlds=sold - set(REFERRALS)
        )
        try:
            self.rdap_server = SandboxServer((host, 0), rdap, rdap_stats, log_requests)
        except OSError:
            self.gandi_server.server_close()
            self.rotld_server.server_close()
            raise
        # an IANA-style bootstrap naming the RDAP stand-in: REGQ_RDAP_BOOTSTRAP_URL=<rdap_bootstrap_dir>
        rdap_dir = tempfile.mkdtemp(prefix="regq-rdap-bootstrap-")
        write_bootstrap(rdap_dir, rdap, self.rdap_server.base_url)
        self.rdap_bootstrap_dir = rdap_dir
        super().__init__(
            self.gandi_server.base_url, self.rotld_server.base_url, rdap_admin=self.rdap_server.base_url
        )
        self.gandi_url = self.gandi_server.base_url + "/v5"
        self.rotld_url = self.rotld_server.base_url
        self.dns = DnsServer(host)  # A/AAAA for lookups: seed with self.dns.zone.seed({host: [ip]})
        self.whois = WhoisSandbox(host, self.registry.whois_text)  # WHOIS on TCP, one port per server role
        self._started = False

    @property
    def dns_address(self) -> tuple[str, int]:
        """(ip, port) of the DNS stand-in, UDP and TCP (for REGQ_DNS_NAMESERVERS: dns.nameservers_setting)."""
        return self.dns.address

    @property
    def whois_address(self) -> str:
        """The WHOIS stand-in's IANA role, ``host:port`` (REGQ_WHOIS_IANA_SERVER); REGQ_WHOIS_SERVERS is
        ``self.whois.servers_setting`` (the port of every registry and registrar role)."""
        return self.whois.iana_address

    @property
    def rdap_url(self) -> str:
        """Base URL of the RDAP stand-in (registry/, registrar/, rir/, bootstrap/ beneath it)."""
        return self.rdap_server.base_url

    def urls(self) -> dict[str, str]:
        """Where everything listens, and the REGQ_* values that send a fleet's lookups here."""
        return {
            "gandi_url": self.gandi_url,
            "rotld_url": self.rotld_url,
            "gandi_admin": self.gandi_admin,
            "rotld_admin": self.rotld_admin,
            "rdap_url": self.rdap_url,
            "rdap_bootstrap_dir": self.rdap_bootstrap_dir,
            "whois_iana_server": self.whois_address,
            "whois_servers": self.whois.servers_setting,
            "dns_nameservers": self.dns.nameservers_setting,
        }

    def seed_lookup_world(self) -> dict[str, list[str]]:
        """Give the DNS stand-in the nameservers of every domain the RDAP stand-in holds, at addresses its
        RIR role knows (APNIC, RIPE, ARIN networks from the real answers), so a lookup runs end to end:
        registry -> nameserver addresses -> who holds them."""
        cycle = iter(LOOKUP_WORLD_ADDRESSES * 100)
        seeded: dict[str, list[str]] = {}
        for obj in self.rdap.domain_objects():
            seeded.update(self.dns.zone.seed_rdap(obj, fill=lambda _host: [next(cycle), next(cycle)]))
        return seeded

    def start(self) -> Sandbox:
        if not self._started:
            self.gandi_server.start()
            self.rotld_server.start()
            self.rdap_server.start()
            self.dns.start()
            self.whois.start()
            self._started = True
        return self

    def close(self) -> None:
        self.gandi_server.stop()
        self.rotld_server.stop()
        self.rdap_server.stop()
        shutil.rmtree(self.rdap_bootstrap_dir, ignore_errors=True)
        self.dns.stop()
        self.whois.stop()
        self._started = False

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
