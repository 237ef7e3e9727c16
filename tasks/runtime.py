"""Per-process singletons the tasks share: settings, store, Redis, limiter, breaker, gateways.

Built lazily on first use and rebuilt after a fork (``reset()`` from ``worker_process_init``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property

import redis
from celery import Celery

from shared.breaker import BreakerConfig, breaker_from_url
from shared.breaker.base import Breaker
from shared.execution.guard import LimiterGuard
from shared.execution.runner import JobRunner
from shared.gateways.base import Gateway
from shared.gateways.registry import gateway_for
from shared.locks import DomainLock, RedisDomainLock
from shared.ratelimit import limiter_from_url
from shared.ratelimit.base import Limiter
from shared.settings import Settings, get_settings
from shared.store import Store
from tasks.producer import producer_app


@dataclass
class Runtime:
    settings: Settings
    _gateways: dict[str, Gateway] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @cached_property
    def store(self) -> Store:
        return Store(self.settings.database_url)

    @cached_property
    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.settings.effective_redis_url, health_check_interval=30)

    @cached_property
    def limiter(self) -> Limiter:
        return limiter_from_url(self.settings.effective_redis_url, self.settings.redis_prefix)

    @cached_property
    def breaker(self) -> Breaker:
        return breaker_from_url(
            self.settings.effective_redis_url,
            self.settings.redis_prefix,
            BreakerConfig.from_settings(self.settings),
            self.store.breaker_events,
        )

    @cached_property
    def guard(self) -> LimiterGuard:
        return LimiterGuard(self.limiter, self.settings, self.breaker)

    def gateway(self, registrar: str) -> Gateway:
        with self._lock:
            if registrar not in self._gateways:
                self._gateways[registrar] = gateway_for(
                    registrar,
                    self.settings,
                    audit=self.store.audit,
                    guard=self.guard,
                    contacts=self.store.contacts,
                )
            return self._gateways[registrar]

    @cached_property
    def producer(self) -> Celery:
        """Publishes with this runtime's settings (the sweeper and the renewal scan use it)."""
        return producer_app(self.settings)

    @cached_property
    def locks(self) -> DomainLock:
        return RedisDomainLock(self.redis, self.settings.redis_prefix)

    @cached_property
    def runner(self) -> JobRunner:
        return JobRunner(self.store, self.settings, self.breaker, self.gateway, self.locks)

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.dispose()
        if "redis" in self.__dict__:
            self.redis.close()
        if "producer" in self.__dict__:
            self.producer.close()


_current: Runtime | None = None
_current_lock = threading.Lock()


def get() -> Runtime:
    global _current
    with _current_lock:
        if _current is None:
            _current = Runtime(get_settings())
        return _current


def reset() -> None:
    """Forget every connection (after a fork, or when tests change the settings)."""
    global _current
    with _current_lock:
        _current = None
