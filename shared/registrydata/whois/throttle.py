"""WHOIS rate-limit texts: servers answer throttling as an ordinary reply, no error code.

Such a text is a rate limit with its wait (parsed when the text gives one, else
``defaults.WHOIS_THROTTLE_SECONDS``), never "not found" and never a record to parse. python-whois 0.9.6
reports the .cz text below as "domain not found" (checked against the fixture): the bug this module avoids.

Known texts (real answers in ``sandbox/data/whois/throttled-*.txt``, from weppos/whois-parser's
``spec/fixtures/responses/``; sources in ``sandbox/data/whois/SOURCES.md``):

* .org (PIR): ``WHOIS LIMIT EXCEEDED - SEE WWW.PIR.ORG/WHOIS FOR DETAILS``
* .cz (CZ.NIC): ``Your connection limit exceeded. Please slow down and try again later.``
* .uk (Nominet): ``The WHOIS query quota for 127.0.0.1 has been exceeded and will be replenished in
  50 seconds.``
* .de (DENIC): ``% Error: 55000000002 Connection refused; access control limit reached.``
* .eu (EURid): ``Still in grace period, wait N seconds`` (reported wording; no public capture or document
  found: an assumption)

:data:`GENERIC` are wordings other registries use; they are only believed for an answer that holds no
record at all (a legal footer such as Nominet's "exceeding query rate or volume limits" must not turn a
real record into a rate limit).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from shared import defaults
from shared.errors import RateLimited

_WAIT = r"(?P<wait>\d+(?:\.\d+)?)\s*(?P<unit>seconds?|secs?|s\b|minutes?|mins?)"

#: Texts seen from real servers: recognised anywhere in an answer.
KNOWN: tuple[re.Pattern[str], ...] = (
    re.compile(r"WHOIS LIMIT EXCEEDED", re.I),  # PIR (.org), fixture
    re.compile(r"Your connection limit exceeded", re.I),  # CZ.NIC, fixture
    re.compile(r"WHOIS query quota .{0,80}?exceeded", re.I | re.S),  # Nominet (.uk), fixture
    re.compile(r"access control limit reached", re.I),  # DENIC (.de), fixture
    re.compile(r"Still in grace period", re.I),  # EURid (.eu), reference
)

#: Wordings only believed when the answer carries no record.
GENERIC: tuple[re.Pattern[str], ...] = (
    re.compile(r"\b(?:rate|query|queries|request|connection)s? limit (?:exceeded|reached)", re.I),
    re.compile(r"\btoo many (?:queries|requests|connections)", re.I),
    re.compile(r"\b(?:number of )?allowed queries exceeded", re.I),
    re.compile(r"\bquota (?:exceeded|reached)", re.I),
    re.compile(
        r"\bexceeded (?:the )?(?:maximum|allowed|query) (?:number of )?(?:queries|requests|rate)", re.I
    ),
    re.compile(r"\bplease (?:slow down|try again later)", re.I),
)

#: Where a text names its wait: "replenished in 50 seconds", "wait 30 seconds", "try again in 2 minutes".
_WAIT_PHRASES = (
    re.compile(rf"replenished in\s+{_WAIT}", re.I),
    re.compile(rf"\bwait\s+{_WAIT}", re.I),
    re.compile(rf"try again in\s+{_WAIT}", re.I),
    re.compile(rf"retry (?:in|after)\s+{_WAIT}", re.I),
)


@dataclass(frozen=True)
class ThrottleText:
    """A recognised rate-limit answer: the line that says so and the wait in seconds."""

    line: str
    wait: float
    wait_given: bool


def _wait_in(text: str) -> float | None:
    for pattern in _WAIT_PHRASES:
        match = pattern.search(text)
        if match:
            seconds = float(match.group("wait"))
            if match.group("unit").lower().startswith("m"):
                seconds *= 60
            return float(math.ceil(seconds))  # rounded up: a wait cut short earns a second refusal
    return None


def _matching_line(text: str, match: re.Match[str]) -> str:
    start = text.rfind("\n", 0, match.start()) + 1
    end = text.find("\n", match.end())
    return " ".join(text[start : end if end >= 0 else len(text)].split())[:200]


def find_throttle(text: str, *, generic: bool = False) -> ThrottleText | None:
    """The rate-limit text in ``text``, if any. ``generic`` also tries :data:`GENERIC` wordings."""
    patterns = KNOWN + GENERIC if generic else KNOWN
    for pattern in patterns:
        match = pattern.search(text)
        if match:
            wait = _wait_in(text)
            return ThrottleText(
                line=_matching_line(text, match),
                wait=wait if wait is not None else float(defaults.WHOIS_THROTTLE_SECONDS),
                wait_given=wait is not None,
            )
    return None


def rate_limited(server: str, found: ThrottleText) -> RateLimited:
    """The typed error for a throttling answer from ``server``."""
    return RateLimited(
        f"WHOIS server throttled us: {found.line!r}", provider=server, retry_after=found.wait, status=None
    )
