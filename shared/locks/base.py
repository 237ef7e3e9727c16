"""The interface the runner holds a domain by: acquire with an owner token and a lease, renew, release.

Nothing is remembered by the caller's side: the owner token is passed to every call, so the thread that
renews (the runner's lease keeper) need not be the thread that acquired, nor even the same object.
"""

from __future__ import annotations

from abc import ABC, abstractmethod


def check_ttl(ttl_seconds: float) -> int:
    """``ttl_seconds`` as whole milliseconds (at least 1); ValueError unless positive."""
    if not ttl_seconds > 0:
        raise ValueError(f"a lock's ttl_seconds must be positive, got {ttl_seconds!r}")
    return max(1, int(ttl_seconds * 1000))


class DomainLock(ABC):
    """At most one owner per domain, fleet-wide (for the backend's reach); a lock lapses unless renewed."""

    @abstractmethod
    def acquire(self, domain: str, owner: str, ttl_seconds: float) -> bool:
        """Take the lock if free (or already ours: its lease restarts); it lapses after ``ttl_seconds``."""

    @abstractmethod
    def renew(self, domain: str, owner: str, ttl_seconds: float) -> bool:
        """Restart our lease at ``ttl_seconds``; False if it lapsed or another owner holds it."""

    @abstractmethod
    def release(self, domain: str, owner: str) -> None:
        """Give the lock up if we hold it; someone else's lock is left alone."""
