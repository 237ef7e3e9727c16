"""``regq lookup`` as an operator runs it: a real process against the sandbox's RDAP, WHOIS and DNS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.stack import Sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        sb.seed_lookup_world()
        yield sb


def regq_lookup(sb: Sandbox, *args: str, **env: str) -> tuple[int, Any, str]:
    urls = sb.urls()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("REGQ_")}
    environ.update(
        REGQ_OUTBOUND_ALLOW_PRIVATE="true",
        REGQ_RDAP_BOOTSTRAP_URL=urls["rdap_bootstrap_dir"],
        REGQ_WHOIS_IANA_SERVER=urls["whois_iana_server"],
        REGQ_WHOIS_SERVERS=urls["whois_servers"],
        REGQ_DNS_NAMESERVERS=urls["dns_nameservers"],
        REGQ_RDAP_RATE="100/s",
        REGQ_RDAP_BURST="50",
        REGQ_WHOIS_RATE="100/s",
        REGQ_WHOIS_BURST="50",
        **env,
    )
    proc = subprocess.run(
        [sys.executable, "-c", "from workers.cli import main; main()", "lookup", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    data = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else None
    return proc.returncode, data, proc.stderr + proc.stdout


def test_a_thin_com_goes_registry_then_registrar_then_dns_then_ip_holders(sandbox: Sandbox) -> None:
    code, data, err = regq_lookup(sandbox, "WWW.Google.com", "--json")
    assert code == 0, err
    assert (data["domain"], data["apex"], data["registered"], data["partial"]) == (
        "www.google.com",
        "google.com",
        True,
        False,
    )
    reg = data["registration"]
    assert reg["source"] == "rdap" and reg["registrar"] == "MarkMonitor Inc."
    assert reg["expires"].startswith("2028-09-14") and reg["registrant"]  # the registrar's hop
    assert [n["host"] for n in data["nameservers"]] == [f"ns{i}.google.com" for i in range(1, 5)]
    assert all(n["ips"] for n in data["nameservers"])
    assert data["ip_registrants"]["1.1.1.1"] and set(data["ip_registrants"]) >= {"1.1.1.1", "13.64.1.1"}


def test_ro_and_eu_fall_back_to_whois(sandbox: Sandbox) -> None:
    for domain, server in (("google.ro", "whois.rotld.ro"), ("eurid.eu", "whois.eu")):
        code, data, err = regq_lookup(sandbox, domain, "--json")
        assert code == 0, err
        assert data["registration"]["source"] == "whois" and data["registration"]["server"] == server


def test_an_unregistered_name_is_a_complete_answer(sandbox: Sandbox) -> None:
    code, data, _err = regq_lookup(sandbox, "nimeni-nu-are.com", "--json")
    assert code == 0 and data["registered"] is False and data["registration"] is None


def test_a_throttled_whois_is_partial_never_not_registered(sandbox: Sandbox) -> None:
    sandbox.whois.set_faults([{"server": "whois.rotld.ro", "kind": "throttle", "text": "uk"}])
    try:
        code, data, err = regq_lookup(sandbox, "google.ro", "--json")
    finally:
        sandbox.whois.set_faults([])
    assert code == 75, err
    assert data["partial"] is True and data["registered"] is None and data["retry_after"] == 50
    assert "rate limited" in data["reason"]


def test_a_rate_limited_rdap_registry_is_partial(sandbox: Sandbox) -> None:
    sandbox.set_faults("rdap", [{"operation": "registry_domain", "kind": "rate_limit", "rate": 0.001}])
    try:
        regq_lookup(sandbox, "norway.no", "--json")  # the fault's bucket starts full: one passes
        code, data, _err = regq_lookup(sandbox, "themarquetry.com", "--json")
    finally:
        sandbox.clear_faults("rdap")
    assert code == 75 and data["partial"] is True and data["retry_after"] >= 1


def test_bad_input_is_exit_2_with_the_field(sandbox: Sandbox) -> None:
    code, data, err = regq_lookup(sandbox, "co.uk", "--json")
    assert code == 2 and data is None and "domain" in err


def test_the_operator_table(sandbox: Sandbox) -> None:
    code, data, output = regq_lookup(sandbox, "norway.no")
    assert code == 0 and data is None
    assert "Domeneshop AS" in output and "ns1-09.azure-dns.com" in output


@pytest.mark.parametrize(
    ("domain", "source", "registrar"),
    [
        ("google.com", "rdap", "MarkMonitor Inc."),  # thin: registry, then the registrar's related link
        ("themarquetry.com", "rdap", "Hosting Concepts B.V. d/b/a Registrar.eu"),
        ("norway.no", "rdap", "Domeneshop AS"),  # thick
        ("example.cz", "rdap", None),  # entities without vCards: the handle names the registrar
        ("google.ro", "whois", "MarkMonitor Inc."),  # no RDAP bootstrap entry: WHOIS
        ("eurid.eu", "whois", "EURid vzw"),
        ("google.de", "whois", None),  # DENIC names no registrar in its public answer
        ("yahoo.co.jp", "whois", None),
        ("shazow.net", "whois", "NEW DREAM NETWORK, LLC"),  # thin WHOIS: the registrar's server hop
    ],
)
def test_every_served_fixture_looks_up_right(
    sandbox: Sandbox, domain: str, source: str, registrar: str | None
) -> None:
    # .net, .jp and .de have no RDAP entry in the sandbox's bootstrap: they show the WHOIS path too
    code, data, err = regq_lookup(sandbox, domain, "--json")
    assert code == 0, err
    assert data["registered"] is True and data["partial"] is False
    assert data["registration"]["source"] == source
    if registrar is not None:
        assert data["registration"]["registrar"] == registrar
    assert data["registration"]["nameservers"], data
