"""Hypothesis strategies for bad input (issue 14): job payloads, ``regq submit --file`` lines, CSV rows.

Every strategy draws a :class:`Bad`: the value, the field the rejection must name and, where the reason is
ours to word, a fragment it must contain. ``secret`` is a value that must not appear in the reason
(personal data: a phone number, an e-mail address, a CNP).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pycountry
from hypothesis import strategies as st
from stdnum.ro import cui as ro_cui

from shared.script_policy import CYRILLIC_LOOKALIKES
from testkit.factories import company_ro, person, register, valid_cnp

#: The Latin letters some Cyrillic letter looks like, and that letter.
LATIN_TO_CYRILLIC = {latin: cyrillic for cyrillic, latin in CYRILLIC_LOOKALIKES.items()}
UNSUPPORTED_TLDS = ("de", "fr", "co.uk", "jp", "io", "it", "ch", "be", "nl", "com.au")
BAD_PUNYCODE = ("xn--", "xn--a", "xn---", "xn--99999999", "xn--ls8h-", "xn--bcher-kva-", "xn--80ak6aa92e-")
#: Every field a job or contact may carry (an unknown key is anything else).
KNOWN_KEYS = frozenset(
    {"kind", "domain", "idempotency_key", "callback_url", "registrar", "years", "owner", "dry_run"}
    | {"nameservers", "glue", "current_expiry", "availability"}
)
KINDS = frozenset({"register", "renew", "lookup", "nameservers", "sync"})
#: Huge strings: past every cap, cheap to build (one character repeated).
HUGE = st.integers(min_value=10_000, max_value=1_000_000)


@dataclass(frozen=True)
class Bad:
    value: Any
    field: str
    reason: str | None = None
    secret: str | None = None


labels = st.from_regex(r"\A[a-z][a-z0-9]{2,14}\Z")
wrong_types = st.one_of(
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@st.composite
def _inserted(draw: st.DrawFn, text: str, what: st.SearchStrategy[str], interior: bool = False) -> str:
    """``text`` with ``what`` inserted; ``interior``: not at either end (where whitespace is stripped)."""
    at = draw(st.integers(min_value=int(interior), max_value=len(text) - int(interior)))
    return text[:at] + draw(what) + text[at:]


@st.composite
def _mixed_script(draw: st.DrawFn) -> str:
    """A Latin label with one letter swapped for its Cyrillic look-alike: ``pаypal``."""
    word = draw(st.from_regex(r"\A[a-z]{2,10}[aceopxy][a-z]{0,10}\Z"))
    spots = [i for i, c in enumerate(word) if c in LATIN_TO_CYRILLIC]
    at = draw(st.sampled_from(spots))
    return word[:at] + LATIN_TO_CYRILLIC[word[at]] + word[at + 1 :]


def bad_domains(scripts: bool = True, tlds: bool = True) -> st.SearchStrategy[Bad]:
    """Domain values every job refuses, plus the names the script policy refuses (``scripts``: register,
    renew, nameservers, sync, the inventory) and unsupported TLDs (``tlds``: registrar jobs only)."""
    everywhere = [
        _inserted("example.com", st.sampled_from("!$&'()*+,;=_~@#%^ <>?|\\/\"")).map(
            lambda d: Bad(d, "domain", "valid")
        ),
        labels.map(lambda w: Bad(f"-{w}.com", "domain", "not a valid")),
        labels.map(lambda w: Bad(f"{w[:2]}--{w}.com", "domain", "not a valid")),
        st.integers(64, 200).map(lambda n: Bad("a" * n + ".com", "domain", "long")),
        st.integers(5, 30).map(lambda n: Bad(".".join(["abcdefghij" * 6] * n) + ".com", "domain", "long")),
        st.sampled_from(BAD_PUNYCODE).map(lambda p: Bad(f"{p}.com", "domain", "not a valid")),
        wrong_types.map(lambda v: Bad(v, "domain", "valid string")),
        HUGE.map(lambda n: Bad("é" * n + ".com", "domain", "long")),
        _inserted("example.com", st.just("\x00")).map(lambda d: Bad(d, "domain", "U+0000")),
        st.sampled_from(["", " ", ".", "...", "com", "co.uk"]).map(lambda d: Bad(d, "domain")),
    ]
    if scripts:
        everywhere += [
            _mixed_script().map(lambda w: Bad(f"{w}.com", "domain", "mixes scripts Latin and Cyrillic")),
            st.from_regex(r"\A[aceopxy]{2,12}\Z").map(
                lambda w: Bad(
                    "".join(LATIN_TO_CYRILLIC[c] for c in w) + ".com", "domain", "letters that look Latin"
                )
            ),
        ]
    if tlds:
        everywhere.append(
            st.tuples(labels, st.sampled_from(UNSUPPORTED_TLDS)).map(
                lambda t: Bad(f"{t[0]}.{t[1]}", "domain", "not supported")
            )
        )
    return st.one_of(everywhere)


def _not_a_country(code: str) -> bool:
    return pycountry.countries.get(alpha_2=code) is None


def bad_owner_fields() -> st.SearchStrategy[tuple[str, Bad]]:
    """(country of the contact, a bad owner field): ``Bad.field`` is ``owner.<field>``."""
    good = valid_cnp()
    wrong_digit = st.sampled_from([d for d in "0123456789" if d != good[-1]])
    return st.one_of(
        wrong_digit.map(lambda d: ("RO", Bad(good[:-1] + d, "owner.cnp", "not a valid CNP", good[:-1] + d))),
        st.from_regex(r"\A\d{1,12}\Z|\A\d{14,20}\Z").map(
            lambda v: ("RO", Bad(v, "owner.cnp", "not a valid CNP", v if len(v) > 6 else None))
        ),
        st.from_regex(r"\A(RO)?\d{2,9}\Z")
        .filter(lambda v: not ro_cui.is_valid(v))
        .map(lambda v: ("RO-company", Bad(v, "owner.cui"))),
        st.sampled_from(["12345678", "0727636787", "+999.1234567", "+40.1", "+33.61234567890123456"]).map(
            lambda v: ("FR", Bad(v, "owner.phone", None, v))
        ),
        st.from_regex(r"\A[A-Z]{2}\Z")
        .filter(_not_a_country)
        .map(lambda v: ("FR", Bad(v, "owner.country", "not an ISO 3166-1"))),
        st.sampled_from(["FRA", "f r", "F", "1", 40, None]).map(lambda v: ("FR", Bad(v, "owner.country"))),
        st.from_regex(r"\A[a-z.]{4,20}\Z").map(lambda v: ("FR", Bad(v, "owner.email", None, v))),
        st.from_regex(r"\A[a-z]{3,9}\Z").map(
            lambda v: ("FR", Bad(f"{v}\x00@example.org", "owner.email", "control", v))
        ),
        st.sampled_from(["given", "family", "streetaddr", "city"]).flatmap(
            lambda f: _inserted("Ana Maria", st.sampled_from(["\x00", "\n", "\u202e", "\x1b"]), True).map(
                lambda v: ("FR", Bad(v, f"owner.{f}", "control characters"))
            )
        ),
        HUGE.map(lambda n: ("FR", Bad("A" * n, "owner.given", "at most"))),
        wrong_types.filter(lambda v: v is not None).map(lambda v: ("FR", Bad(v, "owner.family"))),
    )


def owner_payload(country: str, field: str, value: Any) -> dict[str, Any]:
    owner = company_ro() if country == "RO-company" else person(country)
    owner[field.removeprefix("owner.")] = value
    return register("exemplu.ro" if country.startswith("RO") else "example.com", owner=owner)


@st.composite
def bad_payloads(draw: st.DrawFn) -> Bad:
    """A job payload with exactly one thing wrong; ``Bad.value`` is the whole payload."""
    kind = draw(st.sampled_from(["register", "renew", "lookup"]))
    base: dict[str, Any] = (
        register("example.com")
        if kind == "register"
        else {"kind": kind, "domain": "example.com", **({"years": 1} if kind == "renew" else {})}
    )
    choice = draw(st.integers(0, 6))
    if choice == 0:
        bad = draw(bad_domains(scripts=kind != "lookup", tlds=kind != "lookup"))
        return Bad({**base, "domain": bad.value}, bad.field, bad.reason)
    if choice == 1:
        country, bad = draw(bad_owner_fields())
        return Bad(owner_payload(country, bad.field, bad.value), bad.field, bad.reason, bad.secret)
    if choice == 2:
        key = draw(st.from_regex(r"\A[a-z][a-z0-9_]{0,20}\Z").filter(lambda k: k not in KNOWN_KEYS))
        return Bad({**base, key: draw(wrong_types)}, key, "Extra inputs")
    if choice == 3 and kind != "lookup":
        years = draw(
            st.one_of(
                st.integers().filter(lambda y: not 1 <= y <= 10),
                st.booleans(),
                st.floats().filter(lambda y: y != int(y) if y == y and abs(y) != float("inf") else True),
                st.text(alphabet="abc xyz", max_size=5),
                st.none(),
                st.lists(st.integers(1, 3), max_size=2),
            )
        )
        return Bad({**base, "years": years}, "years")
    if choice == 4:
        text = draw(st.text(max_size=12).filter(lambda k: k not in KINDS))
        return Bad({**base, "kind": draw(st.one_of(st.just(text), wrong_types))}, "kind")
    if choice == 5:
        key = draw(
            st.one_of(
                # not printable ASCII: control characters, non-ASCII (the Idempotency-Key header's rule)
                _inserted("order-17", st.sampled_from(["\x00", "\n", "\x7f", "ă", "\u00a0"]), interior=True),
                HUGE.map(lambda n: "k" * n),
                st.just(""),
            )
        )
        return Bad({**base, "idempotency_key": key}, "idempotency_key")
    return Bad(draw(st.one_of(wrong_types.filter(lambda v: not isinstance(v, dict)), st.just([base]))), "job")


# --- regq submit --file lines ----------------------------------------------------------------------------
@st.composite
def bad_lines(draw: st.DrawFn) -> tuple[bytes, str]:
    """One bad JSONL line as bytes (no line break inside) and the field its rejection names."""
    choice = draw(st.integers(0, 5))
    if choice == 0:
        payload = draw(bad_payloads())
        return json.dumps(payload.value).encode(), payload.field
    if choice == 1:  # not UTF-8
        junk = draw(st.binary(min_size=1, max_size=8).map(lambda b: b"\xff" + b.replace(b"\n", b"")))
        return b'{"kind": "lookup", "domain": "' + junk + b'.com"}', "job"
    if choice == 2:  # a raw NUL (JSON forbids raw control characters in strings)
        return draw(_inserted('{"kind": "lookup", "domain": "example.com"}', st.just("\x00"))).encode(), "job"
    if choice == 3:  # nested past any parser's depth
        depth = draw(st.integers(2_000, 50_000))
        return b'{"kind": "lookup", "domain": ' + b"[" * depth + b"]" * depth + b"}", "job"
    if choice == 4:  # an integer past Python's 4300-digit limit
        return b'{"kind": "register", "years": ' + b"9" * draw(st.integers(4_301, 20_000)) + b"}", "job"
    garbage = draw(st.binary(max_size=40).filter(lambda b: b.strip() and b"\n" not in b and b"\r" not in b))
    return b"<" + garbage, "job"


# --- regq domains import rows ---------------------------------------------------------------------------
@st.composite
def bad_csv_rows(draw: st.DrawFn) -> tuple[bytes, str]:
    """One bad inventory row (``domain,registrar,expires_at,auto_renew``) as bytes and the field named."""
    choice = draw(st.integers(0, 6))
    if choice == 0:  # an empty registrar: an unsupported TLD is the registrar's problem here
        bad = draw(bad_domains(tlds=False))
        value = bad.value if isinstance(bad.value, str) else str(bad.value)
        if not value.strip() or any(c in value for c in '",\r\n'):
            value = "bad..com"
        if len(value) > 10_000:  # past csv's field limit it is the row's problem (choice 2)
            value = "a" * 300 + ".com"
        return f"{value},,2027-01-01,true".encode(), "domain"
    if choice == 1:
        return b"example-\xff.com,,2027-01-01,true", "row"
    if choice == 2:
        return b"x" * draw(st.integers(131_073, 300_000)) + b".com,,,", "row"
    if choice == 3:
        raw = draw(st.sampled_from(["2027-13-01", "2027-02-30", "27-01-01", "tomorrow", "2027/01/01"]))
        return f"example.com,,{raw},true".encode(), "expires_at"
    if choice == 4:
        raw = draw(st.sampled_from(["maybe", "2", "yes please", "\x00"]))
        return f"example.com,,2027-01-01,{raw}".encode(), "auto_renew"
    if choice == 5:
        raw = draw(st.sampled_from(["namecheap", "rotld", "gandi\x00"]))
        return f"example.com,{raw},2027-01-01,true".encode(), "registrar"
    count = draw(st.sampled_from([1, 2, 3, 5, 40]))
    return ",".join(["example.com"] * count).encode(), "row"
