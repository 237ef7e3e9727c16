"""The fleet's copy of each registrar's TLD list: one Redis key per registrar, or memory for tests.

Built like every fleet-wide backend family (:mod:`shared.backends`): ``redis://``, ``rediss://``,
``unix://`` give a :class:`RedisTldStore` (key ``<REGQ_REDIS_PREFIX>:tlds:<registrar>``, no TTL: a stale
list beats the packaged snapshot, as for the RDAP bootstrap), ``memory://`` a :class:`MemoryTldStore`
private to its instance. The value is the list's JSON (:meth:`~shared.tlds.catalogue.TldList.dumps`) with
the time it was fetched; a damaged value reads as no copy (the snapshot stands in).
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

import redis

from shared.backends import Family
from shared.backends.redis import text
from shared.tlds.catalogue import TldList

if TYPE_CHECKING:
    from shared.settings import Settings


@dataclass(frozen=True)
class StoredList:
    listing: TldList
    fetched_at: float  # time.time() when fetched

    def dumps(self) -> str:
        document = {"fetched_at": self.fetched_at, "list": self.listing.to_document()}
        return json.dumps(document, ensure_ascii=False)

    @classmethod
    def loads(cls, raw: str | bytes) -> StoredList | None:
        try:
            data = json.loads(raw)
            return cls(TldList.from_document(data["list"]), float(data["fetched_at"]))
        except (ValueError, KeyError, TypeError):
            return None


class TldStore(ABC):
    """Where the refresh leaves a registrar's list and every process reads it."""

    @abstractmethod
    def load(self, registrar: str) -> StoredList | None:
        """The stored list, or None (none yet, or damaged). Redis errors propagate."""

    @abstractmethod
    def save(self, registrar: str, stored: StoredList) -> None: ...


class RedisTldStore(TldStore):
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    def key(self, registrar: str) -> str:
        return f"{self.prefix}:tlds:{registrar}"

    def load(self, registrar: str) -> StoredList | None:
        raw = self.client.get(self.key(registrar))
        return StoredList.loads(text(raw)) if isinstance(raw, str | bytes) else None

    def save(self, registrar: str, stored: StoredList) -> None:
        self.client.set(self.key(registrar), stored.dumps())


class MemoryTldStore(TldStore):
    """This instance's copies (``memory://``: tests, one process)."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}
        self._lock = threading.Lock()

    def load(self, registrar: str) -> StoredList | None:
        with self._lock:
            raw = self._values.get(registrar)
        return StoredList.loads(raw) if raw is not None else None

    def save(self, registrar: str, stored: StoredList) -> None:
        with self._lock:
            self._values[registrar] = stored.dumps()


TLD_STORES: Family[TldStore] = Family("tld-lists", redis=RedisTldStore, memory=MemoryTldStore)


def tld_store(settings: Settings) -> TldStore | None:
    """The fleet's store at REGQ_REDIS_URL (a ConfigError for an unknown scheme); None without one."""
    if not settings.redis_url:
        return None
    return TLD_STORES.from_url(settings.redis_url, settings.redis_prefix)
