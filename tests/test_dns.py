"""Nameserver addresses through dnspython against the sandbox's authoritative server (real UDP and TCP):
sorting, NXDOMAIN and no-answer as definite empty answers, SERVFAIL and timeouts as transient errors,
REGQ_DNS_NAMESERVERS honoured."""

from __future__ import annotations

import time
from collections.abc import Iterator

import dns.resolver
import pytest

from sandbox.dns import DnsServer
from shared.errors import ConfigError, TransientError
from shared.registrydata.dns import DnsResolver, resolve, resolver_for
from shared.registrydata.model import NameserverAddresses
from shared.settings import load_settings

TIMEOUT = 1.0
TRY_TIMEOUT = 0.3


@pytest.fixture
def server() -> Iterator[DnsServer]:
    with DnsServer() as srv:
        srv.zone.seed(
            {
                "ns1.example.com": ["2001:db8::2", "192.0.2.20", "192.0.2.3", "2001:db8::10", "192.0.2.3"],
                "v6only.example.net": ["2001:db8:1::1"],
                "bare.example.com": [],
            }
        )
        yield srv


@pytest.fixture
def resolver(server: DnsServer) -> DnsResolver:
    return DnsResolver([server.address], timeout_seconds=TIMEOUT, try_timeout_seconds=TRY_TIMEOUT)


def test_ipv4_then_ipv6_each_in_numeric_order_without_duplicates(resolver: DnsResolver) -> None:
    assert resolver.resolve("ns1.example.com") == NameserverAddresses(
        "ns1.example.com", ["192.0.2.3", "192.0.2.20", "2001:db8::2", "2001:db8::10"]
    )
    assert resolver.resolve("v6only.example.net").ips == ["2001:db8:1::1"]


def test_the_host_is_normalised(resolver: DnsResolver, server: DnsServer) -> None:
    assert resolver.resolve(" NS1.Example.COM. ").host == "ns1.example.com"
    assert server.zone.stats()["by_name"] == {"ns1.example.com": 2}  # A and AAAA, nothing else


def test_nxdomain_is_a_definite_empty_answer_without_asking_aaaa(
    resolver: DnsResolver, server: DnsServer
) -> None:
    assert resolver.resolve("gone.example.com") == NameserverAddresses("gone.example.com", [])
    assert server.zone.stats()["by_qtype"] == {"A": 1}


def test_no_records_is_a_definite_empty_answer(resolver: DnsResolver, server: DnsServer) -> None:
    assert resolver.resolve("bare.example.com").ips == []
    assert server.zone.stats()["by_qtype"] == {"A": 1, "AAAA": 1}


def test_servfail_is_transient(resolver: DnsResolver, server: DnsServer) -> None:
    server.zone.set_fault("ns1.example.com", "servfail")
    with pytest.raises(TransientError) as info:
        resolver.resolve("ns1.example.com")
    assert info.value.provider == "dns" and info.value.disposition == "retry"
    assert "SERVFAIL" in str(info.value)


def test_servfail_on_aaaa_alone_is_transient_not_a_shorter_list(
    resolver: DnsResolver, server: DnsServer
) -> None:
    server.zone.set_fault("ns1.example.com", "servfail", qtype="AAAA")
    with pytest.raises(TransientError):
        resolver.resolve("ns1.example.com")


def test_a_fault_that_passes_leaves_a_working_resolver(resolver: DnsResolver, server: DnsServer) -> None:
    server.zone.set_fault("ns1.example.com", "servfail", count=1)
    with pytest.raises(TransientError):
        resolver.resolve("ns1.example.com")
    assert len(resolver.resolve("ns1.example.com").ips) == 4


def test_a_silent_server_is_a_transient_error_within_the_timeout(
    resolver: DnsResolver, server: DnsServer
) -> None:
    server.zone.set_fault("*", "timeout")
    started = time.monotonic()
    with pytest.raises(TransientError) as info:
        resolver.resolve("ns1.example.com")
    elapsed = time.monotonic() - started
    assert "no answer in time" in str(info.value)
    assert TIMEOUT * 0.9 <= elapsed < TIMEOUT + TRY_TIMEOUT + 1.0  # one query's budget, not several
    assert server.zone.stats()["dropped"] >= 2  # it was asked again within the budget


def test_a_large_answer_comes_over_tcp(resolver: DnsResolver, server: DnsServer) -> None:
    many = [f"198.51.100.{i}" for i in range(1, 81)]
    server.zone.seed({"big.example.com": many})
    assert resolver.resolve("big.example.com").ips == sorted(many, key=lambda ip: int(ip.rsplit(".", 1)[1]))
    stats = server.zone.stats()
    assert stats["truncated"] == 1 and stats["by_transport"]["tcp"] >= 1


def test_a_name_dns_cannot_carry_resolves_to_nothing_without_a_query(
    resolver: DnsResolver, server: DnsServer
) -> None:
    assert resolver.resolve(("a" * 64) + ".example.com").ips == []
    assert server.zone.stats()["queries"] == 0


def test_settings_nameservers_are_honoured(server: DnsServer) -> None:
    settings = load_settings(dns_nameservers=server.nameservers_setting, dns_timeout_seconds=TIMEOUT)
    assert resolve("ns1.example.com", settings).ips[0] == "192.0.2.3"
    assert resolver_for(settings) is resolver_for(settings)  # built once per configuration
    assert resolver_for(settings).nameservers == [server.nameservers_setting]


def test_the_environment_variable_is_honoured(server: DnsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGQ_DNS_NAMESERVERS", server.nameservers_setting)
    monkeypatch.setenv("REGQ_DNS_TIMEOUT_SECONDS", "3")
    assert resolver_for(load_settings()).nameservers == [server.nameservers_setting]
    assert resolve("v6only.example.net").ips == ["2001:db8:1::1"]
    assert server.zone.stats()["queries"] == 2


def test_a_silent_first_server_is_passed_over_for_the_next(server: DnsServer) -> None:
    with DnsServer() as silent:
        silent.zone.set_fault("*", "timeout")
        resolver = DnsResolver([silent.address, server.address], timeout_seconds=3, try_timeout_seconds=0.2)
        assert resolver.resolve("v6only.example.net").ips == ["2001:db8:1::1"]
        assert silent.zone.stats()["dropped"] >= 1


def test_a_nameserver_that_is_not_an_address_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        DnsResolver([("dns.example.com", 53)])
    assert info.value.variable == "REGQ_DNS_NAMESERVERS"


def test_no_system_resolver_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_configuration(configure: bool = True) -> dns.resolver.Resolver:
        raise dns.resolver.NoResolverConfiguration("no nameservers")

    monkeypatch.setattr(dns.resolver, "Resolver", no_configuration)
    with pytest.raises(ConfigError) as info:
        DnsResolver()
    assert info.value.variable == "REGQ_DNS_NAMESERVERS"


def test_an_ipv6_nameserver() -> None:
    with DnsServer(host="::1", records={"ns1.example.com": ["192.0.2.1"]}) as server:
        assert server.nameservers_setting.startswith("[::1]:")
        settings = load_settings(dns_nameservers=server.nameservers_setting, dns_timeout_seconds=TIMEOUT)
        assert resolve("ns1.example.com", settings).ips == ["192.0.2.1"]
