"""The Gandi v5 stand-in over real HTTP: protocol shapes, state, dry-run, delayed visibility, stats."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from sandbox import Sandbox, gandi_day2
from sandbox.testing import GANDI_OWNER, wait_for

TOKEN = "test-token-123"


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(gandi_token=TOKEN) as sandbox:
        yield sandbox


@pytest.fixture(autouse=True)
def _clean(sb: Sandbox) -> None:
    sb.reset()


@pytest.fixture
def api(sb: Sandbox) -> Iterator[requests.Session]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    yield session
    session.close()


def create_body(fqdn: str, **extra: Any) -> dict[str, Any]:
    return {"fqdn": fqdn, "owner": dict(GANDI_OWNER), "duration": 1, **extra}


def check_status(api: requests.Session, sb: Sandbox, name: str) -> str:
    r = api.get(f"{sb.gandi_url}/domain/check", params={"name": name}, timeout=5)
    assert r.status_code == 200
    return r.json()["products"][0]["status"]


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Apikey wrong", "Basic dGVzdA==", "Bearer"])
def test_bad_or_missing_credentials_get_401(sb: Sandbox, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    r = requests.get(f"{sb.gandi_url}/domain/check", params={"name": "a.com"}, headers=headers, timeout=5)
    assert r.status_code == 401
    assert r.json() == {
        "code": 401,
        "message": "Unauthorized",
        "object": "HTTPUnauthorized",
        "cause": "Unauthorized",
    }
    assert sb.stats("gandi")["unauthorized"] == 1


@pytest.mark.parametrize("scheme", ["Bearer", "Apikey"])
def test_bearer_and_apikey_are_accepted(sb: Sandbox, scheme: str) -> None:
    headers = {"Authorization": f"{scheme} {TOKEN}"}
    r = requests.get(f"{sb.gandi_url}/domain/check", params={"name": "a.com"}, headers=headers, timeout=5)
    assert r.status_code == 200


def test_check_shape(api: requests.Session, sb: Sandbox) -> None:
    body = api.get(f"{sb.gandi_url}/domain/check", params={"name": "Example.COM"}, timeout=5).json()
    assert body["currency"] == "EUR" and body["grid"] == "A" and body["taxes"]
    (product,) = body["products"]
    assert product["name"] == "example.com"
    assert product["process"] == "create" and product["status"] == "available"
    price = product["prices"][0]
    assert price["duration_unit"] == "y" and price["min_duration"] == 1 and price["max_duration"] == 10
    assert price["price_after_taxes"] > price["price_before_taxes"] > 0


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("pending-x.com", "pending"),
        ("timeout-x.net", "error_timeout"),
        ("premium-x.org", "unavailable_premium"),
        ("invalid-x.com", "error_invalid"),
        ("no_dots", "error_invalid"),
    ],
)
def test_check_special_names(api: requests.Session, sb: Sandbox, name: str, status: str) -> None:
    assert check_status(api, sb, name) == status


def test_check_missing_name_is_400(api: requests.Session, sb: Sandbox) -> None:
    r = api.get(f"{sb.gandi_url}/domain/check", timeout=5)
    assert r.status_code == 400
    assert r.json()["errors"][0]["name"] == "name"


def test_create_then_delayed_visibility(api: requests.Session, sb: Sandbox) -> None:
    sb.configure("gandi", visibility_delay=1.5)
    r = api.post(f"{sb.gandi_url}/domain/domains", json=create_body("fresh.com", duration=2), timeout=5)
    assert r.status_code == 202
    assert r.headers["Location"] == "/v5/domain/domains/fresh.com"
    assert r.json() == {"message": "Domain creation pending."}
    first = api.get(f"{sb.gandi_url}/domain/domains/fresh.com", timeout=5)
    assert first.status_code == 404
    assert first.json()["object"] == "HTTPNotFound"
    assert check_status(api, sb, "fresh.com") == "unavailable"
    info = wait_for(
        lambda: (r := api.get(f"{sb.gandi_url}/domain/domains/fresh.com", timeout=5)).ok and r.json(),
        timeout=5,
    )
    assert info["fqdn"] == "fresh.com" and info["fqdn_unicode"] == "fresh.com"
    assert info["status"] == ["clientTransferProhibited"] and info["autorenew"] is False
    assert info["authinfo"] and info["id"]
    assert set(info["contacts"]) == {"owner", "admin", "bill", "tech"}
    dates = info["dates"]
    for key in ("registry_created_at", "registry_ends_at", "renew_begins_at", "hold_begins_at", "deletes_at"):
        assert dates[key].endswith("Z")
    created, ends = dates["registry_created_at"], dates["registry_ends_at"]
    assert int(ends[:4]) == int(created[:4]) + 2 and ends[4:] == created[4:]
    assert sb.stats("gandi")["effects"] == {"fresh.com": {"create": 1}}


def test_create_status_201_configurable(api: requests.Session, sb: Sandbox) -> None:
    sb.configure("gandi", create_status=201, visibility_delay=0)
    r = api.post(f"{sb.gandi_url}/domain/domains", json=create_body("now.com"), timeout=5)
    assert r.status_code == 201 and r.headers["Location"].endswith("/now.com")
    assert api.get(f"{sb.gandi_url}/domain/domains/now.com", timeout=5).status_code == 200
    sb.reset()
    assert sb.config("gandi") == {"visibility_delay": 0.3, "create_status": 202, **gandi_day2.CONFIG}


def test_create_conflicts(api: requests.Session, sb: Sandbox) -> None:
    sb.seed_domains("gandi", [{"fqdn": "taken.com", "owner": "other", "expires": "2030-01-01"}])
    assert check_status(api, sb, "taken.com") == "unavailable"
    r = api.post(f"{sb.gandi_url}/domain/domains", json=create_body("taken.com"), timeout=5)
    assert r.status_code == 409
    assert r.json()["object"] == "HTTPConflict" and r.json()["cause"] == "Conflict"
    assert api.get(f"{sb.gandi_url}/domain/domains/taken.com", timeout=5).status_code == 404
    assert (
        api.post(f"{sb.gandi_url}/domain/domains", json=create_body("mine.com"), timeout=5).status_code == 202
    )
    assert (
        api.post(f"{sb.gandi_url}/domain/domains", json=create_body("mine.com"), timeout=5).status_code == 409
    )
    assert sb.stats("gandi")["effects"] == {"mine.com": {"create": 1}}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"owner": {**GANDI_OWNER, "phone": "0123456789"}}, "owner.phone"),
        ({"owner": {**GANDI_OWNER, "country": "France"}}, "owner.country"),
        ({"owner": {**GANDI_OWNER, "email": "nope"}}, "owner.email"),
        ({"owner": {**GANDI_OWNER, "type": True}}, "owner.type"),
        ({"owner": {**GANDI_OWNER, "type": 7}}, "owner.type"),
        ({"owner": {k: v for k, v in GANDI_OWNER.items() if k != "city"}}, "owner.city"),
        ({"admin": {**GANDI_OWNER, "zip": ""}}, "admin.zip"),
        ({"duration": 11}, "duration"),
        ({"duration": "1"}, "duration"),
        ({"nameservers": "ns1.example.net"}, "nameservers"),
        ({"nameservers": [1, 2]}, "nameservers"),
        ({"fqdn": "invalid-x.com"}, "fqdn"),
        ({"fqdn": "premium-x.com"}, "enforce_premium"),
    ],
)
def test_create_validation_errors(api: requests.Session, sb: Sandbox, change: dict, field: str) -> None:
    body = {**create_body("valid.com"), **change}
    r = api.post(f"{sb.gandi_url}/domain/domains", json=body, timeout=5)
    assert r.status_code == 400
    payload = r.json()
    assert payload["status"] == "error"
    assert field in [e["name"] for e in payload["errors"]]
    assert all(e["location"] == "body" and e["description"] for e in payload["errors"])
    assert sb.stats("gandi")["effects"] == {}


def test_dry_run_validates_without_acting(api: requests.Session, sb: Sandbox) -> None:
    url = f"{sb.gandi_url}/domain/domains"
    ok = api.post(url, json=create_body("dry.com"), headers={"Dry-Run": "1"}, timeout=5)
    assert ok.status_code == 200 and ok.json() == {"status": "success"}
    bad_owner = {**GANDI_OWNER, "phone": "12"}
    bad = api.post(url, json=create_body("dry.com", owner=bad_owner), headers={"Dry-Run": "1"}, timeout=5)
    assert bad.status_code == 400 and bad.json()["errors"][0]["name"] == "owner.phone"
    assert check_status(api, sb, "dry.com") == "available"
    assert sb.stats("gandi")["effects"] == {}


def test_info_of_seeded_domains(api: requests.Session, sb: Sandbox) -> None:
    sb.seed_domains(
        "gandi",
        [
            {"fqdn": "ours.com", "owner": "us", "expires": "2030-05-01"},
            {"fqdn": "theirs.com", "owner": "other"},
        ],
    )
    info = api.get(f"{sb.gandi_url}/domain/domains/ours.com", timeout=5).json()
    assert info["dates"]["registry_ends_at"] == "2030-05-01T00:00:00Z"
    assert info["nameservers"]
    missing = api.get(f"{sb.gandi_url}/domain/domains/theirs.com", timeout=5)
    assert missing.status_code == 404
    assert missing.json() == {
        "code": 404,
        "message": "The resource could not be found.",
        "object": "HTTPNotFound",
        "cause": "Not Found",
    }
    assert api.get(f"{sb.gandi_url}/domain/domains/nowhere.com", timeout=5).status_code == 404
    listed = {d["fqdn"]: d for d in sb.domains("gandi")}
    assert listed["ours.com"]["expires"] == "2030-05-01" and listed["theirs.com"]["owner"] == "other"


def test_renew(api: requests.Session, sb: Sandbox) -> None:
    sb.seed_domains("gandi", [{"fqdn": "ours.com", "owner": "us", "expires": "2030-05-01"}])
    base = f"{sb.gandi_url}/domain/domains/ours.com"
    r = api.post(f"{base}/renew", json={"duration": 2}, timeout=5)
    assert r.status_code == 200 and r.json() == {"message": "Domain renewed."}
    assert api.get(base, timeout=5).json()["dates"]["registry_ends_at"] == "2032-05-01T00:00:00Z"
    assert api.post(f"{base}/renew", json={"duration": 0}, timeout=5).status_code == 400
    assert api.post(f"{base}/renew", json={}, timeout=5).json()["errors"][0]["name"] == "duration"
    assert api.post(f"{base}/renewal", json={"duration": 1}, timeout=5).status_code == 404
    unknown = api.post(f"{sb.gandi_url}/domain/domains/nope.com/renew", json={"duration": 1}, timeout=5)
    assert unknown.status_code == 404
    dry = api.post(f"{base}/renew", json={"duration": 1}, headers={"Dry-Run": "1"}, timeout=5)
    assert dry.json() == {"status": "success"}
    info = api.get(f"{base}/renew", timeout=5).json()
    assert info["durations"] == list(range(1, 11)) and info["prohibited"] is False
    assert info["begins_at"] and info["contracts"] == []
    stats = sb.stats("gandi")
    assert stats["effects"] == {"ours.com": {"renew": 1}}
    assert stats["by_operation"]["renew"] == 5 and stats["by_operation"]["renew_info"] == 1


def test_nameservers(api: requests.Session, sb: Sandbox) -> None:
    sb.seed_domains("gandi", [{"fqdn": "ours.com", "owner": "us"}])
    url = f"{sb.gandi_url}/domain/domains/ours.com/nameservers"
    hosts = ["ns1.example.net", "ns2.example.net"]
    r = api.put(url, json={"nameservers": hosts}, timeout=5)
    assert r.status_code == 202 and r.json() == {"message": "Nameservers updated."}
    assert api.put(url, json=hosts, timeout=5).status_code == 400
    assert api.get(url, timeout=5).json() == hosts
    assert api.get(f"{sb.gandi_url}/domain/domains/ours.com", timeout=5).json()["nameservers"] == hosts


def test_unknown_path_and_method(api: requests.Session, sb: Sandbox) -> None:
    r = api.get(f"{sb.gandi_url}/nothing/here", timeout=5)
    assert r.status_code == 404 and r.json()["object"] == "HTTPNotFound"
    r = api.delete(f"{sb.gandi_url}/domain/check", timeout=5)
    assert r.status_code == 405 and r.json()["object"] == "HTTPMethodNotAllowed"
    r = api.post(f"{sb.gandi_url}/domain/domains", data=b"{not json", timeout=5)
    assert r.status_code == 400 and r.json()["code"] == 400


def test_stats_counters(api: requests.Session, sb: Sandbox) -> None:
    for name in ("a.com", "b.com", "c.com"):
        check_status(api, sb, name)
    api.post(f"{sb.gandi_url}/domain/domains", json=create_body("a.com"), timeout=5)
    api.get(f"{sb.gandi_url}/domain/domains/zzz.com", timeout=5)
    sb.stats("gandi")  # admin calls are not counted
    stats = sb.stats("gandi")
    assert stats["requests"] == 5
    zeros = {"renew": 0, "renew_info": 0, "nameservers": 0, **dict.fromkeys(gandi_day2.OPERATIONS, 0)}
    assert stats["by_operation"] == {"check": 3, "create": 1, "info": 1, **zeros}
    assert stats["by_status"] == {"200": 3, "202": 1, "404": 1}
    assert stats["effects"] == {"a.com": {"create": 1}}
    assert stats["faults_injected"] == {}
    times = stats["request_times"]
    assert len(times) == 5 and times == sorted(times)
    sb.reset("gandi")
    assert sb.stats("gandi")["requests"] == 0


def test_many_concurrent_connections(sb: Sandbox) -> None:
    def one(i: int) -> int:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        params = {"name": f"c{i}.com"}
        return requests.get(
            f"{sb.gandi_url}/domain/check", params=params, headers=headers, timeout=10
        ).status_code

    with ThreadPoolExecutor(max_workers=48) as pool:
        codes = list(pool.map(one, range(192)))
    assert codes == [200] * 192
    assert sb.stats("gandi")["by_operation"]["check"] == 192
