"""The TLD catalogue: which registrar sells which TLD, and the refusal for a TLD nobody sells.

Built from (in this order, later wins):

1. Gandi's own list (:class:`TldList`: ``GET /domain/tlds`` per category, the fleet's refreshed copy or
   the packaged snapshot): every ``gTLD`` it lists, and of its ``ccTLD`` ones those in
   ``defaults.TLDS_GANDI_CCTLDS`` (.eu);
2. ROTLD: ``defaults.TLDS_ROTLD`` (.ro; its second levels com.ro, org.ro ... are public suffixes under
   .ro, matched through it);
3. the operator's REGQ_TLDS_EXTRA (``registrar:tld``), then REGQ_TLDS_DENY removes;
4. special-use names (:mod:`shared.tlds.special`) are never in it, whatever 1-3 say.

A name is matched on its public suffix, longest first (``x.com.ro``: ``com.ro``, then ``ro``), like the
RDAP bootstrap matches its entries.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import idna

from shared import defaults
from shared.names import DomainName, Registrar, normalise_tld
from shared.tlds.special import RESTRICTED, special_use

#: The categories of Gandi's list (its ``category`` query parameter and TLD detail field).
CATEGORIES = ("gTLD", "ccTLD")


class NotSold(ValueError):
    """No registrar regq uses sells this TLD (or it is special-use); the message says which and why."""

    def __init__(self, tld: str, reason: str) -> None:
        super().__init__(f"TLD .{_shown(tld)} is not supported: {reason}")
        self.tld = tld
        self.reason = reason


def _shown(tld: str) -> str:
    """``рф (xn--p1ai)`` for an IDN TLD, the TLD itself otherwise."""
    if not tld.startswith("xn--") and ".xn--" not in tld:
        return tld
    try:
        return f"{idna.decode(tld)} ({tld})"
    except idna.IDNAError:
        return tld


@dataclass(frozen=True)
class TldList:
    """One registrar's own list, per category: what ``GET /domain/tlds?category=...`` answered.

    ``source``: where it came from (an URL, or the packaged snapshot); ``as_of``: when (ISO 8601).
    """

    registrar: str
    categories: Mapping[str, tuple[str, ...]]
    source: str
    as_of: str
    note: str = field(default="", compare=False)

    def names(self, category: str) -> tuple[str, ...]:
        return self.categories.get(category, ())

    @property
    def size(self) -> int:
        return sum(len(v) for v in self.categories.values())

    def to_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "registrar": self.registrar,
            "source": self.source,
            "as_of": self.as_of,
            "categories": {k: list(v) for k, v in self.categories.items()},
        }
        if self.note:
            doc["note"] = self.note
        return doc

    def dumps(self) -> str:
        return json.dumps(self.to_document(), ensure_ascii=False)

    @classmethod
    def from_document(cls, doc: Any) -> TldList:
        """From its JSON form; ValueError naming what is wrong (a damaged copy is no copy)."""
        if not isinstance(doc, dict) or not isinstance(doc.get("categories"), dict):
            raise ValueError("not a TLD list: no 'categories' object")
        categories: dict[str, tuple[str, ...]] = {}
        for category, names in doc["categories"].items():
            if category not in CATEGORIES or not isinstance(names, list):
                raise ValueError(f"not a TLD list: category {str(category)[:20]!r}")
            categories[category] = tuple(dict.fromkeys(normalise_tld(n) for n in names))
        return cls(
            registrar=str(doc.get("registrar") or Registrar.GANDI.value),
            categories=categories,
            source=str(doc.get("source") or "?"),
            as_of=str(doc.get("as_of") or "?"),
            note=str(doc.get("note") or ""),
        )

    @classmethod
    def loads(cls, raw: str | bytes) -> TldList:
        try:
            doc = json.loads(raw)
        except ValueError:
            raise ValueError("not a TLD list: not JSON") from None
        return cls.from_document(doc)


@dataclass(frozen=True)
class Overrides:
    """The operator's word: ``extra`` TLD -> registrar (REGQ_TLDS_EXTRA), ``deny`` (REGQ_TLDS_DENY); both
    parsed and checked by :class:`~shared.settings.Settings`."""

    extra: Mapping[str, Registrar] = field(default_factory=dict)
    deny: frozenset[str] = frozenset()


@dataclass(frozen=True)
class TldCatalogue:
    """TLD (or multi-label suffix) -> the registrar that sells it. ``origin`` says where the registrar's
    list came from (for messages and ``regq`` output)."""

    sold: Mapping[str, Registrar]
    origin: str = "snapshot"

    def __contains__(self, tld: object) -> bool:
        return tld in self.sold

    def __len__(self) -> int:
        return len(self.sold)

    def registrar_for(self, name: DomainName) -> Registrar:
        """The registrar that sells ``name``'s TLD; :class:`NotSold` (a ValueError) with the reason."""
        why = special_use(name.tld)
        if why is not None:
            raise NotSold(name.tld, f"a special-use name ({why}): no registrar can sell a name under it")
        labels = name.suffix.split(".")
        for start in range(len(labels)):
            registrar = self.sold.get(".".join(labels[start:]))
            if registrar is not None:
                return registrar
        raise NotSold(name.tld, self._why_not(name.tld))

    def _why_not(self, tld: str) -> str:
        restricted = RESTRICTED.get(tld)
        if restricted is not None:
            return f"{restricted}: no registrar sells it"
        return f"not sold through regq ({self.summary})"

    @cached_property
    def summary(self) -> str:
        """``gandi: 612 generic TLDs and .eu; rotld: .ro`` (two-letter and multi-label ones named)."""
        parts = []
        for registrar in Registrar:
            tlds = sorted(t for t, r in self.sold.items() if r is registrar)
            if not tlds:
                continue
            named = [t for t in tlds if len(t) == 2 or "." in t]
            others = len(tlds) - len(named)
            shown = ", ".join(f".{t}" for t in named[:6]) + (" ..." if len(named) > 6 else "")
            if others:
                shown = f"{others} generic TLDs" + (f" and {shown}" if shown else "")
            parts.append(f"{registrar.value}: {shown}")
        return "; ".join(parts) or "no TLDs at all"


def build_catalogue(
    listing: TldList,
    overrides: Overrides | None = None,
    *,
    gandi_cctlds: Iterable[str] = defaults.TLDS_GANDI_CCTLDS,
    rotld: Iterable[str] = defaults.TLDS_ROTLD,
) -> TldCatalogue:
    """The catalogue from Gandi's ``listing``, ROTLD's TLDs and the ``overrides`` (see the module)."""
    overrides = overrides or Overrides()
    allowed_cc = set(gandi_cctlds)
    sold: dict[str, Registrar] = {}
    for tld in listing.names("gTLD"):
        sold[tld] = Registrar.GANDI
    for tld in listing.names("ccTLD"):
        if tld.rsplit(".", 1)[-1] in allowed_cc:
            sold[tld] = Registrar.GANDI
    sold.update(dict.fromkeys(rotld, Registrar.ROTLD))
    sold.update(overrides.extra)
    for tld in [*overrides.deny, *(t for t in sold if special_use(t) is not None)]:
        sold.pop(tld, None)
    origin = f"{listing.source}, {listing.as_of}"
    if overrides.extra or overrides.deny:
        origin += f", with {len(overrides.extra)} added and {len(overrides.deny)} denied by the operator"
    return TldCatalogue(sold, origin)
