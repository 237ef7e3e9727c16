"""Fault injection on both stand-ins: every kind, probability/seed/count, and the fault stats."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
import requests
from requests.auth import HTTPDigestAuth

from sandbox import Sandbox, SandboxAdminError
from sandbox.testing import GANDI_OWNER, ROTLD_PERSON, wait_for

TOKEN = "sandbox-token"


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture(autouse=True)
def _clean(sb: Sandbox) -> None:
    sb.reset()
    sb.configure("gandi", visibility_delay=0)


@pytest.fixture
def api() -> Iterator[requests.Session]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    yield session
    session.close()


def check(api: requests.Session, sb: Sandbox, name: str = "x.com", **kw: Any) -> requests.Response:
    return api.get(f"{sb.gandi_url}/domain/check", params={"name": name}, timeout=kw.pop("timeout", 5), **kw)


def create(api: requests.Session, sb: Sandbox, fqdn: str, timeout: float = 5) -> requests.Response:
    body = {"fqdn": fqdn, "owner": GANDI_OWNER, "duration": 1}
    return api.post(f"{sb.gandi_url}/domain/domains", json=body, timeout=timeout)


def product_status(api: requests.Session, sb: Sandbox, name: str) -> str:
    return check(api, sb, name).json()["products"][0]["status"]


def test_status_fault_fires_count_times_with_retry_after(api: requests.Session, sb: Sandbox) -> None:
    sb.set_faults(
        "gandi", [{"operation": "check", "kind": "status", "status": 503, "retry_after": 3, "count": 2}]
    )
    for _ in range(2):
        r = check(api, sb)
        assert r.status_code == 503 and r.headers["Retry-After"] == "3"
        assert r.json() == {
            "code": 503,
            "message": "Service Unavailable",
            "object": "HTTPServiceUnavailable",
            "cause": "Service Unavailable",
        }
    assert check(api, sb).status_code == 200
    assert sb.get_faults("gandi")["rules"][0]["fired"] == 2
    stats = sb.stats("gandi")
    assert stats["faults_injected"] == {"status": 2}
    assert stats["by_status"] == {"503": 2, "200": 1}


def test_one_shot_429_with_http_date(api: requests.Session, sb: Sandbox) -> None:
    rule = {"operation": "*", "kind": "status", "status": 429, "retry_after": 3, "retry_after_form": "date"}
    sb.set_faults("gandi", [{**rule, "count": 1}])
    r = check(api, sb)
    assert r.status_code == 429 and r.json()["object"] == "HTTPTooManyRequests"
    when = parsedate_to_datetime(r.headers["Retry-After"])
    assert 1 <= (when - datetime.now(UTC)).total_seconds() <= 5
    assert check(api, sb).status_code == 200


@pytest.mark.parametrize("form", ["seconds", "date"])
def test_rate_limit_token_bucket(api: requests.Session, sb: Sandbox, form: str) -> None:
    sb.set_faults(
        "gandi",
        [{"operation": "check", "kind": "rate_limit", "rate": 0.5, "burst": 2, "retry_after_form": form}],
    )
    codes = [check(api, sb).status_code for _ in range(2)]
    limited = check(api, sb)
    assert codes == [200, 200] and limited.status_code == 429
    header = limited.headers["Retry-After"]
    if form == "seconds":
        assert header.isdigit() and 1 <= int(header) <= 2
    else:
        delta = (parsedate_to_datetime(header) - datetime.now(UTC)).total_seconds()
        assert 0 < delta <= 3
    assert create(api, sb, "other-op.com").status_code == 202  # a rule only hits its operation
    assert sb.stats("gandi")["faults_injected"] == {"rate_limit": 1}


def test_latency(api: requests.Session, sb: Sandbox) -> None:
    sb.set_faults("gandi", [{"operation": "check", "kind": "latency", "ms": 250}])
    started = time.monotonic()
    assert check(api, sb).status_code == 200
    assert time.monotonic() - started >= 0.25


def test_timeout_applies_nothing(api: requests.Session, sb: Sandbox) -> None:
    sb.set_faults("gandi", [{"operation": "create", "kind": "timeout", "seconds": 30}])
    with pytest.raises(requests.exceptions.ReadTimeout):
        create(api, sb, "slow.com", timeout=0.3)
    sb.clear_faults("gandi")
    assert product_status(api, sb, "slow.com") == "available"
    assert sb.stats("gandi")["effects"] == {}
    sb.reset("gandi")  # wakes the sleeping handler, which then answers nothing and counts nothing
    assert product_status(api, sb, "slow.com") == "available"
    assert sb.stats("gandi")["by_status"] == {"200": 1}


def test_non_json_body(api: requests.Session, sb: Sandbox) -> None:
    sb.set_faults("gandi", [{"operation": "create", "kind": "non_json"}])
    r = create(api, sb, "html.com")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    with pytest.raises(requests.exceptions.JSONDecodeError):
        r.json()
    assert sb.stats("gandi")["effects"] == {}


def test_truncated_body_after_the_effect(api: requests.Session, sb: Sandbox) -> None:
    sb.set_faults("gandi", [{"operation": "create", "kind": "truncated"}])
    r = create(api, sb, "cut.com")
    assert r.status_code == 202 and r.content.startswith(b"{")
    assert int(r.headers["Content-Length"]) == len(r.content)
    with pytest.raises(requests.exceptions.JSONDecodeError):
        r.json()
    assert sb.stats("gandi")["effects"] == {"cut.com": {"create": 1}}


def test_forbidden_html(api: requests.Session, sb: Sandbox) -> None:
    sb.set_faults("gandi", [{"operation": "info", "kind": "forbidden_html"}])
    r = api.get(f"{sb.gandi_url}/domain/domains/a.com", timeout=5)
    assert r.status_code == 403 and b"<html>" in r.content


def test_commit_drop_applies_then_disconnects(api: requests.Session, sb: Sandbox) -> None:
    sb.set_faults("gandi", [{"operation": "create", "kind": "commit_drop", "count": 1}])
    with pytest.raises(requests.exceptions.ConnectionError):
        create(api, sb, "dropped.com")
    assert sb.stats("gandi")["effects"] == {"dropped.com": {"create": 1}}
    assert create(api, sb, "dropped.com").status_code == 409  # it did happen
    info = wait_for(lambda: api.get(f"{sb.gandi_url}/domain/domains/dropped.com", timeout=5).ok)
    assert info


def test_reset_before_applies_nothing(api: requests.Session, sb: Sandbox) -> None:
    sb.set_faults("gandi", [{"operation": "create", "kind": "reset_before"}])
    with pytest.raises(requests.exceptions.ConnectionError):
        create(api, sb, "never.com")
    sb.clear_faults("gandi")
    assert product_status(api, sb, "never.com") == "available"
    stats = sb.stats("gandi")
    assert stats["effects"] == {} and stats["faults_injected"] == {"reset_before": 1}


def test_probability_is_reproducible_with_a_seed(api: requests.Session, sb: Sandbox) -> None:
    def pattern() -> list[int]:
        sb.set_faults(
            "gandi", [{"operation": "check", "kind": "status", "status": 500, "probability": 0.5}], seed=7
        )
        return [check(api, sb).status_code for _ in range(20)]

    first = pattern()
    assert set(first) == {200, 500}
    assert pattern() == first


def test_bad_fault_config_is_rejected(sb: Sandbox) -> None:
    with pytest.raises(SandboxAdminError):
        sb.set_faults("gandi", [{"operation": "check", "kind": "explode"}])
    with pytest.raises(SandboxAdminError):
        sb.set_faults("gandi", [{"operation": "check", "kind": "rate_limit"}])
    with pytest.raises(SandboxAdminError):
        sb.set_faults("gandi", [{"operation": "check", "kind": "status", "status": 503, "probability": 2}])
    assert sb.get_faults("gandi")["rules"] == []


@pytest.fixture
def rotld(sb: Sandbox) -> Iterator[Any]:
    session = requests.Session()
    session.auth = HTTPDigestAuth("sandbox-user", "sandbox-pass")

    def call(command: str, **params: Any) -> requests.Response:
        return session.post(sb.rotld_url, data={"command": command, **params}, timeout=5)

    yield call
    session.close()


def test_rotld_status_fault_has_no_envelope(rotld: Any, sb: Sandbox) -> None:
    sb.set_faults("rotld", [{"operation": "check-availability", "kind": "status", "status": 503, "count": 1}])
    assert rotld("hello").status_code == 200
    r = rotld("check-availability", domain="a.ro")
    assert r.status_code == 503 and r.headers["Content-Type"].startswith("text/html")
    assert rotld("check-availability", domain="a.ro").json()["result_code"] == "00200"


def test_rotld_commit_drop_on_register(rotld: Any, sb: Sandbox) -> None:
    cid = rotld("contact-create", **ROTLD_PERSON).json()["data"]["cid"]
    sb.set_faults("rotld", [{"operation": "domain-register", "kind": "commit_drop", "count": 1}])
    params = {"domain": "picat.ro", "c_registrant": cid, "domain_period": 1, "domain_password": "Secret123"}
    with pytest.raises(requests.exceptions.ConnectionError):
        rotld("domain-register", **params)
    assert sb.stats("rotld")["effects"] == {"picat.ro": {"create": 1}}
    assert rotld("domain-register", **params).json()["result_code"] == "50300"
    assert rotld("domain-info", domain="picat.ro").json()["data"]["registrant_id"] == cid


def test_rotld_rate_limit(rotld: Any, sb: Sandbox) -> None:
    sb.set_faults("rotld", [{"operation": "*", "kind": "rate_limit", "rate": 0.5, "burst": 1}])
    assert rotld("hello").status_code == 200
    r = rotld("hello")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
