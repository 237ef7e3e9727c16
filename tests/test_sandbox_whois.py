"""The sandbox WHOIS server itself, spoken to with a bare TCP client: roles, real texts, faults, counters,
and its place in the :class:`sandbox.stack.Sandbox`."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.whois import DATA, WhoisSandbox
from testkit.samples import sample

LOCAL = Path(__file__).parent / "data" / "whois"  # test-only samples; shared ones via testkit.samples


def ask(address: tuple[str, int], query: str, timeout: float = 5.0) -> bytes:
    """RFC 3912: send the query line, read until the server closes."""
    with socket.create_connection(address, timeout) as sock:
        sock.sendall(query.encode() + b"\r\n")
        body = b""
        while chunk := sock.recv(65536):
            body += chunk
    return body


@pytest.fixture(scope="module")
def server() -> Iterator[WhoisSandbox]:
    sandbox = WhoisSandbox().start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def whois(server: WhoisSandbox) -> WhoisSandbox:
    server.reset()
    return server


def test_iana_refers_each_tld_to_its_role(whois: WhoisSandbox) -> None:
    answer = ask(whois.address("whois.iana.org"), "ro").decode()
    assert "refer:        whois.rotld.ro" in answer and "whois:        whois.rotld.ro" in answer
    assert "refer:        whois.verisign-grs.com" in ask(whois.address("whois.iana.org"), "com").decode()


def test_iana_serves_the_real_texts(whois: WhoisSandbox) -> None:
    live = (LOCAL / "nic.live.txt").read_text()
    assert ask(whois.address("whois.iana.org"), "live").decode() == live[: live.index("# whois.nic.live")]
    eh = sample("whois", "iana/whois.iana.org__tld__status_not_assigned.txt").read_text()
    assert ask(whois.address("whois.iana.org"), "eh").decode() == eh
    assert "returned 0 objects" in ask(whois.address("whois.iana.org"), "nosuchtld").decode()


@pytest.mark.parametrize(
    ("role", "query", "fixture"),
    [
        ("whois.rotld.ro", "google.ro", sample("whois", "google.ro.txt")),
        ("whois.eu", "eurid.eu", sample("whois", "eurid.eu.txt")),
        ("whois.denic.de", "-T dn,ace -C UTF-8 google.de", sample("whois", "google.de.txt")),
        ("whois.jprs.jp", "yahoo.co.jp/e", sample("whois", "yahoo.co.jp.txt")),
        (
            "whois.verisign-grs.com",
            "u34jedzcq.com",
            sample("whois", "notfound/weppos__whois.verisign-grs.com__com__status_available.txt"),
        ),
    ],
)
def test_registry_roles_answer_the_real_record(
    whois: WhoisSandbox, role: str, query: str, fixture: Path
) -> None:
    assert ask(whois.address(role), query) == fixture.read_bytes()


def test_thin_pair_is_the_real_sample_split(whois: WhoisSandbox) -> None:
    registry = ask(whois.address("whois.verisign-grs.com"), "shazow.net")
    registrar = ask(whois.address("whois.dreamhost.com"), "shazow.net")
    assert registry + registrar == (LOCAL / "shazow.net.txt").read_bytes()
    assert b"Whois Server: whois.dreamhost.com" in registry


def test_data_files_are_listed_in_sources() -> None:
    listed = (DATA / "SOURCES.md").read_text()
    for path in DATA.glob("*.txt"):
        assert path.name in listed


def test_counters_per_server_and_reset(whois: WhoisSandbox) -> None:
    ask(whois.address("whois.eu"), "eurid.eu")
    ask(whois.address("whois.eu"), "nothere.eu")
    ask(whois.address("whois.iana.org"), "eu")
    stats = whois.stats()
    assert stats["queries"]["whois.eu"] == 2 and stats["queries"]["whois.iana.org"] == 1
    assert stats["queries"]["whois.rotld.ro"] == 0
    assert stats["raw"]["whois.eu"] == ["eurid.eu", "nothere.eu"]
    whois.reset()
    assert sum(whois.stats()["queries"].values()) == 0


def test_throttle_fault_uses_the_role_text_and_honours_count(whois: WhoisSandbox) -> None:
    whois.set_faults([{"server": "whois.denic.de", "kind": "throttle", "count": 1}])
    first = ask(whois.address("whois.denic.de"), "google.de")
    assert first == sample("whois", "throttled/whois.denic.de__de__response_throttled.txt").read_bytes()
    assert b"Nserver: ns1.google.com" in ask(whois.address("whois.denic.de"), "google.de")
    assert whois.stats()["faults_injected"] == {"throttle": 1}


def test_fault_domain_filter(whois: WhoisSandbox) -> None:
    whois.set_faults([{"server": "*", "kind": "throttle", "text": "cz", "domain": "google.ro"}])
    assert b"connection limit exceeded" in ask(whois.address("whois.rotld.ro"), "google.ro")
    assert b"No entries found" in ask(whois.address("whois.rotld.ro"), "other.ro")


def test_eurid_throttle_text(whois: WhoisSandbox) -> None:
    whois.set_faults([{"server": "whois.eu", "kind": "throttle"}])
    assert b"Still in grace period, wait 7 seconds" in ask(whois.address("whois.eu"), "eurid.eu")


def test_oversized_and_latin1(whois: WhoisSandbox) -> None:
    whois.set_faults([{"server": "whois.rotld.ro", "kind": "oversized", "bytes": 100_000, "count": 1}])
    assert len(ask(whois.address("whois.rotld.ro"), "google.ro")) >= 100_000
    whois.add_record("whois.rotld.ro", "societe.ro", "Registrar: Société\n")
    whois.set_faults([{"server": "whois.rotld.ro", "kind": "latin1"}])
    assert ask(whois.address("whois.rotld.ro"), "societe.ro") == "Registrar: Société\n".encode("latin-1")


def test_truncated_sends_half_then_resets(whois: WhoisSandbox) -> None:
    whois.set_faults([{"server": "whois.rotld.ro", "kind": "truncated"}])
    full = sample("whois", "google.ro.txt").read_bytes()
    received = b""
    with socket.create_connection(whois.address("whois.rotld.ro"), 5) as sock:
        sock.sendall(b"google.ro\r\n")
        with pytest.raises(ConnectionResetError):
            while chunk := sock.recv(65536):
                received += chunk
    assert received == full[: len(full) // 2]


def test_timeout_fault_holds_the_answer(whois: WhoisSandbox) -> None:
    whois.set_faults([{"server": "whois.eu", "kind": "timeout", "seconds": 30}])
    with pytest.raises(TimeoutError):
        ask(whois.address("whois.eu"), "eurid.eu", timeout=0.3)


def test_unknown_fault_kind_is_refused(whois: WhoisSandbox) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        whois.set_faults([{"kind": "explode"}])


def test_servers_setting_names_every_registry_role(whois: WhoisSandbox) -> None:
    entries = dict(item.split("=") for item in whois.servers_setting.split(","))
    assert "whois.iana.org" not in entries
    for role in ("whois.rotld.ro", "whois.eu", "whois.verisign-grs.com", "whois.dreamhost.com"):
        host, port = whois.address(role)
        assert entries[role] == f"{host}:{port}"


def test_stack_sandbox_serves_whois() -> None:
    from sandbox.stack import Sandbox

    with Sandbox() as sandbox:
        host, port = sandbox.whois_address.split(":")
        assert b"refer:        whois.eu" in ask((host, int(port)), "eu")
        assert sandbox.whois.stats()["queries"]["whois.iana.org"] == 1
