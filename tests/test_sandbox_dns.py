"""The DNS stand-in, spoken to with raw dnspython queries over UDP and TCP: records, flags, faults,
truncation, counters, and its place in the Sandbox stack."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from sandbox.dns import DnsServer, synthetic_addresses
from sandbox.stack import Sandbox

RECORDS = {
    "ns1.example.com": ["192.0.2.10", "2001:db8::10"],
    "ns2.example.com": ["192.0.2.20"],
    "bare.example.com": [],
}


@pytest.fixture
def server() -> Iterator[DnsServer]:
    with DnsServer(records=RECORDS) as srv:
        yield srv


def ask(
    server: DnsServer, name: str, rdtype: str = "A", tcp: bool = False, timeout: float = 2.0
) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    host, port = server.address
    if tcp:
        return dns.query.tcp(query, host, port=port, timeout=timeout)
    return dns.query.udp(query, host, port=port, timeout=timeout)


def addresses(response: dns.message.Message) -> list[str]:
    return sorted(rdata.address for rrset in response.answer for rdata in rrset)


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_answers_a_and_aaaa_authoritatively_on_one_port(server: DnsServer, tcp: bool) -> None:
    a = ask(server, "NS1.Example.COM.", "A", tcp=tcp)
    assert a.rcode() == dns.rcode.NOERROR
    assert a.flags & dns.flags.AA
    assert addresses(a) == ["192.0.2.10"]
    assert addresses(ask(server, "ns1.example.com", "AAAA", tcp=tcp)) == ["2001:db8::10"]
    assert ask(server, "ns2.example.com", "AAAA", tcp=tcp).answer == []  # exists, no AAAA: no answer
    assert ask(server, "ns2.example.com", "AAAA", tcp=tcp).rcode() == dns.rcode.NOERROR
    assert ask(server, "missing.example.com", "A", tcp=tcp).rcode() == dns.rcode.NXDOMAIN
    stats = server.zone.stats()
    assert stats["by_transport"] == {"tcp" if tcp else "udp": 5}
    assert stats["by_rcode"] == {"NOERROR": 4, "NXDOMAIN": 1}
    assert stats["by_qtype"] == {"A": 2, "AAAA": 3}
    assert stats["by_name"]["ns2.example.com"] == 2


def test_a_name_without_addresses_exists(server: DnsServer) -> None:
    response = ask(server, "bare.example.com", "A")
    assert (response.rcode(), response.answer) == (dns.rcode.NOERROR, [])


def test_servfail_and_nxdomain_faults_by_name_type_and_count(server: DnsServer) -> None:
    server.zone.set_fault("ns1.example.com", "servfail", qtype="AAAA", count=2)
    assert ask(server, "ns1.example.com", "A").rcode() == dns.rcode.NOERROR  # other type untouched
    assert ask(server, "ns1.example.com", "AAAA").rcode() == dns.rcode.SERVFAIL
    assert ask(server, "ns1.example.com", "AAAA", tcp=True).rcode() == dns.rcode.SERVFAIL
    assert addresses(ask(server, "ns1.example.com", "AAAA")) == ["2001:db8::10"]  # count used up
    server.zone.set_fault("*", "nxdomain")
    assert ask(server, "ns2.example.com", "A").rcode() == dns.rcode.NXDOMAIN  # every name
    server.zone.clear_faults()
    assert addresses(ask(server, "ns2.example.com", "A")) == ["192.0.2.20"]
    assert server.zone.stats()["faults_injected"] == {"servfail": 2, "nxdomain": 1}


def test_timeout_fault_sends_nothing_on_udp_and_tcp(server: DnsServer) -> None:
    server.zone.set_fault("ns2.example.com", "timeout")
    with pytest.raises(dns.exception.Timeout):
        ask(server, "ns2.example.com", "A", timeout=0.3)
    with pytest.raises(dns.exception.Timeout):
        ask(server, "ns2.example.com", "A", tcp=True, timeout=0.3)
    assert addresses(ask(server, "ns1.example.com", "A")) == ["192.0.2.10"]  # other names still answered
    assert server.zone.stats()["dropped"] == 2


def test_a_large_answer_is_truncated_on_udp_and_whole_on_tcp(server: DnsServer) -> None:
    many = [f"198.51.100.{i}" for i in range(1, 101)]
    server.zone.seed({"big.example.com": many})
    udp = ask(server, "big.example.com", "A")
    assert udp.flags & dns.flags.TC and udp.answer == []
    assert addresses(ask(server, "big.example.com", "A", tcp=True)) == sorted(many)
    assert server.zone.stats()["truncated"] == 1


def test_a_malformed_datagram_is_ignored(server: DnsServer) -> None:
    host, port = server.address
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"\x00\x01garbage", (host, port))
    assert addresses(ask(server, "ns2.example.com", "A")) == ["192.0.2.20"]
    assert server.zone.stats()["queries"] == 1  # the garbage was not counted as a query


def test_seed_remove_reset_and_validation(server: DnsServer) -> None:
    with pytest.raises(ValueError):
        server.zone.seed({"bad.example.com": ["not-an-ip"]})
    with pytest.raises(ValueError):
        server.zone.set_fault("ns1.example.com", "explode")
    server.zone.seed({"NEW.example.com.": ["2001:DB8:0::5"]})
    assert server.zone.records()["new.example.com"] == ["2001:db8::5"]
    server.zone.remove("ns2.example.com")
    assert ask(server, "ns2.example.com", "A").rcode() == dns.rcode.NXDOMAIN
    server.zone.reset()
    assert server.zone.records() == {} and server.zone.stats()["queries"] == 0


def test_sandbox_starts_and_stops_the_dns_server() -> None:
    with Sandbox() as sandbox:
        host, port = sandbox.dns_address
        assert sandbox.dns.nameservers_setting == f"{host}:{port}"
        sandbox.dns.zone.seed({"ns1.sandbox.test": ["192.0.2.53"]})
        response = dns.query.udp(dns.message.make_query("ns1.sandbox.test", "A"), host, port=port, timeout=2)
        assert addresses(response) == ["192.0.2.53"]
    with socket.socket() as sock:  # stopped: the TCP side refuses connections
        sock.settimeout(1)
        with pytest.raises(OSError):
            sock.connect((host, port))


def test_seeded_from_an_rdap_answer(server: DnsServer) -> None:
    domain = {  # the shape of an RDAP domain answer (RFC 9083 section 5.3)
        "objectClassName": "domain",
        "ldhName": "example.org",
        "nameservers": [
            {
                "objectClassName": "nameserver",
                "ldhName": "NS1.EXAMPLE.ORG",
                "ipAddresses": {"v4": ["192.0.2.7"]},
            },
            {"objectClassName": "nameserver", "ldhName": "ns2.example.net."},
        ],
    }
    seeded = server.zone.seed_rdap(domain)
    assert seeded["ns1.example.org"] == ["192.0.2.7"]
    assert seeded["ns2.example.net"] == synthetic_addresses("ns2.example.net")
    v4, v6 = seeded["ns2.example.net"]
    assert v4.startswith("198.51.100.") and v6.startswith("2001:db8:")
    assert synthetic_addresses("NS2.example.net.") == seeded["ns2.example.net"]  # stable
    assert addresses(ask(server, "ns2.example.net", "AAAA")) == [v6]
    nameserver = {"objectClassName": "nameserver", "ldhName": "ns9.example.org"}
    assert server.zone.seed_rdap(nameserver, fill=None) == {"ns9.example.org": []}
    assert ask(server, "ns9.example.org", "A").rcode() == dns.rcode.NOERROR
