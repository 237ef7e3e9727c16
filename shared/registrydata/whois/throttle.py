"""WHOIS rate-limit texts: servers answer throttling as an ordinary reply, no error code.

Such a text is a rate limit with its wait, never "not found" and never a record to parse: :mod:`.parse`
asks :func:`find_throttle` first, before it reads any record or "not found" line. The wait is the
figure the text gives ("replenished in 50 seconds", "wait 7 seconds", "Try again after: 24h0m0s"),
else the period the text names ("only 1 request per second allowed": 1 s, "per hour": an hour, "daily":
a day: the quota cannot refill sooner), else ``defaults.WHOIS_THROTTLE_SECONDS``.

The rule: a wording counts when it stands on its own. The answer is cut into paragraphs at blank lines
(a line of only comment markers ``%``, ``#``, ``>``, ``-`` is blank); a short paragraph (at most
:data:`MAX_LINES` lines, :data:`MAX_CHARS` characters) counts as a whole, and in a longer one each line
that is a sentence of its own (the line before ends a sentence, the line ends one, at most
:data:`MAX_LINE_CHARS` characters: a refusal glued to the paragraph before it). One of :data:`WORDINGS`
there makes the whole answer a rate limit, whatever else it holds: a record or a "not found" line beside
it never wins (a throttled answer that keeps the registry's usual "No entries found" footer is still
throttled; python-whois 0.9.6 reads CZ.NIC's throttling text as "domain not found", the bug this module
avoids). A refusal is a sentence or two of its own; the same words inside a long legal notice describe a
policy, not this answer, and do not count: Donuts' terms on one 1,100-character line ("If too many
queries are received from a single IP address ...", in its real "Domain not found." answer) and
Nominet's footer wrapped over eight lines ("exceeding query rate or volume limits", in every real .uk
record; no line of wrapped prose is a sentence of its own).

The wordings, each family with the real texts it was checked on (sources; every text is a case in
``tests/test_whois_parse.py``, short ones inline, the captures in ``sandbox/data/whois/throttled-*.txt``
and ``tests/data/whois/throttle-wordings.json``, sources in the SOURCES.md beside them):

* "... limit exceeded / reached": PIR ``WHOIS LIMIT EXCEEDED - SEE WWW.PIR.ORG/WHOIS FOR DETAILS``,
  CZ.NIC ``Your connection limit exceeded.``, DENIC ``access control limit reached``, GoDaddy
  ``Rate limit exceeded``, SIDN ``daily whois-limit exceeded``, NASK ``request limit exceeded``, Tucows
  ``Maximum Daily connection limit reached``, Network Solutions ``IP Address Has Reached Rate Limit``;
* "quota ... exceeded": Nominet ``The WHOIS query quota for 127.0.0.1 has been exceeded``;
* "exceeded ... limit / queries": ``You have exceeded this limit``, ``exceeded the query limit for your
  network``, ``exceeded your query limit``, ``exceeded the maximum allowable``, ``exceeded your allotted
  number of``, ``Number of allowed queries exceeded`` (.club, whois.registry.in);
* "maximum ... queries / query rate ... reached / exceeded": DNS Belgium ``Maximum queries per hour
  reached``, .lu ``Maximum query rate reached``, SIDN ``maximum number of requests per minute exceeded``;
* "too many ...", "too fast", "slow down", "excessive querying": AFNIC ``%% Too many requests...``,
  DK Hostmaster ``# Too many connections.``, name.com ``Too many connection attempts``, .top ``Your access
  is too fast``, DNS Belgium ``% Excessive querying``, TCI (.ru) ``due to excessive querying``;
* "try again later / in ... / after ...", "wait ... and try again", "server too busy";
* "N requests per second/minute/hour allowed": SIDN ``only 1 request per second allowed``;
* server codes: EURid ``-1: Still in grace period, wait 7777777 seconds``, .nz ``query_status: 440 Request
  Denied``, DNS Belgium ``-3: IP address blocked``, ``BLACKLISTED: You have exceeded ...``.

Not rate limits (no wording here; :mod:`.parse` keeps them unreadable, a ProtocolError, never an answer):
SWITCH's ``Requests of this client are not permitted`` (.ch/.li: port 43 closed to that client, asking
again does not help), ISOC-IL's ``Access ... was **DENIED**``, Internet.bs' ``We are unable to process
your request at this time``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from shared import defaults
from shared.errors import RateLimited

#: A refusal is a sentence or two: longer paragraphs are notices about limits, not this answer's refusal.
MAX_LINES = 4
MAX_CHARS = 320
#: In a longer paragraph, a line that is a whole sentence of its own and at most this long.
MAX_LINE_CHARS = 200

_NUM = r"(?P<wait>\d+(?:\.\d+)?)"
_UNIT = r"(?P<unit>seconds?|secs?|s\b|minutes?|mins?|hours?|hrs?|h\b)"
_WAIT = rf"{_NUM}\s*{_UNIT}"
_THINGS = r"(?:quer(?:y|ies)|requests?|connections?|connection attempts|lookups?|look-ups?)"

#: Rate-limit wordings (see the module doc for the real texts each was checked on).
WORDINGS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\blimit\s+(?:exceeded|reached)\b", re.I),
    re.compile(r"\breached\s+(?:the\s+|its\s+|your\s+|a\s+)?(?:\w+\s+)?limit\b", re.I),
    re.compile(r"\bquota\b.{0,80}?\b(?:exceeded|reached|used up)\b", re.I),
    re.compile(r"\bexceeded\s+(?:the|your|this|its|our)\b.{0,40}?\b(?:limit|quota|queries|requests)\b", re.I),
    re.compile(r"\bexceeded\s+(?:the\s+maximum\s+allowable|your\s+allotted)\b", re.I),
    re.compile(rf"\ballowed\s+{_THINGS}\s+(?:exceeded|reached)\b", re.I),
    re.compile(
        rf"\bmax(?:imum|\.)?\s+(?:number\s+of\s+)?(?:{_THINGS}|query\s+rate|\w+\s+{_THINGS})\b.{{0,40}}?"
        r"\b(?:exceeded|reached)\b",
        re.I,
    ),
    re.compile(rf"\btoo\s+many\s+{_THINGS}", re.I),
    re.compile(r"\btoo\s+fast\b", re.I),
    re.compile(r"\bslow\s+down\b", re.I),
    re.compile(r"\bexcessive(?:ly)?\s+quer(?:y|ies|ying)\b", re.I),
    re.compile(r"\bquery\s+limit\s+controls\b", re.I),
    re.compile(r"\btry\s+again\s+(?:later|in\b|after\b)", re.I),
    re.compile(r"\bwait\b.{0,40}?\btry\s+again\b", re.I),
    re.compile(r"\bserver\s+too\s+busy\b", re.I),
    re.compile(rf"\b\d+\s+{_THINGS}\s+(?:per|a|each)\s+(?:second|minute|hour|day)\b", re.I),
    re.compile(r"\bStill\s+in\s+grace\s+period\b", re.I),  # EURid
    re.compile(r"\bquery_status:\s*440\b", re.I),  # .nz: 440 Request Denied
    re.compile(r"\bIP\s+address\s+blocked\b", re.I),  # DNS Belgium
    re.compile(r"\bblacklisted\b", re.I),
)

#: Where a text names its wait.
_WAIT_PHRASES = (
    re.compile(rf"replenished\s+in\s+{_WAIT}", re.I),
    re.compile(rf"\bwait\s+{_WAIT}", re.I),
    re.compile(rf"try\s+again\s+in\s+{_WAIT}", re.I),
    re.compile(rf"retry\s+(?:in|after)\s+{_WAIT}", re.I),
)
#: "Try again after: 24h0m0s" (GoDaddy: a Go duration).
_GO_DURATION = re.compile(
    r"(?:try\s+again|retry)\s+after:?\s*(?=\d)(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m(?!s))?(?:(?P<s>\d+(?:\.\d+)?)s)?",
    re.I,
)
#: The period a quota is counted over, when the text gives no figure.
_PERIODS = (
    (re.compile(r"\bper\s+second\b", re.I), 1.0),
    (re.compile(r"\bper\s+minute\b", re.I), 60.0),
    (re.compile(r"\bper\s+hour\b|\bhourly\b", re.I), 3600.0),
    (re.compile(r"\bper\s+day\b|\bdaily\b", re.I), 86400.0),
)
_MARKERS = re.compile(r"^[\s%#>*;-]*")


@dataclass(frozen=True)
class ThrottleText:
    """A recognised rate-limit answer: the paragraph that says so and the wait in seconds."""

    line: str
    wait: float
    wait_given: bool


def _seconds(number: str, unit: str) -> float:
    value = float(number)
    unit = unit.lower()
    if unit.startswith("h"):
        return value * 3600
    if unit.startswith("m"):
        return value * 60
    return value


def _wait_in(text: str) -> float | None:
    """The wait ``text`` gives or implies, rounded up (a wait cut short earns a second refusal)."""
    for pattern in _WAIT_PHRASES:
        match = pattern.search(text)
        if match:
            return float(math.ceil(_seconds(match.group("wait"), match.group("unit"))))
    duration = _GO_DURATION.search(text)
    if duration and any(duration.group(g) for g in ("h", "m", "s")):
        hours, minutes, seconds = (float(duration.group(g) or 0) for g in ("h", "m", "s"))
        return float(math.ceil(hours * 3600 + minutes * 60 + seconds))
    for pattern, seconds in _PERIODS:
        if pattern.search(text):
            return seconds
    return None


def _sentence_lines(block: list[str]) -> list[str]:
    """The lines of a long paragraph that are whole sentences of their own: the line before ends one
    (or there is none), the line ends one (or ends the paragraph), and it is short. Wrapped legal prose
    has none; a refusal glued to the paragraph before it without a blank line is one."""
    found = []
    for index, line in enumerate(block):
        starts = index == 0 or block[index - 1].endswith((".", "!", "?", ":"))
        ends = index == len(block) - 1 or line.endswith((".", "!", "?"))
        if starts and ends and len(line) <= MAX_LINE_CHARS:
            found.append(line)
    return found


def candidates(text: str) -> list[str]:
    """Where a refusal may stand in ``text`` (comment markers stripped): each short paragraph, its lines
    joined by a space, and each line of a longer paragraph that is a whole sentence of its own."""
    found: list[str] = []
    block: list[str] = []
    for raw in [*text.splitlines(), ""]:
        line = _MARKERS.sub("", raw).strip()
        if line:
            block.append(line)
            continue
        if block and len(block) <= MAX_LINES and sum(len(b) + 1 for b in block) <= MAX_CHARS:
            found.append(" ".join(block))
        elif block:
            found.extend(_sentence_lines(block))
        block = []
    return found


def find_throttle(text: str) -> ThrottleText | None:
    """The rate-limit refusal in ``text``, if one stands on its own there (see the module doc)."""
    for paragraph in candidates(text):
        if any(pattern.search(paragraph) for pattern in WORDINGS):
            wait = _wait_in(paragraph)
            return ThrottleText(
                line=" ".join(paragraph.split())[:200],
                wait=wait if wait is not None else float(defaults.WHOIS_THROTTLE_SECONDS),
                wait_given=wait is not None,
            )
    return None


def rate_limited(server: str, found: ThrottleText) -> RateLimited:
    """The typed error for a throttling answer from ``server``."""
    return RateLimited(
        f"WHOIS server throttled us: {found.line!r}", provider=server, retry_after=found.wait, status=None
    )
