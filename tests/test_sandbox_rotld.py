"""The ROTLD stand-in over real HTTP: Digest auth, the envelope, contacts, domains, result codes."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from requests.auth import HTTPDigestAuth

from sandbox import Sandbox
from sandbox.testing import ROTLD_COMPANY, ROTLD_PERSON

USER, PASSWORD = "reg-user", "reg-secret"


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(rotld_user=USER, rotld_password=PASSWORD) as sandbox:
        yield sandbox


@pytest.fixture(autouse=True)
def _clean(sb: Sandbox) -> None:
    sb.reset()


@pytest.fixture
def rotld(sb: Sandbox) -> Iterator[Any]:
    session = requests.Session()
    session.auth = HTTPDigestAuth(USER, PASSWORD)

    def call(command: str, **params: Any) -> dict[str, Any]:
        form = {"command": command, "lang": "en", "format": "json", **params}
        r = session.post(sb.rotld_url, data=form, timeout=5)
        assert r.status_code == 200, r.text
        return r.json()

    yield call
    session.close()


def ok(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["error"] == 0 and answer["result_code"] == "00200", answer
    return answer["data"]


def fails(answer: dict[str, Any], code: str) -> dict[str, Any]:
    assert answer["error"] == 1 and answer["result_code"] == code, answer
    assert answer["result_message"]
    return answer


def register(rotld: Any, domain: str, years: int = 1) -> dict[str, Any]:
    cid = ok(rotld("contact-create", **ROTLD_PERSON))["cid"]
    params = {"domain": domain, "c_registrant": cid, "domain_period": years, "domain_password": "Secret123"}
    return rotld("domain-register", reservation=0, **params)


def test_digest_auth_accepted_and_envelope(rotld: Any) -> None:
    answer = rotld("hello")
    assert set(answer) == {"error", "result_code", "result_message", "data"}
    ok(answer)


@pytest.mark.parametrize("auth", [None, HTTPDigestAuth(USER, "wrong"), HTTPDigestAuth("someone", PASSWORD)])
def test_bad_credentials_get_401_with_digest_challenge(sb: Sandbox, auth: HTTPDigestAuth | None) -> None:
    r = requests.post(sb.rotld_url, data={"command": "hello"}, auth=auth, timeout=5)
    assert r.status_code == 401
    challenge = r.headers["WWW-Authenticate"]
    assert challenge.startswith("Digest ")
    for part in ('realm="rest2.rotld.ro"', "nonce=", "opaque=", 'qop="auth"'):
        assert part in challenge
    by_operation = sb.stats("rotld")["by_operation"]
    assert "domain-register" in by_operation and sum(by_operation.values()) == 0


def _digest_header(nonce: str, uri: str, password: str = PASSWORD, opaque: str | None = None) -> str:
    def md5(text: str) -> str:
        return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()

    ha1, ha2 = md5(f"{USER}:rest2.rotld.ro:{password}"), md5(f"POST:{uri}")
    response = md5(f"{ha1}:{nonce}:00000001:abc:auth:{ha2}")
    header = (
        f'Digest username="{USER}", realm="rest2.rotld.ro", nonce="{nonce}", uri="{uri}", '
        f'response="{response}", qop=auth, nc=00000001, cnonce="abc", algorithm=MD5'
    )
    return header + (f', opaque="{opaque}"' if opaque else "")


def test_digest_checks_nonce_and_uri(sb: Sandbox) -> None:
    first = requests.post(sb.rotld_url, data={"command": "hello"}, timeout=5)
    fields = dict(re.findall(r'(\w+)="([^"]*)"', first.headers["WWW-Authenticate"]))
    nonce, opaque = fields["nonce"], fields["opaque"]

    def post(header: str) -> requests.Response:
        return requests.post(
            sb.rotld_url, data={"command": "hello"}, headers={"Authorization": header}, timeout=5
        )

    assert post(_digest_header(nonce, "/", opaque=opaque)).status_code == 200
    forged = post(_digest_header("0" * 32, "/", opaque=opaque))
    assert forged.status_code == 401 and "stale=true" in forged.headers["WWW-Authenticate"]
    assert post(_digest_header(nonce, "/other", opaque=opaque)).status_code == 401
    assert post(_digest_header(nonce, "/", password="nope", opaque=opaque)).status_code == 401
    assert post(_digest_header(nonce, "/", opaque="f" * 32)).status_code == 401


def test_non_post_is_405(sb: Sandbox) -> None:
    r = requests.get(sb.rotld_url, auth=HTTPDigestAuth(USER, PASSWORD), timeout=5)
    assert r.status_code == 405 and r.headers["Allow"] == "POST"


def test_unknown_and_missing_command(rotld: Any) -> None:
    fails(rotld("domain-teleport"), "10002")
    answer = fails(rotld(""), "10001")
    assert answer["data"] == {"parameter": "command"}


def test_contact_create_and_info(rotld: Any) -> None:
    first = ok(rotld("contact-create", **ROTLD_PERSON))["cid"]
    second = ok(rotld("contact-create", **ROTLD_COMPANY))["cid"]
    assert re.fullmatch(r"C\d+", first) and int(second[1:]) == int(first[1:]) + 1
    info = ok(rotld("contact-info", cid=second))
    assert info["cid"] == second and info["name"] == "Exemplu SRL" and info["person_type"] == "c"
    fails(rotld("contact-info", cid="C1"), "50006")
    foreign = {**ROTLD_PERSON, "country_code": "FR"}
    del foreign["cnp_fiscal_code"]
    ok(rotld("contact-create", **foreign))


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"name": "A"}, "50102"),
        ({"name": "x" * 129}, "50102"),
        ({"person_type": "x"}, "50106"),
        ({"city": "C" * 41}, "50122"),
        ({"country_code": "Romania"}, "50122"),
        ({"email": "not-an-email"}, "50125"),
        ({"phone": "0727636787"}, "50129"),
        ({"fax": "+40 21 000"}, "50129"),
        ({"cnp_fiscal_code": ""}, "50137"),
        ({"cnp_fiscal_code": "2970816362386"}, "50137"),
        ({"person_type": "c", "cnp_fiscal_code": "RO18547290"}, "50137"),  # no registration_number
        ({"address1": ""}, "10001"),
    ],
)
def test_contact_validation_codes(rotld: Any, change: dict[str, str], code: str) -> None:
    answer = fails(rotld("contact-create", **{**ROTLD_PERSON, **change}), code)
    if code == "10001":
        assert answer["data"] == {"parameter": "address1"}
        assert "address1" in answer["result_message"]


def test_register_info_renew(rotld: Any, sb: Sandbox) -> None:
    assert ok(rotld("check-availability", domain="nou.ro"))["status"] == "Available"
    assert ok(register(rotld, "nou.ro", years=2)) == {"domain": "nou.ro"}
    assert ok(rotld("check-availability", domain="nou.ro"))["status"] == "Not Available"
    info = ok(rotld("domain-info", domain="nou.ro"))
    assert set(info) >= {"domain", "expiration_date", "registration_date", "statuses", "nameservers"}
    assert info["statuses"] == ["OK"] and re.fullmatch(r"C\d+", info["registrant_id"])
    start, end = info["registration_date"], info["expiration_date"]
    assert int(end[:4]) == int(start[:4]) + 2
    ok(rotld("domain-renew", domain="nou.ro", domain_period=3))
    assert ok(rotld("domain-info", domain="nou.ro"))["expiration_date"] == f"{int(end[:4]) + 3}{end[4:]}"
    renewal = ok(rotld("check-renewal-availability", domain="nou.ro"))
    assert renewal["renewable"] == 1
    fails(register(rotld, "nou.ro"), "50300")
    assert sb.stats("rotld")["effects"] == {"nou.ro": {"create": 1, "renew": 1}}
    assert ok(rotld("check-balance"))["currency"] == "RON"


def test_register_errors(rotld: Any, sb: Sandbox) -> None:
    sb.seed_domains("rotld", [{"fqdn": "luat.ro", "owner": "other"}])
    cid = ok(rotld("contact-create", **ROTLD_PERSON))["cid"]
    base = {"domain": "bun.ro", "c_registrant": cid, "domain_period": "1", "domain_password": "Secret123"}
    fails(rotld("domain-register", **{**base, "domain": "luat.ro"}), "50300")
    fails(rotld("domain-register", **{**base, "domain": "example.com"}), "50002")
    fails(rotld("domain-register", **{**base, "domain": "com.ro"}), "50002")
    fails(rotld("domain-register", **{**base, "domain_password": "weakpass"}), "50014")
    fails(rotld("domain-register", **{**base, "c_registrant": "C999"}), "50006")
    fails(rotld("domain-register", **{**base, "domain_period": "11"}), "10003")
    fails(rotld("domain-register", **{**base, "reservation": "2"}), "10003")
    missing = {k: v for k, v in base.items() if k != "domain_password"}
    assert fails(rotld("domain-register", **missing), "10001")["data"] == {"parameter": "domain_password"}
    ok(rotld("domain-register", **{**base, "domain": "firma.com.ro"}))
    assert sb.stats("rotld")["effects"] == {"firma.com.ro": {"create": 1}}


def test_renew_and_info_need_our_domain(rotld: Any, sb: Sandbox) -> None:
    sb.seed_domains(
        "rotld",
        [
            {"fqdn": "al-lor.ro", "owner": "other"},
            {"fqdn": "al-meu.ro", "owner": "us", "expires": "2031-03-04"},
        ],
    )
    fails(rotld("domain-renew", domain="al-lor.ro", domain_period=1), "50002")
    fails(rotld("domain-info", domain="al-lor.ro"), "50002")
    fails(rotld("domain-info", domain="nimic.ro"), "50002")
    assert ok(rotld("domain-info", domain="al-meu.ro"))["expiration_date"] == "2031-03-04"
    ok(rotld("domain-renew", domain="al-meu.ro", domain_period=1))
    assert ok(rotld("domain-info", domain="al-meu.ro"))["expiration_date"] == "2032-03-04"


def test_reset_ns(rotld: Any) -> None:
    ok(register(rotld, "ns-test.ro"))
    ok(rotld("domain-reset-ns", domain="ns-test.ro", nameservers="ns1.example.net, ns2.example.net"))
    assert ok(rotld("domain-info", domain="ns-test.ro"))["nameservers"] == [
        "ns1.example.net",
        "ns2.example.net",
    ]
    fails(
        rotld("domain-reset-ns", domain="ns-test.ro", nameservers="ns1.ns-test.ro,ns2.example.net"), "10502"
    )
    fails(rotld("domain-reset-ns", domain="ns-test.ro", nameservers="bad_host!"), "10501")
    fails(rotld("domain-reset-ns", domain="ns-test.ro"), "10001")


def test_stats_by_command(rotld: Any, sb: Sandbox) -> None:
    rotld("hello")
    rotld("check-availability", domain="a.ro")
    rotld("check-availability", domain="b.ro")
    stats = sb.stats("rotld")
    assert {k: n for k, n in stats["by_operation"].items() if n} == {"hello": 1, "check-availability": 2}
    assert stats["unauthorized"] == 1  # the first Digest challenge of the session
    assert stats["requests"] == 4 and len(stats["request_times"]) == 4
    assert stats["by_status"] == {"401": 1, "200": 3}


def test_concurrent_digest_clients(sb: Sandbox) -> None:
    def worker(i: int) -> list[str]:
        with requests.Session() as session:
            session.auth = HTTPDigestAuth(USER, PASSWORD)
            codes = []
            for j in range(5):
                form = {"command": "check-availability", "domain": f"d{i}-{j}.ro"}
                r = session.post(sb.rotld_url, data=form, timeout=10)
                codes.append(r.json()["result_code"])
            return codes

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(worker, range(32)))
    assert all(codes == ["00200"] * 5 for codes in results)
    assert sb.stats("rotld")["by_operation"]["check-availability"] == 160
