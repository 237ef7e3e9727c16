"""Script policy for names we register: no mixed-script labels, no Cyrillic look-alikes of Latin labels.

IDNA 2008 (RFC 5891-5893) and UTS 46, which :func:`shared.names.parse_domain` enforces through ``idna``, say
which code points a label may hold (contextual rules, bidi, nothing disallowed); they allow ``pаypal``
with a Cyrillic ``а``. Refusing such names is a registry policy, taken here from Unicode Technical
Standard #39 (Unicode Security Mechanisms), section 5.2, restriction level *Highly Restrictive*:

- every label's characters come from one script, plus Common and Inherited (digits, the hyphen,
  combining marks);
- or from one of the combinations CJK writing needs: Latin + Han + Hiragana + Katakana, Latin + Han +
  Bopomofo, Latin + Han + Hangul.

and from UTS 39 section 4 (whole-script confusables): an all-Cyrillic label made only of letters whose
confusables.txt prototype is a Latin letter (``аррӏе``, read ``apple``) is refused, unless the TLD is
itself Cyrillic (``.рф``), where such labels are ordinary words. Chromium's IDN spoof checker applies the
same two rules.

The script of a character: ``idna.idnadata.scripts`` (Unicode's Scripts.txt, as shipped by ``idna`` for its
contextual rules) for Greek, Han, Hebrew, Hiragana and Katakana; for every other script, the first word of
the character's Unicode name from :mod:`unicodedata` (``LATIN SMALL LETTER A``, ``CYRILLIC SMALL LETTER
A``, ``HANGUL SYLLABLE GA``, ``DEVANAGARI LETTER KA``), which Unicode's naming rules make the script's name
for letters, marks and digits of a script. Digits (``DIGIT ZERO``), the hyphen, the joiners and the
``COMBINING`` marks not named after a script are Common or Inherited (``COMBINING CYRILLIC LETTER A`` is
Cyrillic). A character Python's Unicode data does not name has no known script and is refused (a code
point newer than the interpreter's Unicode database).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import idna.idnadata
import idna.intranges

LATIN = "Latin"
CYRILLIC = "Cyrillic"
#: Scripts ``idna`` ships ranges for (Scripts.txt): authoritative where they apply.
_IDNA_SCRIPTS = tuple(idna.idnadata.scripts.items())
#: UTS 39 5.2 Highly Restrictive: the multi-script sets allowed besides a single script.
ALLOWED_COMBINATIONS = (
    frozenset({LATIN, "Han", "Hiragana", "Katakana"}),
    frozenset({LATIN, "Han", "Bopomofo"}),
    frozenset({LATIN, "Han", "Hangul"}),
)
#: Unicode-name first words that are no script of their own (Common / Inherited), or another name of one.
_COMMON_WORDS = frozenset(
    {"DIGIT", "HYPHEN-MINUS", "COMBINING", "ZERO", "MIDDLE", "MODIFIER", "VEDIC", "CARON", "VERTICAL"}
    | {"MASU", "PHAISTOS"}
)
#: A combining mark or modifier letter named after a script belongs to it (``COMBINING CYRILLIC LETTER
#: A`` is Cyrillic in Scripts.txt); ``COMBINING LATIN ...`` marks are Inherited there.
_QUALIFIED = {"COMBINING": 1, "MODIFIER": 2}
_QUALIFYING_SCRIPTS = frozenset({"CYRILLIC", "GLAGOLITIC", "DEVANAGARI", "GRANTHA", "GEORGIAN", "OLD"})
_NAME_WORDS = {
    "TURNED": frozenset({LATIN}),  # TURNED SMALL F
    "CJK": frozenset({"Han"}),
    "IDEOGRAPHIC": frozenset({"Han"}),
    "ARABIC-INDIC": frozenset({"Arabic"}),
    "EXTENDED": frozenset({"Arabic"}),  # EXTENDED ARABIC-INDIC DIGIT ...
    # Script_Extensions of U+30FC and U+30FB: both kana scripts (U+30FB also Han, Hangul, Bopomofo).
    "KATAKANA-HIRAGANA": frozenset({"Hiragana", "Katakana"}),
}
_MIDDLE_DOT_KANA = 0x30FB
#: First words shared by several scripts: the script is named by two words (OLD ITALIC, TAI LE, ...).
_TWO_WORD = frozenset({"OLD", "NEW", "TAI", "INSCRIPTIONAL", "CAUCASIAN", "PSALTER", "OL", "NYIAKENG"})
#: Cyrillic letters whose UTS 39 confusables.txt prototype is a Latin letter, with that letter.
CYRILLIC_LOOKALIKES = {
    "\u0430": "a",  # а
    "\u0441": "c",  # с
    "\u0501": "d",  # ԁ
    "\u0435": "e",  # е
    "\u04bd": "e",  # ҽ
    "\u04bb": "h",  # һ
    "\u0456": "i",  # і
    "\u0458": "j",  # ј
    "\u04cf": "l",  # ӏ
    "\u043f": "n",  # п
    "\u043e": "o",  # о
    "\u0440": "p",  # р
    "\u051b": "q",  # ԛ
    "\u0433": "r",  # г
    "\u0455": "s",  # ѕ
    "\u0475": "v",  # ѵ
    "\u051d": "w",  # ԝ
    "\u0461": "w",  # ѡ
    "\u0445": "x",  # х
    "\u0443": "y",  # у
    "\u04af": "y",  # ү
}
UNKNOWN = "Unknown"


@lru_cache(maxsize=4096)
def scripts_of(char: str) -> frozenset[str]:
    """The scripts ``char`` belongs to: empty for Common and Inherited (they go with any script),
    several for a character shared by scripts (Script_Extensions), ``{"Unknown"}`` when unnamed."""
    point = ord(char)
    for script, ranges in _IDNA_SCRIPTS:
        if idna.intranges.intranges_contain(point, ranges):
            return frozenset({script})
    if point == _MIDDLE_DOT_KANA:
        return frozenset()
    try:
        words = unicodedata.name(char).split()
    except ValueError:
        return frozenset({UNKNOWN})
    first = words[0]
    at = _QUALIFIED.get(first)
    if at is not None and len(words) > at + 1 and words[at] in _QUALIFYING_SCRIPTS:
        words = words[at:]
        first = words[0]
    if first in _COMMON_WORDS:
        return frozenset()
    if first in _NAME_WORDS:
        return _NAME_WORDS[first]
    if first in _TWO_WORD and len(words) > 1:
        return frozenset({f"{first} {words[1]}".title()})
    return frozenset({first.title()})


def _named(scripts: list[str]) -> str:
    """``Latin and Cyrillic``: Latin first (the usual victim), the others in order of appearance."""
    ordered = sorted(scripts, key=lambda s: s != LATIN)
    return ordered[0] if len(ordered) == 1 else ", ".join(ordered[:-1]) + " and " + ordered[-1]


def label_problem(label: str) -> str | None:
    """Why the U-label ``label`` breaks the Highly Restrictive level, or None when it does not."""
    sets = [scripts_of(c) for c in label]
    unknown = [c for c, s in zip(label, sets, strict=True) if UNKNOWN in s]
    if unknown:
        return f"uses U+{ord(unknown[0]):04X}, a character of no script known here"
    used = [s for s in sets if s]
    if not used:
        return None
    if frozenset.intersection(*used):
        return None
    if any(all(s & allowed for s in used) for allowed in ALLOWED_COMBINATIONS):
        return None
    seen: list[str] = []
    for scripts in used:
        if not any(s in seen for s in scripts):
            seen.append(min(scripts))
    return f"mixes scripts {_named(seen)}"


def lookalike_of(label: str) -> str | None:
    """The Latin label an all-Cyrillic ``label`` reads as (``аррӏе`` -> ``apple``), else None."""
    letters = [c for c in label if unicodedata.category(c).startswith("L")]
    if not letters or not all(c in CYRILLIC_LOOKALIKES for c in letters):
        return None
    return "".join(CYRILLIC_LOOKALIKES.get(c, c) for c in label)


def name_problem(unicode_name: str) -> str | None:
    """Why a domain name (its U-label form, ``pаypal.com``) is refused by this policy, or None.

    The reason names the label: ``label 'pаypal' (xn--pypal-4ve) mixes scripts Latin and Cyrillic``.
    """
    labels = unicode_name.split(".")
    cyrillic_tld = scripts_of_label(labels[-1]) == {CYRILLIC}
    for label in labels:
        problem = label_problem(label)
        if problem is None and not cyrillic_tld:
            latin = lookalike_of(label)
            if latin is not None:
                problem = f"is Cyrillic made only of letters that look Latin (it reads as {latin!r})"
        if problem is not None:
            return f"label {_shown(label)} {problem}"
    return None


def scripts_of_label(label: str) -> set[str]:
    """Every script the characters of ``label`` belong to (Common and Inherited left out)."""
    return {s for c in label for s in scripts_of(c)}


def _shown(label: str) -> str:
    """The label as written and, when not ASCII, its A-label: the U-label alone may be the spoof."""
    if label.isascii():
        return repr(label)
    try:
        return f"{label!r} ({idna.encode(label, uts46=False).decode('ascii')})"
    except idna.IDNAError:
        return repr(label)
