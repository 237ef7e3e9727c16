"""The TLD catalogue: which registrar sells which TLD (issue 18).

* :func:`registrar_for` (``name``, optional catalogue): the registrar, or :class:`NotSold` (a ValueError
  naming the TLD and the reason);
* :mod:`~shared.tlds.catalogue`: :class:`TldCatalogue`, built from Gandi's own list, ROTLD's .ro and the
  operator's overrides (REGQ_TLDS_EXTRA, REGQ_TLDS_DENY, parsed by :mod:`shared.settings`);
* :mod:`~shared.tlds.special`: special-use names (always refused) and restricted TLDs, with their RFCs;
* :mod:`~shared.tlds.store`: the fleet's copy of Gandi's list (Redis, or memory for tests);
* :mod:`~shared.tlds.source`: the catalogue a process uses now (fleet copy, else the packaged snapshot
  ``snapshot/gandi.json``) and how job validation gets it;
* :mod:`~shared.tlds.refresh`: the daily refresh through the Gandi gateway (handed in by the caller: the
  gateways import the jobs, which import this package).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from shared.tlds.catalogue import CATEGORIES, NotSold, Overrides, TldCatalogue, TldList, build_catalogue
from shared.tlds.source import (
    CONTEXT_KEY,
    TldSource,
    catalogue_in,
    default_catalogue,
    overrides_from,
    packaged_snapshot,
    registrar_for,
    source_for,
)
from shared.tlds.special import RESTRICTED, SPECIAL_USE, special_use

if TYPE_CHECKING:
    from shared.tlds.store import TLD_STORES, MemoryTldStore, RedisTldStore, StoredList, TldStore, tld_store

#: The fleet store's names, imported on first use: job validation imports this package, and a process
#: that validates or reads a job without the fleet's list (``regq status KEY``) should not import redis.
_STORE_NAMES = frozenset(
    {"TLD_STORES", "MemoryTldStore", "RedisTldStore", "StoredList", "TldStore", "tld_store"}
)


def __getattr__(name: str) -> Any:
    if name in _STORE_NAMES:
        return getattr(import_module("shared.tlds.store"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CATEGORIES",
    "CONTEXT_KEY",
    "RESTRICTED",
    "SPECIAL_USE",
    "TLD_STORES",
    "MemoryTldStore",
    "NotSold",
    "Overrides",
    "RedisTldStore",
    "StoredList",
    "TldCatalogue",
    "TldList",
    "TldSource",
    "TldStore",
    "build_catalogue",
    "catalogue_in",
    "default_catalogue",
    "overrides_from",
    "packaged_snapshot",
    "registrar_for",
    "source_for",
    "special_use",
    "tld_store",
]
