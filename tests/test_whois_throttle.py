"""WHOIS rate-limit texts: every real wording gathered is a rate limit with its wait, before any record or
"not found" line, and none of them can make an answer ``registered: false``; the same words inside a long
legal notice leave a real record or "not found" answer as it is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared.errors import ProtocolError, RateLimited
from shared.registrydata.whois import find_throttle, parse_whois
from testkit.samples import sample, samples

LOCAL = Path(__file__).parent / "data" / "whois"
WORDINGS: dict[str, Any] = json.loads((LOCAL / "throttle-wordings.json").read_text(encoding="utf-8"))


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


#: The captured answers (weppos/whois-parser's fixtures, kept in sandbox/data/whois/) and their waits.
THROTTLED = {
    "whois.pir.org__org__response_throttled.txt": 60.0,  # no figure: the default
    "whois.nic.cz__cz__response_throttled.txt": 60.0,
    "whois.nic.uk__uk__response_throttled.txt": 50.0,  # "replenished in 50 seconds"
    "whois.denic.de__de__response_throttled.txt": 60.0,
}
#: Every throttling answer gathered: (id, text, wait).
ALL_THROTTLED = [
    (name.split("__")[0], _text(sample("whois", f"throttled/{name}")), wait)
    for name, wait in THROTTLED.items()
] + [(entry["text"].strip()[:40], entry["text"], float(entry["wait"])) for entry in WORDINGS["throttled"]]
#: Real "not found" answers: Verisign's and Donuts' (whose legal line speaks of "too many queries").
DONUTS_NOT_FOUND = LOCAL / "notfound" / "weppos__whois.donuts.co__bike__status_available.txt"
NOT_FOUND = {
    "verisign": _text(sample("whois", "notfound/weppos__whois.verisign-grs.com__com__status_available.txt")),
    "donuts": _text(DONUTS_NOT_FOUND),
    # DK Hostmaster's "available" line (weppos/whois-parser lib/whois/parsers/whois.dk-hostmaster.dk.rb)
    "dk": "No entries found for the selected source.\n",
    "jprs": "No match!!\n",  # JPRS's wording (as in test_whois_parse.py)
}


def _ids(cases: list[tuple[str, str, float]]) -> list[str]:
    return [case[0] for case in cases]


# --- every wording ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "text", "wait"), ALL_THROTTLED, ids=_ids(ALL_THROTTLED))
def test_every_throttle_wording_is_a_rate_limit_with_its_wait(name: str, text: str, wait: float) -> None:
    with pytest.raises(RateLimited) as caught:
        parse_whois(text, "whois.example", domain="example.com")
    assert caught.value.retry_after == wait
    assert caught.value.provider == "whois.example"


def test_every_throttled_capture_is_covered() -> None:
    """Every throttled sample (kept once, in sandbox/data/whois/: testkit.samples) has its expected wait."""
    covered = {sample("whois", f"throttled/{name}") for name in THROTTLED}
    assert set(samples("whois", "throttled/*")) == covered


@pytest.mark.parametrize("where", ["before", "after"])
@pytest.mark.parametrize("not_found", sorted(NOT_FOUND))
@pytest.mark.parametrize(("name", "text", "wait"), ALL_THROTTLED, ids=_ids(ALL_THROTTLED))
def test_a_throttle_line_beside_a_not_found_text_is_a_rate_limit(
    name: str, text: str, wait: float, not_found: str, where: str
) -> None:
    """The issue's first case: a throttled answer that keeps the registry's usual "not found" footer (or
    header) is a rate limit, never ``registered: false``."""
    assert parse_whois(NOT_FOUND[not_found], "whois.example").registered is False  # alone: not found
    both = f"{text}\n{NOT_FOUND[not_found]}" if where == "before" else f"{NOT_FOUND[not_found]}\n{text}"
    with pytest.raises(RateLimited) as caught:
        parse_whois(both, "whois.example", domain="example.com")
    assert caught.value.retry_after == wait


@pytest.mark.parametrize(("name", "text", "wait"), ALL_THROTTLED, ids=_ids(ALL_THROTTLED))
def test_a_throttle_line_beside_record_lines_is_a_rate_limit(name: str, text: str, wait: float) -> None:
    record = _text(sample("whois", "google.ro.txt"))
    assert parse_whois(record, "whois.rotld.ro", domain="google.ro").registered is True
    with pytest.raises(RateLimited):
        parse_whois(f"{record}\n{text}", "whois.rotld.ro", domain="google.ro")


def test_the_one_line_per_second_answer_is_a_rate_limit_not_an_error() -> None:
    """The issue's second case (SIDN's wording): one line, a per-second limit, "try again later"."""
    with pytest.raises(RateLimited) as caught:
        parse_whois("whois.domain-registry.nl: only 1 request per second allowed, try again later\n", "x")
    assert caught.value.retry_after == 1.0  # the period the text names: the quota refills after it


@pytest.mark.parametrize("entry", WORDINGS["refusals"], ids=[e["text"][:30] for e in WORDINGS["refusals"]])
def test_a_refusal_that_is_no_rate_limit_is_an_error_never_an_answer(entry: dict[str, str]) -> None:
    with pytest.raises(ProtocolError):
        parse_whois(entry["text"], "whois.example")


# --- the same words in a legal notice ------------------------------------------------------------------
def test_a_legal_notice_about_limits_leaves_a_real_answer_as_it_is() -> None:
    # Nominet's footer, wrapped over eight lines: "(C) exceeding query rate or volume limits"
    amazon = _text(sample("whois", "amazon.co.uk.txt"))
    assert parse_whois(amazon, "whois.nic.uk", domain="amazon.co.uk").registered is True
    # Donuts' terms on one 1,100-character line: "If too many queries are received from a single IP ..."
    donuts = _text(DONUTS_NOT_FOUND)
    assert "too many queries" in donuts
    assert parse_whois(donuts, "whois.donuts.co").registered is False


def test_the_same_sentence_on_its_own_is_a_refusal() -> None:
    """The rule decides by paragraph: Donuts' sentence alone is a refusal, inside its terms it is not."""
    sentence = next(s for s in _text(DONUTS_NOT_FOUND).split(". ") if "too many queries" in s) + ".\n"
    with pytest.raises(RateLimited):
        parse_whois(sentence, "whois.donuts.co")


@pytest.mark.parametrize(
    "path",
    [
        *samples("whois", "*.txt"),
        sample("whois", "iana/whois.iana.org__tld__status_not_assigned.txt"),
        DONUTS_NOT_FOUND,
    ],
    ids=lambda p: p.name,
)
def test_no_real_record_or_not_found_answer_reads_as_throttled(path: Path) -> None:
    assert find_throttle(_text(path)) is None


# --- waits ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "wait"),
    [
        ("The WHOIS query quota for x has been exceeded and will be replenished in 2.2 seconds.", 3.0),
        ("Rate limit exceeded. Try again after: 1h30m0s", 5400.0),
        ("Rate limit exceeded. Try again after: 90s", 90.0),
        ("Too many requests, try again in 2 minutes", 120.0),
        ("Query limit exceeded: 10 queries per minute allowed", 60.0),
    ],
)
def test_the_wait_is_the_figure_given_rounded_up_else_the_period(text: str, wait: float) -> None:
    found = find_throttle(text)
    assert found is not None and found.wait == wait and found.wait_given


def test_without_figure_or_period_the_wait_is_the_default() -> None:
    found = find_throttle("WHOIS LIMIT EXCEEDED - SEE WWW.PIR.ORG/WHOIS FOR DETAILS\n")
    assert found is not None and found.wait == 60.0 and not found.wait_given
