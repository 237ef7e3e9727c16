"""The WHOIS parser over every real sample: fields, "not found", unreadable answers (rate-limit texts:
test_whois_throttle.py)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from shared.errors import ProtocolError
from shared.registrydata.model import Registration
from shared.registrydata.whois import parse_whois, read_record
from shared.registrydata.whois.dates import parse_date
from shared.registrydata.whois.servers import referral
from testkit.samples import sample, samples

#: Real samples (from public repositories' test suites and more TLDs; sources in SOURCES.md beside them).
LOCAL = Path(__file__).parent / "data" / "whois"


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _utc(year: int, month: int, day: int, hour: int, minute: int, second: int) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


GOOGLE_NS = ["ns1.google.com", "ns2.google.com", "ns3.google.com", "ns4.google.com"]

#: What each sample must give (None = the field must be None; absent = not checked).
EXPECTED: dict[str, dict[str, Any]] = {
    "amazon.co.uk": {
        "registrar": "Amazon.com, Inc. t/a Amazon.com, Inc. [Tag = AMAZON-COM]",
        "created": None,  # "before Aug-1996": not a date (the other library guesses 1996-08-01)
        "expires": date(2020, 12, 5),
        "updated": date(2013, 10, 23),
        "statuses": ["Registered until expiry date."],
        "nameservers": [
            "ns1.p31.dynect.net",
            "ns2.p31.dynect.net",
            "ns3.p31.dynect.net",
            "ns4.p31.dynect.net",
            "pdns1.ultradns.net",
            "pdns2.ultradns.net",
            "pdns3.ultradns.org",
            "pdns4.ultradns.org",
            "pdns5.ultradns.info",
            "pdns6.ultradns.co.uk",
        ],
        "registrant": None,
    },
    "cbc.ca": {
        "registrar": "Authentic Web Inc.",
        "created": _utc(2000, 10, 16, 13, 56, 5),
        "expires": _utc(2019, 11, 24, 5, 0, 0),
        "updated": _utc(2018, 10, 26, 2, 15, 16),
        "statuses": [
            "clientTransferProhibited",
            "clientUpdateProhibited",
            "serverDeleteProhibited",
            "serverTransferProhibited",
            "serverUpdateProhibited",
        ],
        "nameservers": [
            "a5-65.akam.net",
            "a9-66.akam.net",
            "a26-67.akam.net",
            "a1-29.akam.net",
            "a4-64.akam.net",
            "a14-66.akam.net",
        ],
        "registrant": "Canadian Broadcasting Corporation",
    },
    "eurid.eu": {
        "registrar": "EURid vzw",
        "created": None,
        "expires": None,
        "nameservers": [
            "ns3.eurid.eu",
            "nsx.eurid.eu",
            "ns1.eurid.eu",
            "ns2.eurid.eu",
            "ns4.eurid.eu",
            "nsp.netnod.se",
        ],
        "registrant": None,  # "NOT DISCLOSED!"
    },
    "google.com": {  # old thin answer with lookalike "Server Name" objects first
        "registrar": "MARKMONITOR INC.",
        "created": date(1997, 9, 15),
        "expires": date(2011, 9, 14),
        "updated": date(2006, 4, 10),
        "statuses": ["clientDeleteProhibited", "clientTransferProhibited", "clientUpdateProhibited"],
        "nameservers": GOOGLE_NS,
        "registrant": "Dns Admin",  # from the registrar part appended to the sample
    },
    "google.de": {
        "registrar": None,
        "created": None,
        "expires": None,
        "updated": _utc(2018, 3, 12, 20, 44, 25),  # 21:44:25+01:00
        "statuses": ["connect"],
        "nameservers": GOOGLE_NS,
        "registrant": None,
    },
    "google.fr": {
        "registrar": "MARKMONITOR Inc.",
        "created": _utc(2000, 7, 26, 22, 0, 0),
        "expires": _utc(2026, 12, 30, 17, 16, 48),
        "updated": datetime(2025, 12, 3, 10, 12, 0, 351952, tzinfo=UTC),
        # the contact objects' eppstatus ("associated", "active") are not the domain's
        "statuses": [
            "ACTIVE",
            "serverUpdateProhibited",
            "serverTransferProhibited",
            "serverDeleteProhibited",
            "serverRecoverProhibited",
        ],
        "nameservers": GOOGLE_NS,
    },
    "google.ro": {
        "registrar": "MarkMonitor Inc.",
        "created": date(2000, 7, 17),
        "expires": date(2019, 9, 17),
        "updated": None,
        "statuses": ["UpdateProhibited"],
        "nameservers": GOOGLE_NS,
        "registrant": None,
    },
    "nic.live": {  # IANA's answer first, then the registry's: read from the line naming nic.live
        "registrar": "Registry Operator acts as Registrar (9999)",
        "created": _utc(2015, 4, 27, 22, 4, 24),
        "expires": _utc(2025, 4, 27, 22, 4, 24),
        "updated": _utc(2024, 6, 11, 22, 4, 34),
        "statuses": ["serverTransferProhibited"],
        "nameservers": [f"v{a}n{b}.nic.live" for a, b in ((0, 0), (0, 1), (0, 2), (0, 3), (2, 0), (2, 1))],
        "registrant": "United TLD Holdco Ltd.",  # the name is REDACTED FOR PRIVACY
    },
    "shazow.net": {
        "registrar": "NEW DREAM NETWORK, LLC",
        "created": date(2003, 9, 13),
        "expires": date(2009, 9, 13),
        "updated": date(2007, 8, 8),
        "statuses": ["ok"],
        "nameservers": ["ns1.dreamhost.com", "ns2.dreamhost.com", "ns3.dreamhost.com"],
        "registrant": "shazow.net Private Registrant",
    },
    "slashdot.org": {
        "registrar": "Tucows Inc. (R11-LROR)",
        "created": _utc(1997, 10, 5, 4, 0, 0),  # "Created On:05-Oct-1997 04:00:00 UTC"
        "expires": _utc(2008, 10, 4, 4, 0, 0),
        "updated": _utc(2008, 6, 23, 20, 0, 11),
        "statuses": ["OK"],
        "nameservers": ["ns-1.ch3.sourceforge.com", "ns-2.ch3.sourceforge.com", "ns-3.corp.sourceforge.com"],
        "registrant": "DNS Administration",
    },
    "allegro.pl": {
        "registrar": "Corporation Service Company",
        "created": date(1999, 10, 27),  # no zone given: the day only
        "expires": date(2018, 10, 26),
        "updated": date(2017, 10, 17),
        "nameservers": ["dns1.allegro.pl", "dns2.allegro.pl", "dns3.allegro.pl", "dns4.allegro.pl"],
        "registrant": None,
    },
    "app.nl": {
        "registrar": "Hosting Secure",
        "created": date(1998, 2, 20),
        "expires": None,
        "updated": date(2025, 9, 12),
        "statuses": ["active"],
        "nameservers": ["ns1.hoasted.nl", "ns2.hoasted.eu", "ns3.hoasted.com"],
    },
    "google.com.br": {
        "registrar": None,
        "created": date(1999, 5, 18),
        "expires": date(2020, 5, 18),
        "updated": date(2019, 4, 17),
        "statuses": ["published"],
        "nameservers": GOOGLE_NS,
        "registrant": "Google Brasil Internet Ltda",
    },
    "google.it": {
        "registrar": "MarkMonitor International Limited",
        "created": date(1999, 12, 10),
        "expires": date(2019, 4, 21),
        "updated": date(2018, 5, 7),  # not the contacts' "Last Update"
        "statuses": ["ok"],
        "nameservers": GOOGLE_NS,
        "registrant": "Google Ireland Holdings Unlimited Company",
    },
    "urlowl.com": {
        "registrar": "DYNADOT, LLC",
        "created": _utc(2013, 2, 21, 19, 24, 57),
        "expires": _utc(2018, 2, 21, 19, 24, 57),
        "updated": _utc(2017, 3, 31, 7, 36, 34),
        "statuses": ["clientTransferProhibited"],
        "nameservers": ["ns1.sedoparking.com", "ns2.sedoparking.com"],
        "registrant": None,
    },
    "yahoo.co.jp": {
        "registrar": None,
        "created": date(2019, 9, 27),
        "expires": date(2025, 9, 30),  # "[State] Connected (2025/09/30)"
        "updated": _utc(2024, 9, 30, 16, 0, 44),  # 2024/10/01 01:00:44 (JST)
        "statuses": ["Connected", "AgentChangeLocked"],
        "nameservers": ["ns01.yahoo.co.jp", "ns02.yahoo.co.jp", "ns11.yahoo.co.jp", "ns12.yahoo.co.jp"],
        "registrant": "LY Corporation",
    },
    "yandex.ru": {
        "registrar": "RU-CENTER-RU",
        "created": _utc(1997, 9, 23, 9, 45, 7),
        "expires": _utc(2018, 9, 30, 21, 0, 0),  # paid-till
        "statuses": ["REGISTERED", "DELEGATED", "VERIFIED"],
        "nameservers": ["ns1.yandex.ru", "ns2.yandex.ru", "ns9.z5h64q92x9.net"],
        "registrant": "YANDEX, LLC.",
    },
}

SAMPLES = {p.name.removesuffix(".txt"): p for p in samples("whois", "*.txt")}


def test_every_sample_has_expectations() -> None:
    assert set(SAMPLES) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_fields(name: str) -> None:
    answer = parse_whois(_text(SAMPLES[name]), "whois.example", domain=name)
    assert answer.registered is True
    registration = answer.registration
    assert isinstance(registration, Registration)
    assert registration.source == "whois" and registration.server == "whois.example"
    for field, expected in EXPECTED[name].items():
        assert getattr(registration, field) == expected, field
    for host in registration.nameservers:
        assert host == host.lower() and not host.endswith(".")


@pytest.mark.parametrize("path", sorted((LOCAL / "expected").glob("*.json")), ids=lambda p: p.stem)
def test_agrees_with_the_second_opinion(path: Path) -> None:
    """Where the other library's parse has a registrar or an expiry, ours agrees (day precision)."""
    other = json.loads(path.read_text())
    ours = parse_whois(_text(SAMPLES[path.stem]), "x", domain=path.stem).registration
    assert ours is not None
    if other.get("registrar"):
        assert ours.registrar == other["registrar"]
    if other.get("expiration_date"):
        assert ours.expires is not None
        assert ours.expires.isoformat()[:10] == other["expiration_date"][:10]


def test_lookalike_objects_before_the_record_are_skipped_without_the_domain_too() -> None:
    registration = parse_whois(_text(SAMPLES["google.com"]), "x").registration
    assert registration is not None and registration.registrar == "MARKMONITOR INC."


# --- not found -------------------------------------------------------------------------------------------
def test_verisign_not_found_fixture() -> None:
    text = _text(sample("whois", "notfound/weppos__whois.verisign-grs.com__com__status_available.txt"))
    answer = parse_whois(text, "whois.verisign-grs.com", domain="u34jedzcq.com")
    assert answer.registered is False and answer.registration is None


@pytest.mark.parametrize(
    "text",
    [
        'No match for "NOTHERE.CO.UK".\n',  # Nominet / Verisign wording
        "%% NOT FOUND\n",  # AFNIC
        "Domain: nothere.de\nStatus: free\n",  # DENIC
        "% WHOIS nothere.eu\nDomain: nothere.eu\nStatus: AVAILABLE\n",  # EURid
        "% No entries found for the selected source(s).\n",  # RIPE-style (.ro, .ru)
        "No match!!\n",  # JPRS
        "nothere.nl is free\n",  # SIDN
        "Not found: nothere.ca\n",  # CIRA
        "No information available about domain name nothere.pl in the Registry NASK database.\n",
    ],
)
def test_not_found_wordings(text: str) -> None:
    assert parse_whois(text, "whois.example").registered is False


# --- unreadable answers ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text", ["", "\n\n", "garbage without any structure\n", "<html><body>502</body></html>"]
)
def test_unreadable_answer_is_a_protocol_error(text: str) -> None:
    with pytest.raises(ProtocolError):
        parse_whois(text, "whois.example")


# --- referrals -------------------------------------------------------------------------------------------
def test_iana_referral_lines() -> None:
    live = _text(LOCAL / "nic.live.txt")
    assert referral(live[: live.index("# whois.nic.live")]) == "whois.nic.live"
    assert referral(_text(sample("whois", "iana/whois.iana.org__tld__status_not_assigned.txt"))) is None
    assert referral(_text(LOCAL / "iana" / "whois.iana.org__int__status_registered.txt")) is None


@pytest.mark.parametrize(
    ("name", "server"),
    [
        ("urlowl.com", "whois.dynadot.com"),
        ("shazow.net", "whois.dreamhost.com"),
        ("google.com", "whois.markmonitor.com"),
    ],
)
def test_thin_registry_names_the_registrar_server(name: str, server: str) -> None:
    assert read_record(_text(SAMPLES[name]), "whois.verisign-grs.com", domain=name).referral == server


# --- dates -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2018-10-26T02:15:16Z", _utc(2018, 10, 26, 2, 15, 16)),
        ("2018-03-12T21:44:25+01:00", _utc(2018, 3, 12, 20, 44, 25)),
        ("2019-09-17", date(2019, 9, 17)),
        ("10-apr-2006", date(2006, 4, 10)),
        ("05-Oct-1997 04:00:00 UTC", _utc(1997, 10, 5, 4, 0, 0)),
        ("1999.10.27 13:00:00", date(1999, 10, 27)),
        ("19990518 #162310", date(1999, 5, 18)),
        ("2024/10/01 01:00:44 (JST)", _utc(2024, 9, 30, 16, 0, 44)),
        ("before Aug-1996", None),
        ("2019-02-30", None),
        ("", None),
    ],
)
def test_dates(text: str, expected: date | datetime | None) -> None:
    assert parse_date(text) == expected


def test_a_url_is_no_registrar_whois_server() -> None:
    text = "Domain Name: x.com\nRegistrar: Y\nRegistrar WHOIS Server: https://www.example.com/whois\n"
    assert read_record(text, "whois.verisign-grs.com", domain="x.com").referral is None
