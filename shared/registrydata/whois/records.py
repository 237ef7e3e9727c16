"""WHOIS text to a flat list of :class:`Entry` (section, key, value), whatever the layout.

The layouts met in real answers (samples in ``tests/data/whois/`` and ``sandbox/data/whois/``):

* ``Key: value`` lines, indented or not, with or without a space after the colon (ICANN gTLDs, .ca, .ro,
  .de, .fr, .ru, .br, .nl, .pl, old .org ``Created On:05-Oct-1997``);
* a header ``Key:`` with no value, its items on the following, deeper indented lines (.uk, .eu, .nl), or
  on lines of the same indentation up to a blank line (.pl ``REGISTRAR:``);
* a header with no colon at all followed by deeper indented ``Key: value`` lines or bare items (.it);
* a value continued on deeper indented lines (.pl ``nameservers:``, .it ``Address:``);
* JPRS ``a. [Domain Name]   YAHOO.CO.JP`` and ``[State]   Connected (2025/09/30)``;
* RPSL-like objects separated by blank lines (.fr, .br, IANA): objects that describe a contact (first key
  ``nic-hdl``, ``nic-hdl-br``, ``person``, ``role``, ``contact``) are marked ``skip``: their ``created``,
  ``changed`` and ``eppstatus`` lines are the contact's, not the domain's.

Comment lines (``%``, ``#``, ``>>>``, ``*`` banners, JPRS ``[ ... ]`` banners) are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_COMMENT = re.compile(r"^\s*(?:%|#|>>>|\*|\[\s)")
_JPRS = re.compile(r"^\s*(?:[a-z]\.\s*)?\[(?P<k>[^\]]{1,60})\]\s*(?P<v>.*)$")
# A key: letters first; no dots inside (a host name is a value), an optional trailing dot ("Phone Ext.").
_KV = re.compile(r"^\s*(?P<k>[A-Za-z][A-Za-z0-9 /_'&-]{0,60}?\.?)\s*:(?:\s+|$|(?=\S))(?P<v>.*)$")
#: First keys of RPSL objects that describe a contact, not the domain.
CONTACT_OBJECTS = frozenset({"nic-hdl", "nic-hdl-br", "person", "role", "contact"})


@dataclass(frozen=True)
class Entry:
    """One datum. ``key`` is lower case with single spaces ("" for a bare item of a section);
    ``section`` the lower-case header it sits under (None at top level)."""

    key: str
    value: str
    section: str | None
    skip: bool
    line: int


def norm_key(key: str) -> str:
    return " ".join(key.lower().replace("_", " ").split()).rstrip(".")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _kv(line: str) -> tuple[str, str] | None:
    if (m := _JPRS.match(line)) is not None:
        return "[" + norm_key(m["k"]) + "]", m["v"].strip()
    if line.lstrip().lower().startswith(("http://", "https://")):
        return None
    if (m := _KV.match(line)) is not None:
        return norm_key(m["k"]), m["v"].strip()
    return None


def tokenize(text: str) -> list[Entry]:
    """Every datum of ``text`` in order (see the module doc)."""
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lines = ["" if _COMMENT.match(ln) else ln for ln in lines]
    entries: list[Entry] = []
    section: tuple[str, int] | None = None  # (name, indent of its header)
    last: tuple[str, int, str | None] | None = None  # (key, indent, section) of the last keyed line
    seen_since_blank = False
    skip = False
    for number, line in enumerate(lines):
        if not line.strip():
            section, last, seen_since_blank = None, None, False
            continue
        indent = _indent(line)
        pair = _kv(line)
        if not seen_since_blank:  # a paragraph starts: is it a contact object?
            skip = pair is not None and bool(pair[1]) and pair[0] in CONTACT_OBJECTS
            seen_since_blank = True
        nxt = lines[number + 1] if number + 1 < len(lines) else ""
        deeper_next = bool(nxt.strip()) and _indent(nxt) > indent
        if section is not None:
            name, header_indent = section
            inside = indent > header_indent or (indent == header_indent and pair is None)
            if inside:
                if pair is not None and not pair[0].startswith("["):
                    entries.append(Entry(pair[0], pair[1], name, skip, number))
                    last = (pair[0], indent, name)
                elif last is not None and last[2] == name and indent > last[1]:
                    entries.append(Entry(last[0], line.strip(), name, skip, number))
                else:
                    entries.append(Entry("", line.strip(), name, skip, number))
                continue
            section = None
        if pair is not None:
            key, value = pair
            if not value and not key.startswith("["):
                section, last = (key, indent), None
                continue
            entries.append(Entry(key, value, None, skip, number))
            last = (key, indent, None)
            continue
        if deeper_next:  # a header without a colon (.it "Registrar", "Nameservers")
            section, last = (norm_key(line), indent), None
            continue
        if last is not None and last[2] is None and indent > last[1]:
            entries.append(Entry(last[0], line.strip(), None, skip, number))  # a continued value
        else:
            entries.append(Entry("", line.strip(), None, skip, number))
    return entries
