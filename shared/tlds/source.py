"""The catalogue a process uses now: the fleet's refreshed Gandi list, else the packaged snapshot, with the
operator's overrides; and how job validation gets it.

:class:`TldSource` looks at the fleet store again every ``TLDS_RECHECK_SECONDS`` (a long-running worker
or API picks up the daily refresh), keeps what it had when Redis does not answer (validation never fails
because Redis is down), and stands the packaged snapshot in until a refresh stored a list.

Job validation (:mod:`shared.jobs`) takes its catalogue from the pydantic validation context
(``{"tlds": catalogue}``, :func:`shared.jobs.parse_job`'s ``tlds``) when the caller has one; otherwise
from :func:`default_catalogue`: this process's source for the current settings (REGQ_REDIS_URL,
REGQ_REDIS_PREFIX, REGQ_TLDS_EXTRA, REGQ_TLDS_DENY), so every submit path (API, CLI, renewal scan, the
worker reading a job back) checks against the same fleet list.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from shared import defaults
from shared.names import DomainName, Registrar
from shared.tlds.catalogue import Overrides, TldCatalogue, TldList, build_catalogue

if TYPE_CHECKING:  # the fleet store (and redis with it) is imported where a source is built, not by jobs
    from shared.settings import Settings
    from shared.tlds.store import TldStore

log = logging.getLogger("regq.tlds")
#: The validation-context key a caller's catalogue goes under.
CONTEXT_KEY = "tlds"


@lru_cache(maxsize=1)
def packaged_snapshot() -> TldList:
    """Gandi's list as shipped (``snapshot/gandi.json``; where it comes from: its SOURCES.md)."""
    raw = resources.files("shared.tlds.snapshot").joinpath("gandi.json").read_text("utf-8")
    return TldList.from_document(json.loads(raw))


def overrides_from(settings: Settings) -> Overrides:
    return Overrides(
        {tld: Registrar(name) for tld, name in settings.tlds_extra.items()}, frozenset(settings.tlds_deny)
    )


class TldSource:
    """The catalogue now: the stored Gandi list (re-read every ``recheck_seconds``) or the snapshot, plus
    ``overrides``. ``store`` None: the snapshot only (no Redis configured)."""

    def __init__(
        self,
        store: TldStore | None,
        overrides: Overrides | None = None,
        *,
        recheck_seconds: float = defaults.TLDS_RECHECK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.overrides = overrides or Overrides()
        self.recheck_seconds = recheck_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._current: TldCatalogue | None = None
        self._listing: TldList | None = None
        self._checked_at = 0.0

    def current(self) -> TldCatalogue:
        with self._lock:
            if self._current is not None and self.clock() - self._checked_at < self.recheck_seconds:
                return self._current
            self._checked_at = self.clock()
            listing = self._stored()
            if listing is None:
                listing = self._listing or packaged_snapshot()
            if self._current is None or listing is not self._listing:
                self._current = build_catalogue(listing, self.overrides)
                self._listing = listing
            return self._current

    def _stored(self) -> TldList | None:
        """The fleet's list; None when there is none, or Redis did not answer (logged: the last list read,
        or the snapshot, stays in use)."""
        if self.store is None:
            return None
        from shared.backends import UNAVAILABLE

        try:
            stored = self.store.load(Registrar.GANDI.value)
        except UNAVAILABLE as exc:
            log.warning("TLD list: Redis did not answer (%s); the catalogue in use stays", type(exc).__name__)
            return None
        if stored is None:
            return None
        if self._listing is not None and stored.listing == self._listing:
            return self._listing  # the same list: the catalogue built from it stays
        return stored.listing


def source_for(settings: Settings, **options: Any) -> TldSource:
    """A new source for ``settings``: the fleet store at REGQ_REDIS_URL and the REGQ_TLDS_* overrides."""
    from shared.tlds.store import tld_store

    return TldSource(tld_store(settings), overrides_from(settings), **options)


_SOURCES: OrderedDict[tuple[Any, ...], TldSource] = OrderedDict()
_SOURCES_LOCK = threading.Lock()
_MAX_SOURCES = 8


def _fresh_lock_in_child() -> None:
    global _SOURCES_LOCK
    _SOURCES_LOCK = threading.Lock()  # a thread of the parent may have held it at the fork


os.register_at_fork(after_in_child=_fresh_lock_in_child)
#: The variables a process's default catalogue depends on (the key of its source: reading four variables
#: costs a microsecond, parsing every REGQ_* one with get_settings() thirty, on every job validated).
_VARIABLES = ("REGQ_REDIS_URL", "REGQ_REDIS_PREFIX", "REGQ_TLDS_EXTRA", "REGQ_TLDS_DENY")


def default_catalogue() -> TldCatalogue:
    """This process's catalogue for the settings the environment names now (see the module)."""
    key = (os.getpid(), *(os.environ.get(name) for name in _VARIABLES))  # a forked child: its own source
    with _SOURCES_LOCK:
        source = _SOURCES.get(key)
        if source is not None:
            _SOURCES.move_to_end(key)
    if source is None:
        from shared.settings import get_settings  # a bad value: ConfigError naming it

        source = source_for(get_settings())
        with _SOURCES_LOCK:
            source = _SOURCES.setdefault(key, source)
            while len(_SOURCES) > _MAX_SOURCES:
                _SOURCES.popitem(last=False)
    return source.current()


def catalogue_in(context: Any) -> TldCatalogue:
    """The catalogue a validation ``context`` carries under ``"tlds"``, else :func:`default_catalogue`."""
    if isinstance(context, Mapping):
        given = context.get(CONTEXT_KEY)
        if isinstance(given, TldCatalogue):
            return given
        if isinstance(given, TldSource):
            return given.current()
    return default_catalogue()


def registrar_for(name: DomainName, catalogue: TldCatalogue | None = None) -> Registrar:
    """The registrar that sells ``name``'s TLD in ``catalogue``, else in :func:`default_catalogue`; a TLD
    nobody sells, or a special-use name: :class:`~shared.tlds.catalogue.NotSold` (a ValueError) naming
    the TLD and the reason."""
    return (catalogue if catalogue is not None else default_catalogue()).registrar_for(name)
