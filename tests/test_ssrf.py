"""The SSRF matrix (issue 14): every address form x every outbound path that takes a URL or a host from
outside, refused with OutboundRefused (naming why) unless REGQ_OUTBOUND_ALLOW_PRIVATE, and reached with it.

Address forms: the metadata address 169.254.169.254, 10/8, 172.16/12, 192.168/16, 100.64/10, ::1, fe80::,
::ffff:127.0.0.1, decimal and octal spellings of IPv4 literals (``2130706433``, ``0177.0.0.1``,
``2852039166``, ``012.0.0.1``: getaddrinfo reads them as inet_aton does, no DNS involved) and a name
resolving to loopback (``localhost`` from /etc/hosts on the HTTP paths, a resolver stub for WHOIS).

Paths: the Gandi and ROTLD gateways' base URL, a redirect (to another origin: always refused; to the same
name re-resolving inside: refused), an RDAP base URL from the bootstrap, an RDAP ``related`` link, IANA's
WHOIS referral and a thin registry's ``Registrar WHOIS Server``. "Reached" is checked at the socket: a
connector stub records the vetted address each connection was opened to and carries it to the sandbox
on loopback, so no packet ever leaves for 10.0.0.1 or 169.254.169.254.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import urllib3.util.connection

from sandbox import Sandbox
from sandbox.whois import WhoisSandbox
from shared.audit import MemoryAudit
from shared.errors import OutboundRefused
from shared.gateways import gateway_for
from shared.http import OutboundClient, OutboundPolicy
from shared.registrydata.rdap import RdapClient
from shared.registrydata.whois import WhoisClient
from shared.settings import Settings, load_settings
from shared.upstream import CallPolicy
from testkit.tls import server_context, throwaway_certificate
from tests.test_http_client import Answer, LocalServer

CTX = CallPolicy(job_key="ssrf", attempt=1)
PUBLIC = "93.184.216.34"  # what a stub resolver answers for a "public" name (never connected to)


@dataclass(frozen=True)
class Form:
    """``host``: how the target is spelled in a URL; ``address``: where a connection would really go."""

    id: str
    host: str
    address: str
    reason: str

    @property
    def spelled(self) -> bool:
        """Not a canonical literal: a name, or a decimal/octal spelling read by getaddrinfo."""
        return self.id.startswith(("name", "decimal", "octal"))


FORMS = [
    Form("metadata", "169.254.169.254", "169.254.169.254", "link-local"),
    Form("10/8", "10.0.0.1", "10.0.0.1", "private"),
    Form("172.16/12", "172.31.255.254", "172.31.255.254", "private"),
    Form("192.168/16", "192.168.0.1", "192.168.0.1", "private"),
    Form("100.64/10", "100.64.0.1", "100.64.0.1", "carrier-grade NAT"),
    Form("::1", "[::1]", "::1", "loopback"),
    Form("fe80::", "[fe80::1]", "fe80::1", "link-local"),
    Form("::ffff:127.0.0.1", "[::ffff:127.0.0.1]", "::ffff:7f00:1", "loopback"),
    Form("decimal-loopback", "2130706433", "127.0.0.1", "loopback"),
    Form("octal-loopback", "0177.0.0.1", "127.0.0.1", "loopback"),
    Form("decimal-metadata", "2852039166", "169.254.169.254", "link-local"),
    Form("octal-10/8", "012.0.0.1", "10.0.0.1", "private"),
    Form("name-to-loopback", "localhost", "127.0.0.1", "loopback"),
]
ALLOW = [pytest.param(False, id="refused"), pytest.param(True, id="allowed")]


def forms() -> list[Any]:
    return [pytest.param(f, id=f.id) for f in FORMS]


# --- fixtures: the sandbox, and a connector that records where each connection went ------------------
@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(gandi_config={"visibility_delay": 0}) as sb:
        yield sb


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every address the pinned HTTP connections open (urllib3's create_connection, which
    :mod:`shared.http.pinning` calls with the vetted address); each is carried to 127.0.0.1."""
    seen: list[str] = []

    def connect(address: tuple[str, int], timeout: Any = None, **kwargs: Any) -> socket.socket:
        seen.append(str(ipaddress.ip_address(address[0])))
        return socket.create_connection(
            ("127.0.0.1", address[1]), timeout if isinstance(timeout, float) else 5
        )

    monkeypatch.setattr(urllib3.util.connection, "create_connection", connect)
    return seen


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/", 1)[0])


def settings(allow: bool, **values: Any) -> Settings:
    base: dict[str, Any] = {
        "outbound_allow_private": allow,
        "gandi_token": "sandbox-token",
        "rotld_user": "sandbox-user",
        "rotld_password": "sandbox-pass",
        "http_tries": 1,
        "connect_timeout_seconds": 2.0,
        "read_timeout_seconds": 5.0,
        "rdap_rate": "1000/s",
        "rdap_burst": 100,
    }
    return load_settings(**{**base, **values})


def refused(form: Form, call: Callable[[], object]) -> None:
    """``call`` raises OutboundRefused naming the kind of address (and, for a name, what it resolved to)."""
    shown = f"{form.host} \\(resolves to {form.address}\\)" if form.spelled else ""
    with pytest.raises(OutboundRefused, match=f"{shown}.*a {form.reason}"):
        call()


# --- registrar gateways: the configured base URL --------------------------------------------------------
@dataclass(frozen=True)
class Registrar:
    """A registrar gateway under test: the setting naming its base URL, the path on the sandbox's."""

    provider: str
    setting: str
    path: str
    domain: str


REGISTRARS = [
    pytest.param(Registrar("gandi", "gandi_api_url", "/v5", "example.com"), id="gandi"),
    pytest.param(Registrar("rotld", "rotld_api_url", "", "example.ro"), id="rotld"),
]


@pytest.mark.parametrize("allow", ALLOW)
@pytest.mark.parametrize("form", forms())
@pytest.mark.parametrize("registrar", REGISTRARS)
def test_registrar_base_url(
    sb: Sandbox, connects: list[str], registrar: Registrar, form: Form, allow: bool
) -> None:
    url = f"http://{form.host}:{port_of(getattr(sb, registrar.provider + '_url'))}{registrar.path}"
    gw = gateway_for(registrar.provider, settings(allow, **{registrar.setting: url}), MemoryAudit())
    try:
        if not allow:
            refused(form, lambda: gw.check(registrar.domain, CTX))
            assert connects == [] and sum(sb.stats(registrar.provider)["by_operation"].values()) == 0
            return
        assert gw.check(registrar.domain, CTX).available is True
    finally:
        gw.close()
    if registrar.provider == "gandi":
        assert connects == [form.address]
    else:
        assert connects and set(connects) == {form.address}  # the Digest challenge and the answer


# --- redirects ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway certificate for ``api.example`` (a missing openssl fails the test, no skip)."""
    return throwaway_certificate(tmp_path_factory.mktemp("tls"), "api.example")


@pytest.fixture(scope="module")
def tls_server(certificate: tuple[Path, Path]) -> Iterator[LocalServer]:
    """The scripted local server, speaking TLS as ``api.example`` (https: the flag is not needed for it)."""
    server = LocalServer()
    server.server.socket = server_context(*certificate).wrap_socket(server.server.socket, server_side=True)
    yield server
    server.close()


@pytest.fixture
def local(tls_server: LocalServer) -> LocalServer:
    tls_server.server.routes.clear()
    tls_server.server.hits.clear()
    return tls_server


def stub_resolver(*answers: str) -> Callable[..., list[tuple[Any, ...]]]:
    """A getaddrinfo stand-in answering ``answers`` in turn (the last one repeats)."""
    queue = list(answers)

    def resolve(host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        address = queue.pop(0) if len(queue) > 1 else queue[0]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    return resolve


def redirect_client(allow: bool, resolver: Callable[..., Any], ca: Path) -> OutboundClient:
    policy = OutboundPolicy(
        frozenset({"api.example"}), allow_private=allow, ca_bundle=str(ca), resolver=resolver
    )
    return OutboundClient("ssrf", policy, MemoryAudit(), tries=1)


@pytest.mark.parametrize("allow", ALLOW)
@pytest.mark.parametrize("form", forms())
def test_a_redirect_to_an_inside_address_is_refused_even_with_the_flag(
    local: LocalServer, certificate: tuple[Path, Path], connects: list[str], form: Form, allow: bool
) -> None:
    """Cross-origin redirects are never followed: the flag opens private addresses, not other hosts."""
    local.script("/x", Answer(302, headers={"Location": f"http://{form.host}:{local.port}/inside"}))
    client = redirect_client(allow, stub_resolver(PUBLIC), certificate[0])
    with pytest.raises(OutboundRefused, match="another origin"):
        client.request("GET", f"https://api.example:{local.port}/x", operation="o", idempotent=True)
    client.close()
    assert [hit[1] for hit in local.hits] == ["/x"] and connects == [PUBLIC]


@pytest.mark.parametrize("allow", ALLOW)
@pytest.mark.parametrize("form", [pytest.param(f, id=f.id) for f in FORMS if not f.spelled])
def test_a_same_origin_redirect_whose_name_now_resolves_inside(
    local: LocalServer, certificate: tuple[Path, Path], connects: list[str], form: Form, allow: bool
) -> None:
    """The redirect's target is vetted again: the name re-resolving to an inside address is refused."""
    local.script("/x", Answer(302, headers={"Location": "/next"}))
    local.script("/next", Answer(200, b"{}"))
    # pre-flight and connect of the first request see a public address; the redirect's pre-flight, inside
    client = redirect_client(allow, stub_resolver(PUBLIC, PUBLIC, form.address), certificate[0])
    try:
        if not allow:
            with pytest.raises(
                OutboundRefused, match=f"api.example \\(resolves to {form.address}\\).*{form.reason}"
            ):
                client.request("GET", f"https://api.example:{local.port}/x", operation="o", idempotent=True)
            assert [hit[1] for hit in local.hits] == ["/x"]
            return
        answer = client.request("GET", f"https://api.example:{local.port}/x", operation="o", idempotent=True)
    finally:
        client.close()
    assert answer.status == 200 and [hit[1] for hit in local.hits] == ["/x", "/next"]


# --- RDAP: base URLs from the bootstrap, and ``related`` links --------------------------------------------
def bootstrap_dir(folder: Path, base: str) -> str:
    empty = {"version": "1.0", "publication": "2026-01-01T00:00:00Z", "services": []}
    dns = {**empty, "services": [[["com"], [base]]]}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dns.json").write_text(json.dumps(dns))
    (folder / "ipv4.json").write_text(json.dumps(empty))
    (folder / "ipv6.json").write_text(json.dumps(empty))
    return str(folder)


@pytest.mark.parametrize("allow", ALLOW)
@pytest.mark.parametrize("form", forms())
def test_rdap_base_url_from_the_bootstrap(
    sb: Sandbox, connects: list[str], tmp_path: Path, form: Form, allow: bool
) -> None:
    # https without the flag (plain http entries are skipped before any address check), http with it
    scheme = "http" if allow else "https"
    base = f"{scheme}://{form.host}:{port_of(sb.rdap_url)}/registry/"
    client = RdapClient(
        settings(allow, rdap_bootstrap_url=bootstrap_dir(tmp_path, base)), MemoryAudit(), None
    )
    try:
        if not allow:
            refused(form, lambda: client.domain("google.com"))
            assert connects == [] and sb.stats("rdap")["by_operation"]["registry_domain"] == 0
            return
        registration = client.domain("google.com").registration
    finally:
        client.close()
    assert registration is not None and registration.registrar == "MarkMonitor Inc."
    assert connects and set(connects) == {form.address}  # the registry and its related link (same host)


@pytest.mark.parametrize("allow", ALLOW)
@pytest.mark.parametrize("form", forms())
def test_rdap_related_link(sb: Sandbox, connects: list[str], tmp_path: Path, form: Form, allow: bool) -> None:
    """The registry is a trusted public server (a policy override); its answer's ``related`` link names
    the inside address: the hop is refused (the registry answer stands), or followed with the flag."""
    sb.configure("rdap", registrar_host=form.host)
    base = f"http://rdap.registry.example:{port_of(sb.rdap_url)}/registry/"
    registry = OutboundPolicy(allowed_hosts=None, allow_private=True, resolver=stub_resolver(PUBLIC))
    client = RdapClient(
        settings(allow, rdap_bootstrap_url=bootstrap_dir(tmp_path, base)),
        MemoryAudit(),
        None,
        policies={"rdap.registry.example": registry},
    )
    try:
        registration = client.domain("google.com").registration
        if not allow:  # the hop's refusal, as the client met it
            href = f"http://{form.host}:{port_of(sb.rdap_url)}/registrar/domain/google.com"
            refused(form, lambda: client.fetch(href, "related"))
    finally:
        client.close()
    assert registration is not None and registration.registrar == "MarkMonitor Inc."
    hops = sb.stats("rdap")["by_operation"]["registrar_domain"]
    if allow:
        assert hops == 1 and registration.registrant is not None
        assert connects == [PUBLIC, form.address]
    else:
        assert hops == 0 and registration.registrant is None and connects == [PUBLIC]


# --- WHOIS: IANA's referral and a thin registry's registrar server -----------------------------------------
INSIDE_NAME = "whois.inside.example"
CORP_RECORD = "Domain Name: intranet.corp\nRegistrar: Inside Registrar\nCreation Date: 2020-01-01T00:00:00Z\n"
THIN_RECORD = (
    "   Domain Name: INSIDE-REF.COM\n   Registrar WHOIS Server: whois.inside.example\n"
    "   Registrar: Example Registrar, Inc.\n   Creation Date: 2020-01-01T00:00:00Z\n"
    "   Registry Expiry Date: 2030-01-01T00:00:00Z\n"
)
REGISTRAR_RECORD = (
    "Domain Name: inside-ref.com\nRegistrar: Example Registrar, Inc.\nRegistrant Name: Inside Holder\n"
)


@pytest.fixture(scope="module")
def whois_server() -> Iterator[WhoisSandbox]:
    server = WhoisSandbox().start()
    yield server
    server.stop()


@pytest.fixture
def whois(whois_server: WhoisSandbox) -> WhoisSandbox:
    whois_server.reset()
    return whois_server


class WhoisNet:
    """Resolver and connector stubs: public names and ``INSIDE_NAME`` (-> the form's address) resolve as
    given; every connection is recorded by address and carried to a sandbox role on loopback."""

    def __init__(self, whois: WhoisSandbox, inside: str, inside_role: str) -> None:
        self.names = {
            "whois.iana.org": "9.9.9.9",
            "whois.verisign-grs.com": "9.9.9.10",
            INSIDE_NAME: inside,
        }
        self.routes = {
            "9.9.9.9": whois.address("whois.iana.org"),
            "9.9.9.10": whois.address("whois.verisign-grs.com"),
            inside: whois.address(inside_role),
        }
        self.connected: list[str] = []

    def resolve(self, host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        address = self.names.get(host)
        if address is None:
            raise socket.gaierror(socket.EAI_NONAME, "unknown name")
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    def connect(self, address: tuple[str, int], timeout: float) -> socket.socket:
        self.connected.append(address[0])
        return socket.create_connection(self.routes[address[0]], timeout)

    def client(self, allow: bool) -> WhoisClient:
        values = {"whois_iana_server": "whois.iana.org", "whois_servers": "", "outbound_allow_private": allow}
        return WhoisClient(
            load_settings(**values), None, resolver=self.resolve, connect=self.connect, read_deadline=3.0
        )


@pytest.mark.parametrize("allow", ALLOW)
@pytest.mark.parametrize("form", forms())
def test_whois_iana_referral(whois: WhoisSandbox, form: Form, allow: bool) -> None:
    """IANA refers the TLD to a server whose name resolves to the inside address."""
    whois.set_referral("corp", INSIDE_NAME)
    whois.add_record("whois.rotld.ro", "intranet.corp", CORP_RECORD)
    net = WhoisNet(whois, form.address, "whois.rotld.ro")
    if not allow:
        with pytest.raises(
            OutboundRefused, match=f"{INSIDE_NAME} \\(resolves to {form.address}\\).*{form.reason}"
        ):
            net.client(allow).domain("intranet.corp")
        assert net.connected == ["9.9.9.9"] and whois.stats()["queries"]["whois.rotld.ro"] == 0
        return
    answer = net.client(allow).domain("intranet.corp")
    assert answer.registration is not None and answer.registration.registrar == "Inside Registrar"
    assert net.connected == ["9.9.9.9", form.address]


@pytest.mark.parametrize("allow", ALLOW)
@pytest.mark.parametrize("form", forms())
def test_whois_thin_registry_registrar_server(whois: WhoisSandbox, form: Form, allow: bool) -> None:
    """Verisign's answer names a registrar server resolving inside: the hop is refused and the
    registry's answer stands, or with the flag the registrant comes from there."""
    whois.add_record("whois.verisign-grs.com", "inside-ref.com", THIN_RECORD)
    whois.add_record("whois.dreamhost.com", "inside-ref.com", REGISTRAR_RECORD)
    net = WhoisNet(whois, form.address, "whois.dreamhost.com")
    registration = net.client(allow).domain("inside-ref.com").registration
    assert registration is not None and registration.registrar == "Example Registrar, Inc."
    if allow:
        assert registration.registrant == "Inside Holder"
        assert net.connected == ["9.9.9.9", "9.9.9.10", form.address]
    else:
        assert registration.registrant is None and whois.stats()["queries"]["whois.dreamhost.com"] == 0
        assert net.connected == ["9.9.9.9", "9.9.9.10"]


@pytest.mark.parametrize("allow", ALLOW)
@pytest.mark.parametrize("literal", ["2130706433", "0177.0.0.1", "::1", "[::1]", "127.1"])
def test_a_whois_referral_that_is_no_host_name_is_never_followed(
    whois: WhoisSandbox, literal: str, allow: bool
) -> None:
    """A referral spelled as a bare number, an IPv6 literal or a short IPv4 form is not a WHOIS host
    name (servers.whois_host): nothing is asked there, with or without the flag."""
    whois.set_referral("corp", literal)
    net = WhoisNet(whois, "10.9.9.9", "whois.rotld.ro")
    assert net.client(allow).domain("intranet.corp").registered is None
    assert net.connected == ["9.9.9.9"]
