"""The RDAP parser over EVERY real RDAP sample (``testkit.samples``; sources in tests/data/rdap/SOURCES.md),
each with its expected values, plus the traps real servers set, as variants of those answers: capitalised
roles, nested entities, missing vCards, dates without ``T`` or zone, error bodies and rate-limit notices."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.errors import ProtocolError, RateLimited, TransientError
from shared.http.client import HttpResponse
from shared.registrydata.model import Registration
from shared.registrydata.rdap.answers import interpret
from shared.registrydata.rdap.ip import ip_registrant
from shared.registrydata.rdap.parse import (
    entity_name,
    error_body,
    events,
    merge,
    object_host,
    parse_date,
    parse_domain,
    rate_limit_notice,
    related_links,
    stated_wait,
    statuses,
)
from testkit.samples import sample, samples

DATA = Path(__file__).parent / "data" / "rdap"  # SOURCES.md lists every sample, wherever it is kept


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def load(name: str) -> dict[str, Any]:
    return json.loads(sample("rdap", name).read_text("utf-8"))


DOMAINS: dict[str, dict[str, Any]] = {
    "whoisit__domain1.json": {
        "registrar": "MarkMonitor Inc.",
        "created": utc(1997, 9, 15, 4, 0, 0),
        "expires": utc(2028, 9, 14, 4, 0, 0),
        "updated": None,  # only "last update of RDAP database", which is not the domain's change
        "statuses": [
            "client delete prohibited",
            "client transfer prohibited",
            "client update prohibited",
            "server delete prohibited",
            "server transfer prohibited",
            "server update prohibited",
        ],
        "nameservers": ["ns1.google.com", "ns2.google.com", "ns3.google.com", "ns4.google.com"],
        "registrant": None,
        "related": ["https://rdap.markmonitor.com/rdap/domain/GOOGLE.COM"],
    },
    "whoisit__domain2.json": {
        "registrar": "Domeneshop AS",
        "created": utc(2017, 1, 24, 12, 9, 23),
        "expires": None,
        "updated": utc(2021, 1, 14, 5, 16, 59),
        "statuses": [],
        "nameservers": [
            "ns1-09.azure-dns.com",
            "ns2-09.azure-dns.net",
            "ns3-09.azure-dns.org",
            "ns4-09.azure-dns.info",
        ],
        "registrant": None,
        "related": [],
    },
    "whoisit__domain3.json": {
        "registrar": "Hosting Concepts B.V. d/b/a Registrar.eu",
        "created": utc(2021, 3, 16, 17, 7, 37),
        "expires": utc(2022, 3, 16, 17, 7, 37),
        "updated": None,
        "statuses": ["client transfer prohibited"],
        "nameservers": ["ns1.dns-parking.com", "ns2.dns-parking.com"],
        "registrant": None,
        "related": ["https://rdap.registrar.eu/v1/domain/THEMARQUETRY.COM"],
    },
    "openrdap__cz__domain-example.cz.json": {
        "registrar": "REG-INTERNET-CZ",  # no vCard at rdap.nic.cz: the registrar's handle
        "created": utc(2004, 8, 30, 22, 55, 0),
        "expires": utc(2019, 8, 30, 12, 0, 0),
        "updated": None,
        "statuses": ["active"],
        "nameservers": ["ns2.pipni.cz", "ns3.pipni.cz", "ns.pipni.cz"],
        "registrant": None,  # a registrant entity without a vCard names nobody
        "related": [],
    },
    "xn--fo-5ja_example.json": {
        "registrar": None,
        "created": utc(1990, 12, 31, 23, 59, 59),
        "expires": utc(2016, 12, 31, 23, 59, 59),
        "updated": utc(1991, 12, 31, 23, 59, 59),
        "statuses": ["locked", "transfer prohibited"],
        "nameservers": ["ns1.example.com", "ns2.example.com"],
        "registrant": "Joe User",
        "related": [],
    },
    "0_2_192_in-addr_arpa.json": {
        "registrar": None,
        "created": utc(1990, 12, 31, 23, 59, 59),
        "expires": None,
        "updated": utc(1991, 12, 31, 23, 59, 59),
        "statuses": [],
        "nameservers": ["ns1.rir.example", "ns2.rir.example"],
        "registrant": "Joe User",
        "related": [],
    },
}
IP_NETWORKS = {
    "whoisit__ip_v4.json": "APNIC-LABS",  # APNIC: no registrant role -> the network name
    "whoisit__ip_v4_2.json": "SWITCH-LAN",  # RIPE: registrant entities without vCards -> the network name
    "whoisit__ip_v4_3.json": "Microsoft Corporation",  # ARIN: registrant fn, contacts nested inside it
    "whoisit__ip_v6.json": "Google LLC",
    "whoisit__cidr_v6.json": "Google LLC",
    "2001_db8__.json": "Joe User",
}
ENTITIES = {
    "entity-rfc9083-fig15.json": ("Joe User", [], {"registration": utc(1990, 12, 31, 23, 59, 59)}),
    "entity-rfc9083-fig17.json": (
        "Joe User",
        ["validated", "locked"],
        {"registration": utc(1990, 12, 31, 23, 59, 59), "last changed": utc(1991, 12, 31, 23, 59, 59)},
    ),
    "whoisit__entity.json": (
        "Govital Internet Inc.",
        [],
        {"last changed": utc(2017, 1, 28, 13, 32, 29), "registration": utc(2001, 5, 8, 4, 0, 0)},
    ),
}
NAMESERVERS = {
    "ns1_xn--fo-5ja_example.json": ("ns1.xn--fo-5ja.example", ["active"]),
    "openrdap__cz__nameserver-ns2.pipni.cz.json": ("ns2.pipni.cz", []),
}


def test_every_fixture_has_expected_values() -> None:
    files = {p.name for p in samples("rdap", "*.json")}
    covered = set(DOMAINS) | set(IP_NETWORKS) | set(ENTITIES) | set(NAMESERVERS)
    assert files == covered, files ^ covered
    listed = (DATA / "SOURCES.md").read_text()
    assert all(f"| {name} |" in listed for name in files)


@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_domain_fixture(name: str) -> None:
    expected = DOMAINS[name]
    obj = load(name)
    reg = parse_domain(obj, "https://rdap.example/")
    assert reg.source == "rdap" and reg.server == "https://rdap.example/"
    for key in ("registrar", "created", "expires", "updated", "statuses", "nameservers", "registrant"):
        assert getattr(reg, key) == expected[key], key
    assert related_links(obj) == expected["related"]
    assert Registration.from_dict(reg.to_dict()) == reg


@pytest.mark.parametrize("name", sorted(IP_NETWORKS))
def test_ip_fixture(name: str) -> None:
    assert ip_registrant(load(name)) == IP_NETWORKS[name]


@pytest.mark.parametrize("name", sorted(ENTITIES))
def test_entity_fixture(name: str) -> None:
    obj = load(name)
    fn, status, when = ENTITIES[name]
    assert (entity_name(obj), statuses(obj), events(obj)) == (fn, status, when)


@pytest.mark.parametrize("name", sorted(NAMESERVERS))
def test_nameserver_fixture(name: str) -> None:
    obj = load(name)
    assert (object_host(obj), statuses(obj)) == NAMESERVERS[name]


def test_apnic_html_related_link_is_skipped() -> None:
    # whoisit__ip_v4.json has a related link of type text/html (a web page): never followed
    assert related_links(load("whoisit__ip_v4.json")) == []


# --- the traps, as variants of real answers -------------------------------------------------------
def test_capitalised_roles_and_registrar_nested_under_another_entity() -> None:
    obj = copy.deepcopy(load("whoisit__domain2.json"))
    registrar = next(e for e in obj["entities"] if "registrar" in e["roles"])
    obj["entities"] = [e for e in obj["entities"] if e is not registrar]
    registrar["roles"] = ["Registrar"]
    obj["entities"][0]["entities"] = [registrar]  # nested inside the technical contact
    obj["entities"].append({"objectClassName": "entity", "roles": ["REGISTRANT"], "vcardArray": [
        "vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", "Norway Holder AS"]]]})  # fmt: skip
    reg = parse_domain(obj, "s")
    assert reg.registrar == "Domeneshop AS"
    assert reg.registrant == "Norway Holder AS"


def test_entities_without_roles_or_vcards_name_nobody() -> None:
    obj = copy.deepcopy(load("whoisit__ip_v4_3.json"))
    for entity in obj["entities"]:
        entity.pop("roles")  # AFRINIC-style: no roles at all
    assert ip_registrant(obj) == "MSFT"  # the network name, not a role-less entity's fn
    obj = copy.deepcopy(load("whoisit__domain1.json"))
    obj["entities"][0].pop("vcardArray")
    assert parse_domain(obj, "s").registrar == "292"  # the handle (the IANA registrar id) stands in


def test_empty_fn_is_no_name() -> None:
    obj = copy.deepcopy(load("whoisit__domain1.json"))
    abuse = obj["entities"][0]["entities"][0]
    abuse["roles"] = ["registrant"]  # Verisign's abuse entity has fn "": not a registrant name
    assert parse_domain(obj, "s").registrant is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1997-09-15T04:00:00Z", utc(1997, 9, 15, 4, 0, 0)),
        ("2004-08-30T22:55:00+00:00", utc(2004, 8, 30, 22, 55, 0)),
        ("2017-01-28T08:32:29-05:00", utc(2017, 1, 28, 13, 32, 29)),
        ("2021-04-23T21:50:03", utc(2021, 4, 23, 21, 50, 3)),  # no zone: UTC (whodap's docs show these)
        ("2021-04-23 21:50:03", utc(2021, 4, 23, 21, 50, 3)),  # no T
        ("2021-04-23 21:50:03+0200", utc(2021, 4, 23, 19, 50, 3)),
        ("2021-04-23T21:50:03.123Z", datetime(2021, 4, 23, 21, 50, 3, 123000, tzinfo=UTC)),
        ("2028-09-14", date(2028, 9, 14)),
        ("", None),
        ("soon", None),
        (None, None),
    ],
)
def test_dates(text: str | None, expected: date | datetime | None) -> None:
    assert parse_date(text) == expected


def test_loose_dates_in_a_real_answer() -> None:
    obj = copy.deepcopy(load("whoisit__domain3.json"))
    for event in obj["events"]:
        event["eventDate"] = event["eventDate"].replace("T", " ").removesuffix("Z")
        event["eventAction"] = event["eventAction"].title()  # "Registration", "Expiration"
    reg = parse_domain(obj, "s")
    assert (reg.created, reg.expires) == (utc(2021, 3, 16, 17, 7, 37), utc(2022, 3, 16, 17, 7, 37))
    assert reg.to_dict()["expires"] == "2022-03-16T17:07:37.000Z"  # shared/timestamps.py


def test_merge_keeps_the_registry_and_adds_the_registrant() -> None:
    registry = parse_domain(load("whoisit__domain1.json"), "https://rdap.verisign.com/com/v1/")
    registrar = Registration("rdap", "https://rdap.markmonitor.com/", registrar="MarkMonitor, Inc.",
                             expires=utc(2030, 1, 1), registrant="Google LLC")  # fmt: skip
    merged = merge(registry, registrar)
    assert merged.server == "https://rdap.verisign.com/com/v1/"
    assert merged.registrar == "MarkMonitor Inc." and merged.expires == registry.expires
    assert merged.registrant == "Google LLC"


# --- error bodies and throttling -------------------------------------------------------------------
def response(status: int, body: Any, headers: dict[str, str] | None = None) -> HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpResponse("rdap.example", status, headers or {}, raw)


RFC9083_ERROR = {"errorCode": 418, "title": "Your Beverage Choice is Not Available",
                 "description": ["I know coffee has more ummppphhh.", "Sorry, dude!"]}  # fmt: skip


def test_rfc9083_error_body() -> None:  # RFC 9083 section 6, figure 27
    assert error_body(RFC9083_ERROR) == (
        418,
        "Your Beverage Choice is Not Available: I know coffee has more ummppphhh.; Sorry, dude!",
    )
    assert error_body(load("whoisit__domain1.json")) is None
    with pytest.raises(ProtocolError) as info:
        interpret(response(418, RFC9083_ERROR), 300.0)
    assert info.value.upstream_code == "418" and "Beverage" in info.value.message


def test_status_mapping() -> None:
    assert interpret(response(404, {"errorCode": 404, "title": "Not Found"}), 300.0) is None
    assert interpret(response(200, {"errorCode": 404, "title": "Not Found"}), 300.0) is None  # 200 + error
    assert (interpret(response(200, load("whoisit__domain2.json")), 300.0) or {})["ldhName"] == "norway.no"
    with pytest.raises(TransientError):
        interpret(response(502, b"<html>Bad Gateway</html>"), 300.0)
    with pytest.raises(TransientError):
        interpret(response(503, {"errorCode": 503, "title": "Service Unavailable"}), 300.0)
    with pytest.raises(RateLimited) as info:
        interpret(response(503, {"errorCode": 503}, {"Retry-After": "1.2"}), 300.0)
    assert info.value.retry_after == 2.0  # rounded up
    with pytest.raises(ProtocolError):
        interpret(response(200, b"<html>maintenance</html>"), 300.0)


@pytest.mark.parametrize(
    ("status", "body", "wait"),
    [
        (403, b"Number of allowed queries exceeded.", 77.0),  # no wait given: the default
        (
            403,
            {"errorCode": 403, "title": "Forbidden", "description": ["Number of allowed queries exceeded"]},
            77.0,
        ),
        (422, {"errorCode": 422, "description": ["Your access is too fast,please try again later."]}, 77.0),
        (
            429,
            {"errorCode": 429, "title": "Too Many Requests", "description": ["Try again in 60 seconds"]},
            60.0,
        ),
        (400, {"notices": [{"title": "Rate Limit Exceeded", "description": ["wait 2 minutes"]}]}, 120.0),
        (
            200,
            {"notices": [{"title": "Query rate limit exceeded", "description": ["retry after 30 s"]}]},
            30.0,
        ),
    ],
)
def test_rate_limit_texts(status: int, body: Any, wait: float) -> None:
    with pytest.raises(RateLimited) as info:
        interpret(response(status, body), 77.0)
    assert info.value.retry_after == wait


def test_terms_of_use_about_rate_limits_are_not_a_rate_limit() -> None:
    obj = copy.deepcopy(load("whoisit__domain1.json"))
    obj["notices"].append({"title": "Terms", "description": ["Queries are subject to rate limiting."]})
    assert rate_limit_notice(obj) is None
    assert (interpret(response(200, obj), 300.0) or {})["ldhName"] == "GOOGLE.COM"
    assert stated_wait("please try again in 2 minutes") == 120.0
