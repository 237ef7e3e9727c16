"""Refreshing the fleet's copy of Gandi's TLD list: what the daily maintenance task calls.

``refresh_gandi(services)`` asks Gandi ``GET /domain/tlds`` once per category (``gTLD``, ``ccTLD``; every
page) through the Gandi gateway (``GandiGateway.tlds``), under the fleet's limiter (the services'
``lookup_policy``: the process's guard, no breaker and no lease, the same Gandi bucket as the jobs'
calls), and stores the list in the fleet store (:mod:`shared.tlds.store`). Every process picks it up
within ``TLDS_RECHECK_SECONDS`` (:class:`~shared.tlds.source.TldSource`).

A failed call, or an answer that does not look like Gandi's whole list (no ``gTLD`` names, fewer than
``TLDS_MIN_GANDI_GTLDS``, or without .com), is not stored: the previous copy (or the snapshot) stays in
use, since a truncated list would refuse names Gandi sells. ROTLD publishes no list: .ro is fixed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from shared import defaults
from shared.errors import ConfigError, RegqError
from shared.names import Registrar, normalise_tld
from shared.tlds.catalogue import CATEGORIES, TldList
from shared.tlds.store import StoredList, TldStore, tld_store

if TYPE_CHECKING:
    from shared.settings import Settings

log = logging.getLogger("regq.tlds")


class ServicesLike(Protocol):
    """What the refresh needs of :class:`shared.services.Services` (this package sits below the gateways
    and services, which import the jobs, which import this package: it names none of them)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def lookup_policy(self) -> Any: ...

    def gateway(self, registrar: str) -> Any: ...


def check_listing(categories: dict[str, tuple[str, ...]], min_gtlds: int) -> str | None:
    """Why ``categories`` is not to be trusted as Gandi's whole list, else None."""
    gtlds = categories.get("gTLD", ())
    if len(gtlds) < min_gtlds:
        return f"only {len(gtlds)} gTLDs listed (at least {min_gtlds} expected): a partial answer"
    if "com" not in gtlds:
        return ".com is not among the gTLDs: not Gandi's whole list"
    return None


def refresh_tlds(
    lister: Callable[[str], list[str]],
    store: TldStore,
    *,
    source: str,
    clock: Callable[[], float] = time.time,
    min_gtlds: int = defaults.TLDS_MIN_GANDI_GTLDS,
) -> dict[str, Any]:
    """Ask ``lister(category)`` for each category and store the list when it passes :func:`check_listing`.

    The report: ``{"gandi": "refreshed" | "failed: reason", "gTLD": n, "ccTLD": n}``."""
    try:
        categories = {c: tuple(dict.fromkeys(normalise_tld(n) for n in lister(c))) for c in CATEGORIES}
    except (RegqError, ValueError) as exc:  # ValueError: a name that is no TLD
        log.warning("TLD list refresh failed, the previous list stays: %s", exc)
        return {"gandi": f"failed: {exc}"}
    counts = {c: len(names) for c, names in categories.items()}
    problem = check_listing(categories, min_gtlds)
    if problem is not None:
        log.warning("TLD list refresh refused, the previous list stays: %s", problem)
        return {"gandi": f"failed: {problem}", **counts}
    now = clock()
    as_of = datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds")
    listing = TldList(Registrar.GANDI.value, categories, source, as_of)
    store.save(Registrar.GANDI.value, StoredList(listing, now))
    return {"gandi": "refreshed", **counts}


def refresh_gandi(services: ServicesLike) -> dict[str, Any]:
    """The maintenance task's body: Gandi's list into the fleet store (see the module). Skipped (and said
    so) without REGQ_REDIS_URL to share it through or without REGQ_GANDI_TOKEN."""
    store = tld_store(services.settings)
    if store is None:
        return {"gandi": "skipped: no REGQ_REDIS_URL to share the list through"}
    try:
        gateway = services.gateway(Registrar.GANDI.value)
    except ConfigError as exc:
        return {"gandi": f"skipped: {exc}"}
    policy = services.lookup_policy
    report = refresh_tlds(
        lambda category: gateway.tlds(policy, category), store, source=f"{gateway.base_url}/domain/tlds"
    )
    log.info("TLD list refresh: %s", report)
    return report
