"""Where a refreshed bootstrap copy is kept, so every process (and, with Redis, every host) reads it.

Choice: with REGQ_REDIS_URL (production, the embedded stack) one Redis key per file,
``<REGQ_REDIS_PREFIX>:rdap:bootstrap:<name>``, without a TTL (a stale copy beats the packaged snapshot);
the fleet shares it, so one weekly refresh serves every worker. Without Redis a file per registry under
``var/rdap-bootstrap/`` (written to a temporary name, then renamed: a reader never sees half a file).
Each entry is ``{"url", "fetched_at", "max_age", "document"}``: the IANA body and when it goes stale.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import redis

from shared import defaults
from shared.backends import RedisConnection, connect
from shared.settings import Settings


@dataclass(frozen=True)
class StoredFile:
    url: str
    fetched_at: float  # time.time() when fetched
    max_age: float  # seconds it stays fresh (Cache-Control: max-age)
    document: Any  # the decoded IANA body

    def fresh(self, now: float) -> bool:
        return now < self.fetched_at + self.max_age

    def dumps(self) -> str:
        return json.dumps(
            {
                "url": self.url,
                "fetched_at": self.fetched_at,
                "max_age": self.max_age,
                "document": self.document,
            }
        )

    @classmethod
    def loads(cls, raw: str | bytes) -> StoredFile | None:
        try:
            data = json.loads(raw)
            return cls(str(data["url"]), float(data["fetched_at"]), float(data["max_age"]), data["document"])
        except (ValueError, KeyError, TypeError):
            return None  # a damaged copy is no copy: the snapshot stands in


class BootstrapStore(Protocol):
    def load(self, name: str) -> StoredFile | None: ...

    def save(self, name: str, stored: StoredFile) -> None: ...


class FileBootstrapStore:
    def __init__(self, directory: str | Path = defaults.RDAP_BOOTSTRAP_DIR) -> None:
        self.directory = Path(directory)

    def load(self, name: str) -> StoredFile | None:
        try:
            return StoredFile.loads((self.directory / name).read_bytes())
        except OSError:
            return None

    def save(self, name: str, stored: StoredFile) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(stored.dumps())
            os.replace(tmp, self.directory / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class RedisBootstrapStore:
    def __init__(self, client: redis.Redis, prefix: str = defaults.REDIS_PREFIX) -> None:
        self.client = client
        self.prefix = prefix

    def key(self, name: str) -> str:
        return f"{self.prefix}:rdap:bootstrap:{name}"

    def load(self, name: str) -> StoredFile | None:
        raw = self.client.get(self.key(name))
        return StoredFile.loads(raw) if isinstance(raw, str | bytes) else None

    def save(self, name: str, stored: StoredFile) -> None:
        self.client.set(self.key(name), stored.dumps())


def store_for(settings: Settings) -> BootstrapStore:
    """Redis when REGQ_REDIS_URL names a Redis (shared by the fleet), else files under var/."""
    if settings.redis_url:
        connection = connect(settings.redis_url)
        if isinstance(connection, RedisConnection):
            return RedisBootstrapStore(connection.client, settings.redis_prefix)
    return FileBootstrapStore()
