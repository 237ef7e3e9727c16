"""The interface: acquire with an owner token and a time to live, renew, release."""

from __future__ import annotations

from abc import ABC, abstractmethod


class DomainLock(ABC):
    @abstractmethod
    def acquire(self, domain: str, owner: str, ttl_seconds: float) -> bool:
        """Take the lock if free (or already ours); it lapses after ``ttl_seconds`` unless renewed."""

    @abstractmethod
    def renew(self, domain: str, owner: str, ttl_seconds: float) -> bool:
        """Extend our lock; False if it lapsed or another owner holds it."""

    @abstractmethod
    def release(self, domain: str, owner: str) -> None:
        """Give the lock up if we hold it."""
