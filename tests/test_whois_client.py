"""WhoisClient against the sandbox WHOIS server over real TCP: referrals, thin merge, overrides, query
syntax, encodings, the outbound policy, timeouts, size cap, throttling and the guard."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.whois import WhoisSandbox
from shared.errors import (
    NotSentError,
    OutboundRefused,
    ProtocolError,
    RateLimited,
    ResponseTooLarge,
    Throttled,
    TransientError,
)
from shared.ratelimit.memory import MemoryLimiter
from shared.registrydata.whois import WhoisClient
from shared.settings import Settings, load_settings
from shared.upstream import CallPolicy, LimiterGuard


@pytest.fixture(scope="module")
def server() -> Iterator[WhoisSandbox]:
    sandbox = WhoisSandbox().start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def whois(server: WhoisSandbox) -> WhoisSandbox:
    server.reset()
    return server


def settings_for(server: WhoisSandbox, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "whois_iana_server": server.iana_address,
        "whois_servers": server.servers_setting,
        "outbound_allow_private": True,
        "connect_timeout_seconds": 2.0,
    }
    values.update(overrides)
    return load_settings(**values)


class RecordingGuard:
    """A limiter guard that records every call and can refuse hosts (as the shared limiter would)."""

    def __init__(self, refuse: set[str] | None = None) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.refuse = refuse or set()

    def before_request(self, provider: str, operation: str) -> None:
        self.calls.append(("before", provider, operation))
        if provider in self.refuse:
            raise Throttled(provider, 12.0)

    def after_response(self, provider: str, status: int | None, retry_after: float | None) -> None:
        self.calls.append(("after", provider, str(status), str(retry_after)))

    def before_retry(self, provider: str, operation: str) -> None:  # pragma: no cover - never retried
        raise AssertionError("WHOIS queries are not retried inside a call")


def client(server: WhoisSandbox, guard: Any = None, **kwargs: Any) -> WhoisClient:
    settings = settings_for(server, **kwargs.pop("settings", {}))
    kwargs.setdefault("read_deadline", 3.0)
    return WhoisClient(settings, CallPolicy(guard), **kwargs)


# --- referrals and registries ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("domain", "registry", "registrar"),
    [("google.ro", "whois.rotld.ro", "MarkMonitor Inc."), ("eurid.eu", "whois.eu", "EURid vzw")],
)
def test_iana_referral_then_registry(whois: WhoisSandbox, domain: str, registry: str, registrar: str) -> None:
    answer = client(whois).domain(domain)
    assert answer.registered is True and answer.registration is not None
    assert answer.registration.server == registry
    assert answer.registration.registrar == registrar
    stats = whois.stats()
    assert stats["queries"]["whois.iana.org"] == 1 and stats["queries"][registry] == 1
    assert stats["raw"]["whois.iana.org"] == [domain.rsplit(".", 1)[1]]
    assert stats["raw"][registry] == [domain]


def test_referral_is_asked_once_per_tld(whois: WhoisSandbox) -> None:
    c = client(whois)
    assert c.domain("google.ro").registered is True
    assert c.domain("nothere.ro").registered is False
    assert whois.stats()["queries"]["whois.iana.org"] == 1
    assert whois.stats()["queries"]["whois.rotld.ro"] == 2


@pytest.mark.parametrize("domain", ["nothere.ro", "nothere.eu", "nothere.de", "u34jedzcq.com"])
def test_not_found_is_registered_false(whois: WhoisSandbox, domain: str) -> None:
    answer = client(whois).domain(domain)
    assert answer.registered is False and answer.registration is None


def test_tld_without_whois_is_unknown(whois: WhoisSandbox) -> None:
    answer = client(whois).domain("example.eh")  # IANA's real "Not assigned" answer: no refer line
    assert answer.registered is None
    assert whois.stats()["queries"]["whois.iana.org"] == 1


# --- thin registries -----------------------------------------------------------------------------------
def test_thin_registry_then_registrar_merge(whois: WhoisSandbox) -> None:
    answer = client(whois).domain("shazow.net")
    registration = answer.registration
    assert answer.registered is True and registration is not None
    assert registration.server == "whois.verisign-grs.com"
    assert registration.registrar == "NEW DREAM NETWORK, LLC"  # the registry's
    assert registration.registrant == "shazow.net Private Registrant"  # only the registrar has it
    assert registration.nameservers == ["ns1.dreamhost.com", "ns2.dreamhost.com", "ns3.dreamhost.com"]
    queries = whois.stats()["queries"]
    assert queries["whois.verisign-grs.com"] == 1 and queries["whois.dreamhost.com"] == 1


def test_failed_registrar_hop_leaves_the_registry_answer(whois: WhoisSandbox) -> None:
    answer = client(whois).domain("urlowl.com")  # whois.dynadot.com closes without answering
    assert answer.registered is True and answer.registration is not None
    assert answer.registration.registrar == "DYNADOT, LLC"
    assert answer.registration.registrant is None
    assert whois.stats()["queries"]["whois.dynadot.com"] == 1


@pytest.mark.parametrize(("text", "wait"), [("namecom", 60.0), ("uk", 50.0), ("nl", 1.0)])
def test_throttled_registrar_hop_is_partial_then_completes_with_only_that_query(
    whois: WhoisSandbox, text: str, wait: float
) -> None:
    """The issue's third case: the registrar's quota answer is no complete result but a missing part."""
    whois.set_faults([{"server": "whois.dreamhost.com", "kind": "throttle", "text": text, "count": 1}])
    guard = RecordingGuard()
    c = client(whois, guard)
    answer = c.domain("shazow.net")
    assert answer.registered is True and answer.registration is not None
    assert answer.registration.registrar == "NEW DREAM NETWORK, LLC"  # the registry's part is kept
    assert answer.registration.registrant is None  # only the registrar has it
    missing = answer.missing
    assert missing is not None and missing.part == "registrar" and missing.server == "whois.dreamhost.com"
    assert missing.retry_after == wait and "whois.dreamhost.com rate limited" in missing.reason
    assert ("after", "whois.dreamhost.com", "429", str(wait)) in guard.calls
    before = whois.stats()["queries"]

    done = c.complete("shazow.net", answer)
    assert done.missing is None and done.registration is not None
    assert done.registration.registrant == "shazow.net Private Registrant"
    after = whois.stats()["queries"]
    assert {role: after[role] - before[role] for role in after if after[role] != before[role]} == {
        "whois.dreamhost.com": 1  # only the missing request: no IANA, no registry query
    }


def test_registrar_hop_held_back_by_our_limiter_is_partial(whois: WhoisSandbox) -> None:
    guard = RecordingGuard(refuse={"whois.dreamhost.com"})
    answer = client(whois, guard).domain("shazow.net")
    assert answer.missing is not None and answer.missing.retry_after == 12.0
    assert "not asked" in answer.missing.reason
    assert whois.stats()["queries"]["whois.dreamhost.com"] == 0


def test_completing_a_whole_answer_asks_nothing(whois: WhoisSandbox) -> None:
    c = client(whois)
    answer = c.domain("shazow.net")
    before = sum(whois.stats()["queries"].values())
    assert c.complete("shazow.net", answer) == answer and answer.missing is None
    assert sum(whois.stats()["queries"].values()) == before


def test_thick_registry_is_not_followed(whois: WhoisSandbox) -> None:
    whois.add_record(
        "whois.rotld.ro", "thick.ro", "Domain Name: thick.ro\nRegistrar: X\nWhois Server: whois.eu\n"
    )
    assert client(whois).domain("thick.ro").registered is True
    assert whois.stats()["queries"]["whois.eu"] == 0


# --- overrides and query syntax --------------------------------------------------------------------------
def test_tld_override_skips_iana(whois: WhoisSandbox) -> None:
    host, port = whois.address("whois.rotld.ro")
    c = client(whois, settings={"whois_servers": f"ro={host}:{port}"})
    answer = c.domain("google.ro")
    assert answer.registered is True and answer.registration is not None
    assert answer.registration.server == host  # the target of a TLD override names the server
    assert whois.stats()["queries"]["whois.iana.org"] == 0


def test_host_override_redirects_a_referral(whois: WhoisSandbox) -> None:
    host, port = whois.address("whois.rotld.ro")
    c = client(whois, settings={"whois_servers": f"whois.eu={host}:{port}"})
    assert c.domain("eurid.eu").registered is False  # asked at the ROTLD role, which does not know it
    assert whois.stats()["queries"]["whois.eu"] == 0
    assert whois.stats()["raw"]["whois.rotld.ro"] == ["eurid.eu"]


def test_denic_and_jprs_query_syntax(whois: WhoisSandbox) -> None:
    c = client(whois)
    assert c.domain("google.de").registered is True
    assert c.domain("yahoo.co.jp").registered is True
    raw = whois.stats()["raw"]
    assert raw["whois.denic.de"] == ["-T dn,ace -C UTF-8 google.de"]
    assert raw["whois.jprs.jp"] == ["yahoo.co.jp/e"]


def test_denic_syntax_through_a_tld_override(whois: WhoisSandbox) -> None:
    host, port = whois.address("whois.denic.de")
    assert client(whois, settings={"whois_servers": f"de={host}:{port}"}).domain("google.de").registered
    assert whois.stats()["raw"]["whois.denic.de"] == ["-T dn,ace -C UTF-8 google.de"]


# --- encodings -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "faults", [[], [{"server": "whois.rotld.ro", "kind": "latin1"}]], ids=["utf8", "latin1"]
)
def test_utf8_and_latin1_answers(whois: WhoisSandbox, faults: list[dict[str, Any]]) -> None:
    whois.add_record(
        "whois.rotld.ro", "societe.ro", "Domain Name: societe.ro\nRegistrar: Société Générale SRL\n"
    )
    whois.set_faults(faults)
    registration = client(whois).domain("societe.ro").registration
    assert registration is not None and registration.registrar == "Société Générale SRL"
    assert whois.stats()["faults_injected"].get("latin1", 0) == len(faults)


# --- outbound policy ------------------------------------------------------------------------------------
def test_loopback_refused_without_the_allow_flag(whois: WhoisSandbox) -> None:
    c = client(whois, settings={"outbound_allow_private": False})
    with pytest.raises(OutboundRefused):
        c.domain("google.ro")
    assert sum(whois.stats()["queries"].values()) == 0


def test_private_referral_refused_and_connections_go_to_vetted_addresses(whois: WhoisSandbox) -> None:
    """Public names (a fake resolver) reach the sandbox through a fake connector; IANA's referral to a
    name resolving to 10.1.2.3 is refused before any connection, and every connection went to the
    address vetted for its name (no second lookup)."""
    iana_port = whois.address("whois.iana.org")[1]
    names = {"whois.iana.org": "9.9.9.9", "whois.internal.example": "10.1.2.3"}
    resolved: list[str] = []
    connected: list[tuple[str, int]] = []

    def resolver(host: str, port: int, type: int = 0) -> list[tuple[Any, ...]]:
        resolved.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (names[host], port))]

    def connect(address: tuple[str, int], timeout: float) -> socket.socket:
        connected.append(address)
        assert address == ("9.9.9.9", 43)
        return socket.create_connection(("127.0.0.1", iana_port), timeout)

    whois.set_referral("corp", "whois.internal.example")
    settings = settings_for(
        whois, whois_iana_server="whois.iana.org", whois_servers="", outbound_allow_private=False
    )
    c = WhoisClient(settings, None, resolver=resolver, connect=connect, read_deadline=3.0)
    with pytest.raises(OutboundRefused, match="10.1.2.3"):
        c.domain("intranet.corp")
    assert connected == [("9.9.9.9", 43)]  # IANA only, at its vetted address
    assert resolved == ["whois.iana.org", "whois.internal.example"]
    assert whois.stats()["queries"]["whois.iana.org"] == 1


# --- timeouts, size, broken answers ----------------------------------------------------------------------
def test_silent_server_times_out_at_the_deadline(whois: WhoisSandbox) -> None:
    whois.set_faults([{"server": "whois.rotld.ro", "kind": "timeout", "seconds": 30}])
    started = time.monotonic()
    with pytest.raises(TransientError):
        client(whois, read_deadline=0.5).domain("google.ro")
    assert time.monotonic() - started < 3.0


def test_trickling_answer_is_cut_at_the_whole_answer_deadline(whois: WhoisSandbox) -> None:
    # 8 bytes every 50 ms: every recv gets data well within any per-recv timeout, the whole would take ~20 s
    whois.set_faults([{"server": "whois.eu", "kind": "trickle", "bytes": 8, "interval": 0.05}])
    started = time.monotonic()
    with pytest.raises(TransientError, match="no complete answer within"):
        client(whois, read_deadline=0.6).domain("eurid.eu")
    assert time.monotonic() - started < 3.0


def test_slow_answer_within_the_deadline_is_read(whois: WhoisSandbox) -> None:
    whois.set_faults([{"server": "whois.rotld.ro", "kind": "trickle", "bytes": 256, "interval": 0.01}])
    assert client(whois, read_deadline=5.0).domain("google.ro").registered is True


def test_oversized_answer_is_refused(whois: WhoisSandbox) -> None:
    whois.set_faults([{"server": "whois.rotld.ro", "kind": "oversized", "bytes": 300_000}])
    with pytest.raises(ResponseTooLarge):
        client(whois, max_bytes=64 * 1024).domain("google.ro")


def test_truncated_answer_is_a_protocol_error(whois: WhoisSandbox) -> None:
    whois.set_faults([{"server": "whois.rotld.ro", "kind": "truncated"}])
    with pytest.raises(ProtocolError) as caught:
        client(whois).domain("google.ro")
    assert not isinstance(caught.value, ResponseTooLarge)
    assert "cut off" in str(caught.value)


@pytest.mark.parametrize("kind", ["reset", "empty"])
def test_no_answer_is_transient(whois: WhoisSandbox, kind: str) -> None:
    whois.set_faults([{"server": "whois.rotld.ro", "kind": kind}])
    with pytest.raises(TransientError) as caught:
        client(whois).domain("google.ro")
    assert not isinstance(caught.value, NotSentError)


def test_connection_refused_is_not_sent(whois: WhoisSandbox) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    with pytest.raises(NotSentError):
        client(whois, settings={"whois_servers": f"ro=127.0.0.1:{port}"}).domain("google.ro")


# --- throttling and the guard ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "domain", "text", "wait"),
    [
        ("whois.denic.de", "google.de", None, 60.0),  # DENIC's own text, no figure: the default
        ("whois.rotld.ro", "google.ro", "uk", 50.0),
        ("whois.eu", "eurid.eu", None, 7.0),
        ("whois.verisign-grs.com", "shazow.net", "cz", 60.0),
    ],
)
def test_throttle_text_is_rate_limited(
    whois: WhoisSandbox, role: str, domain: str, text: str | None, wait: float
) -> None:
    rule: dict[str, Any] = {"server": role, "kind": "throttle"}
    if text:
        rule["text"] = text
    whois.set_faults([rule])
    guard = RecordingGuard()
    with pytest.raises(RateLimited) as caught:
        client(whois, guard).domain(domain)
    assert caught.value.retry_after == wait
    assert caught.value.provider == role
    assert guard.calls[-1] == ("after", role, "429", str(wait))


def test_every_query_passes_the_guard_keyed_by_host(whois: WhoisSandbox) -> None:
    guard = RecordingGuard()
    client(whois, guard).domain("shazow.net")
    iana = whois.iana_address.split(":")[0]  # IANA's key: the host REGQ_WHOIS_IANA_SERVER names
    assert [c for c in guard.calls if c[0] == "before"] == [
        ("before", iana, "whois"),
        ("before", "whois.verisign-grs.com", "whois"),
        ("before", "whois.dreamhost.com", "whois"),
    ]
    assert [c[1:3] for c in guard.calls if c[0] == "after"] == [
        (iana, "200"),
        ("whois.verisign-grs.com", "200"),
        ("whois.dreamhost.com", "200"),
    ]


def test_guard_refusal_sends_nothing(whois: WhoisSandbox) -> None:
    guard = RecordingGuard(refuse={"whois.rotld.ro"})
    with pytest.raises(Throttled):
        client(whois, guard).domain("google.ro")
    assert whois.stats()["queries"]["whois.rotld.ro"] == 0


def test_no_answer_is_reported_to_the_guard_as_none(whois: WhoisSandbox) -> None:
    whois.set_faults([{"server": "whois.rotld.ro", "kind": "reset"}])
    guard = RecordingGuard()
    with pytest.raises(TransientError):
        client(whois, guard).domain("google.ro")
    assert guard.calls[-1] == ("after", "whois.rotld.ro", "None", "None")


def test_throttle_text_opens_a_block_window_in_the_shared_limiter(whois: WhoisSandbox) -> None:
    settings = settings_for(whois)
    guard = LimiterGuard(MemoryLimiter(), settings)  # no rate_class entries: the client adds its hosts
    whois.set_faults([{"server": "whois.rotld.ro", "kind": "throttle", "text": "uk", "count": 1}])
    c = WhoisClient(settings, CallPolicy(guard), read_deadline=3.0)
    with pytest.raises(RateLimited):
        c.domain("google.ro")
    with pytest.raises(Throttled) as caught:  # the block window: the server is not asked again
        c.domain("google.ro")
    assert 45 < caught.value.retry_after <= 50
    assert whois.stats()["queries"]["whois.rotld.ro"] == 1
    assert guard.rate_class["whois.rotld.ro"] == "whois"


def test_a_query_line_cannot_be_smuggled(whois: WhoisSandbox) -> None:
    with pytest.raises(ValueError, match="not a domain name"):
        client(whois).domain("google.ro\r\n-h other.example")
    assert sum(whois.stats()["queries"].values()) == 0
