"""The sandbox RDAP server on its own: roles and links, IP answers, its bootstrap, errors, faults, admin."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sandbox import Sandbox, SandboxAdminError
from sandbox.rdap import DOMAIN_FILES, IP_FILES

ACCEPT = {"Accept": "application/rdap+json"}


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture(autouse=True)
def _clean(sb: Sandbox) -> None:
    sb.reset("rdap")


def get(sb: Sandbox, path: str, timeout: float = 5.0) -> requests.Response:
    return requests.get(sb.rdap_url + path, headers=ACCEPT, timeout=timeout)


def test_bootstrap_directory_points_at_the_server(sb: Sandbox) -> None:
    folder = Path(sb.rdap_bootstrap_dir)
    dns = json.loads((folder / "dns.json").read_text())
    [[tlds, urls]] = dns["services"]
    assert {"com", "no", "cz", "example", "in-addr.arpa"} <= set(tlds)  # the recorded answers' TLDs
    assert "org" in tlds  # and those the Gandi stand-in sells (sandbox/registry.py answers their names)
    assert not set(tlds) & {"ro", "eu", "net", "de", "jp"}  # but those WHOIS serves: lookups go there
    assert urls == [sb.rdap_url + "/registry/"]
    v4 = json.loads((folder / "ipv4.json").read_text())["services"]
    assert "1.1.1.0/24" in v4[0][0] and v4[0][1] == [sb.rdap_url + "/rir/"]
    served = get(sb, "/bootstrap/dns.json")
    assert served.headers["Cache-Control"] == "max-age=86400"  # as IANA sends it
    assert served.json()["services"] == dns["services"]


def test_every_served_fixture_answers(sb: Sandbox) -> None:
    assert len(DOMAIN_FILES) == 6 and len(IP_FILES) == 5
    for name in ("google.com", "norway.no", "themarquetry.com", "example.cz", "xn--fo-5ja.example"):
        answer = get(sb, f"/registry/domain/{name}")
        assert answer.status_code == 200, name
        assert answer.headers["Content-Type"] == "application/rdap+json"
        assert answer.json()["ldhName"].lower() == name
    for ip in ("1.1.1.1", "130.59.31.80", "13.64.0.1", "2001:4860::1", "2001:db8::5"):
        assert get(sb, f"/rir/ip/{ip}").json()["objectClassName"] == "ip network"


def test_registry_links_to_the_registrar_which_holds_the_registrant(sb: Sandbox) -> None:
    registry = get(sb, "/registry/domain/GOOGLE.COM").json()
    related = [link for link in registry["links"] if link["rel"] == "related"]
    assert related == [
        {
            "rel": "related",
            "type": "application/rdap+json",
            "href": sb.rdap_url + "/registrar/domain/google.com",
            "value": sb.rdap_url + "/registry/domain/google.com",
        }
    ]
    assert not any("registrant" in e.get("roles", []) for e in registry["entities"])
    registrar = requests.get(related[0]["href"], timeout=5).json()
    assert any("registrant" in e.get("roles", []) for e in registrar["entities"])
    assert not [link for link in registrar["links"] if link["rel"] == "related"]  # one hop only
    types = [link["type"] for link in get(sb, "/registry/domain/themarquetry.com").json()["links"]]
    assert types == ["application/rdap+json", "text/html", "application/rdap+json"]
    assert get(sb, "/registrar/domain/norway.no").status_code == 404  # thick: no registrar role
    stats = sb.stats("rdap")["by_operation"]
    assert (stats["registry_domain"], stats["registrar_domain"]) == (2, 2)


def test_registrar_host_config_rewrites_related_links(sb: Sandbox) -> None:
    sb.configure("rdap", registrar_host="localhost")
    href = [x for x in get(sb, "/registry/domain/google.com").json()["links"] if x["rel"] == "related"][0]
    port = sb.rdap_url.rsplit(":", 1)[1]
    assert href["href"] == f"http://localhost:{port}/registrar/domain/google.com"
    sb.reset("rdap")
    assert sb.config("rdap")["registrar_host"] is None


def test_unknown_names_get_rfc9083_error_bodies(sb: Sandbox) -> None:
    answer = get(sb, "/registry/domain/nothing-here.com")
    assert answer.status_code == 404
    body = answer.json()
    assert body["errorCode"] == 404 and body["title"] == "Not Found" and body["description"]
    assert get(sb, "/rir/ip/8.8.8.8").status_code == 404
    assert get(sb, "/rir/ip/nonsense").status_code == 400
    assert get(sb, "/whatever").status_code == 404


def test_seeded_domain_is_served(sb: Sandbox) -> None:
    sb.seed_domains("rdap", [{"objectClassName": "domain", "ldhName": "Seeded.COM", "status": ["active"]}])  # type: ignore[list-item]
    assert get(sb, "/registry/domain/seeded.com").json()["status"] == ["active"]
    assert {"fqdn": "seeded.com", "thin": False} in sb.domains("rdap")
    with pytest.raises(SandboxAdminError):
        sb.seed_domains("rdap", [{"no": "name"}])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("status", "text"),
    [
        (403, "Number of allowed queries exceeded."),
        (422, "Your access is too fast,please try again later."),
        (429, "Query rate limit exceeded."),
        (503, "HTTP 503"),
    ],
)
def test_fault_answers_speak_rdap(sb: Sandbox, status: int, text: str) -> None:
    sb.set_faults("rdap", [{"operation": "registry_domain", "kind": "status", "status": status,
                            "retry_after": 3, "count": 1}])  # fmt: skip
    answer = get(sb, "/registry/domain/google.com")
    assert answer.status_code == status
    assert answer.json()["errorCode"] == status and answer.json()["description"] == [text]
    assert answer.headers["Retry-After"] == "3"
    assert get(sb, "/registry/domain/google.com").status_code == 200  # count 1: once only
    assert sb.stats("rdap")["faults_injected"] == {"status": 1}


def test_rate_limit_fault_with_a_date(sb: Sandbox) -> None:
    sb.set_faults("rdap", [{"operation": "ip", "kind": "rate_limit", "rate": 0.1, "burst": 1,
                            "retry_after_form": "date"}])  # fmt: skip
    assert get(sb, "/rir/ip/1.1.1.1").status_code == 200
    limited = get(sb, "/rir/ip/1.1.1.1")
    assert limited.status_code == 429 and limited.headers["Retry-After"].endswith("GMT")


def test_timeout_fault(sb: Sandbox) -> None:
    sb.set_faults("rdap", [{"operation": "registry_domain", "kind": "timeout", "seconds": 10}])
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        get(sb, "/registry/domain/google.com", timeout=0.3)
    assert time.monotonic() - started < 3


def test_strict_accept(sb: Sandbox) -> None:
    sb.configure("rdap", strict_accept=True)
    assert requests.get(sb.rdap_url + "/registry/domain/google.com", timeout=5).status_code == 406
    assert get(sb, "/registry/domain/google.com").status_code == 200


def test_oversized_answers(sb: Sandbox) -> None:
    sb.configure("rdap", oversize_bytes=100_000)
    assert len(get(sb, "/registry/domain/norway.no").content) > 100_000
    with pytest.raises(SandboxAdminError):
        sb.configure("rdap", oversize_bytes=-1)
    with pytest.raises(SandboxAdminError):
        sb.configure("rdap", unknown_key=1)
