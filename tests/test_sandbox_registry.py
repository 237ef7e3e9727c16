"""The sandbox world is one world (issue 21): a name registered at the Gandi or ROTLD stand-in is
registered in the RDAP and WHOIS stand-ins at once (sandbox/registry.py), as ``regq lookup`` sees it in a
real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from requests.auth import HTTPDigestAuth

from sandbox.stack import Sandbox
from sandbox.testing import GANDI_OWNER, ROTLD_PERSON

TOKEN, USER, PASSWORD = "registry-token", "registry-user", "registry-pass"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(gandi_token=TOKEN, rotld_user=USER, rotld_password=PASSWORD) as sb:
        yield sb


def gandi_register(sb: Sandbox, fqdn: str) -> None:
    body = {"fqdn": fqdn, "owner": dict(GANDI_OWNER), "duration": 2}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    response = requests.post(f"{sb.gandi_url}/domain/domains", json=body, headers=headers, timeout=5)
    assert response.status_code in (201, 202), response.text


def rotld_register(sb: Sandbox, fqdn: str) -> None:
    auth = HTTPDigestAuth(USER, PASSWORD)

    def call(command: str, **params: Any) -> dict[str, Any]:
        form = {"command": command, "lang": "en", "format": "json", **params}
        answer = requests.post(sb.rotld_url, data=form, auth=auth, timeout=5).json()
        assert answer["error"] == 0, answer
        return dict(answer["data"] or {})

    cid = call("contact-create", **ROTLD_PERSON)["cid"]
    call("domain-register", domain=fqdn, c_registrant=cid, domain_period=1, domain_password="Secret123")


def regq_lookup(sb: Sandbox, domain: str) -> dict[str, Any]:
    """``regq lookup DOMAIN --json`` in a real process, every upstream the sandbox's (as test_lookup_cli)."""
    urls = sb.urls()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("REGQ_")}
    environ.update(
        REGQ_STACK_FILE="",
        REGQ_OUTBOUND_ALLOW_PRIVATE="true",
        REGQ_RDAP_BOOTSTRAP_URL=urls["rdap_bootstrap_dir"],
        REGQ_WHOIS_IANA_SERVER=urls["whois_iana_server"],
        REGQ_WHOIS_SERVERS=urls["whois_servers"],
        REGQ_DNS_NAMESERVERS=urls["dns_nameservers"],
        REGQ_RDAP_RATE="100/s",
        REGQ_RDAP_BURST="50",
        REGQ_WHOIS_RATE="100/s",
        REGQ_WHOIS_BURST="50",
    )
    proc = subprocess.run(
        [sys.executable, "-c", "from workers.cli import main; main()", "lookup", domain, "--json"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stdout.strip().startswith("{"), proc.stderr + proc.stdout
    return dict(json.loads(proc.stdout))


def stored(sb: Sandbox, provider: str, fqdn: str) -> dict[str, Any]:
    return next(d for d in sb.domains(provider) if d["fqdn"] == fqdn)


@pytest.mark.parametrize(
    ("provider", "fqdn", "source", "registrar"),
    [
        ("gandi", "proaspat-inregistrat.com", "rdap", "Gandi SAS"),  # .com: RDAP (recorded google.com too)
        (
            "gandi",
            "proaspat-inregistrat.org",
            "rdap",
            "Gandi SAS",
        ),  # a TLD only the bootstrap's new entries send
        ("gandi", "proaspat-inregistrat.net", "whois", "Gandi SAS"),  # thin .net: Verisign's WHOIS role
        ("rotld", "proaspat-inregistrat.ro", "whois", "regq sandbox registrar"),  # .ro: ROTLD's WHOIS
    ],
)
def test_a_lookup_right_after_a_register_says_registered(
    sandbox: Sandbox, provider: str, fqdn: str, source: str, registrar: str
) -> None:
    before = regq_lookup(sandbox, fqdn)
    assert before["registered"] is False, before
    if provider == "gandi":
        gandi_register(sandbox, fqdn)
    else:
        rotld_register(sandbox, fqdn)
    after = regq_lookup(sandbox, fqdn)  # REGQ_REDIS_URL unset: no cache remembers the first answer
    assert after["registered"] is True and after["partial"] is False, after
    registration = after["registration"]
    assert (registration["source"], registration["registrar"]) == (source, registrar)
    record = stored(sandbox, provider, fqdn)
    assert registration["expires"][:10] == record["expires"]  # the registrar's dates, not made-up ones
    assert [n["host"] for n in after["nameservers"]] == record["nameservers"]


def test_a_name_the_registrars_lose_is_unregistered_again(sandbox: Sandbox) -> None:
    gandi_register(sandbox, "pierdut.com")
    assert regq_lookup(sandbox, "pierdut.com")["registered"] is True
    sandbox.reset("gandi")  # the stand-in forgets its domains
    assert regq_lookup(sandbox, "pierdut.com")["registered"] is False


def test_the_recorded_answers_still_come_first(sandbox: Sandbox) -> None:
    sandbox.seed_domains("gandi", [{"fqdn": "google.com", "owner": "other"}])
    answer = regq_lookup(sandbox, "google.com")
    assert answer["registration"]["registrar"] == "MarkMonitor Inc."  # the real answer, not the view's
