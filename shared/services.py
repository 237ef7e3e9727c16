"""The composition root: everything a delivery needs, built from one ``Settings``, closed by one ``close()``.

::

    Settings ──> Services
                  ├─ store          Store(REGQ_DATABASE_URL)
                  ├─ connection     shared.backends.connect(REGQ_REDIS_URL): ONE Redis pool per process
                  │    ├─ limiter   LIMITERS  ┐
                  │    ├─ breaker   BREAKERS  ├ built on that one pool (memory:// -> in-process backends)
                  │    └─ locks     LOCKS     ┘
                  ├─ guard          LimiterGuard(limiter, settings): tokens, block windows, rate classes
                  ├─ gateway(name)  gateway_for(name, settings, store.audit, store.contacts)
                  ├─ lookup_policy  CallPolicy(guard): the lookups' requests (no breaker, no lease)
                  ├─ lookups()      Pipeline(RDAP, WHOIS, DNS, RDAP IP, cache, singleflight), per thread
                  │    ├─ cache     CACHES   ┐ on the same pool
                  │    └─ flight    FLIGHTS  ┘
                  └─ runner         JobRunner(store, settings, breaker, gateway, locks, lookups, guard):
                                    one CallPolicy per delivery (guard + breaker account + lease check)

Every part is built on first use and kept (``regq jobs`` needs no Redis, a lookup worker no Gandi token).
Celery's part (the producer app) is added on top by ``tasks.runtime``; the CLI and the benchmarks use the
same objects. :class:`PerProcess` is the per-process accessor: built on first use, built again in a
forked child (pid check), after ``close()`` and when the settings changed, so nothing needs resetting.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

from shared.audit import AuditSink
from shared.backends import Connection, connect
from shared.breaker import BREAKERS, Breaker, BreakerConfig
from shared.execution.runner import JobRunner
from shared.gateways.base import Gateway
from shared.gateways.registry import gateway_for
from shared.locks import LOCKS, DomainLock
from shared.ratelimit import LIMITERS, Limiter
from shared.registrydata.cache import CACHES, CacheTTLs, LookupCache
from shared.registrydata.dns import resolver_for
from shared.registrydata.pipeline import Pipeline
from shared.registrydata.rdap import BootstrapSource, RdapClient, store_for
from shared.registrydata.singleflight import FLIGHTS, FlightConfig, Singleflight
from shared.registrydata.whois import WhoisClient
from shared.settings import Settings
from shared.store import Store
from shared.upstream import CallPolicy, LimiterGuard

T = TypeVar("T")


class Services:
    """The store, the Redis-backed families, the guard, the gateways and the runner for ``settings``."""

    def __init__(self, settings: Settings, audit: AuditSink | None = None) -> None:
        self.settings = settings
        self._audit = audit  # where the lookups' audit rows go instead of the store (``regq lookup``)
        self.closed = False
        self._parts: dict[str, Any] = {}
        self._gateways: dict[str, Gateway] = {}
        self._rdap_clients: list[RdapClient] = []
        self._lock = threading.RLock()  # reentrant: building the runner builds the breaker, the store...

    def _part(self, name: str, build: Callable[[], T]) -> T:
        with self._lock:
            if name not in self._parts:
                self._parts[name] = build()
            return cast(T, self._parts[name])

    def built(self, name: str) -> bool:
        """Whether the part ``name`` (store, connection, producer, ...) exists yet."""
        return name in self._parts

    @property
    def store(self) -> Store:
        return self._part("store", lambda: Store(self.settings.database_url))

    @property
    def connection(self) -> Connection:
        """The process's connection for REGQ_REDIS_URL (shared with every other user of that URL)."""
        return self._part("connection", lambda: connect(self.settings.effective_redis_url))

    # limiter_from_url(url, ...) is LIMITERS.from_url(url, ...) = connect(url).build(LIMITERS, ...): the
    # same call, on the connection these services hold (and close).
    @property
    def limiter(self) -> Limiter:
        return self._part("limiter", lambda: self.connection.build(LIMITERS, self.settings.redis_prefix))

    @property
    def breaker(self) -> Breaker:
        return self._part("breaker", self._build_breaker)

    def _build_breaker(self) -> Breaker:
        config = BreakerConfig.from_settings(self.settings)
        return self.connection.build(BREAKERS, self.settings.redis_prefix, config, self.store.breaker_events)

    @property
    def locks(self) -> DomainLock:
        return self._part("locks", lambda: self.connection.build(LOCKS, self.settings.redis_prefix))

    @property
    def guard(self) -> LimiterGuard:
        return self._part("guard", lambda: LimiterGuard(self.limiter, self.settings))

    @property
    def lookup_policy(self) -> CallPolicy:
        """The call policy of registration-data requests (RDAP, WHOIS, the bootstrap refresh): the
        limiter guard only; a delivery's own policy (breaker, lease) is the runner's."""
        return self._part("lookup-policy", lambda: CallPolicy(self.guard))

    def gateway(self, registrar: str) -> Gateway:
        """The gateway for ``registrar``, built once (ConfigError if its credentials are missing)."""
        with self._lock:
            if registrar not in self._gateways:
                self._gateways[registrar] = gateway_for(
                    registrar,
                    self.settings,
                    audit=self.store.audit,
                    contacts=self.store.contacts,
                )
            return self._gateways[registrar]

    @property
    def cache(self) -> LookupCache:
        ttls = CacheTTLs.from_settings(self.settings)
        return self._part("cache", lambda: self.connection.build(CACHES, self.settings.redis_prefix, ttls))

    @property
    def flight(self) -> Singleflight:
        config = FlightConfig.from_settings(self.settings)
        return self._part(
            "flight", lambda: self.connection.build(FLIGHTS, self.settings.redis_prefix, config)
        )

    @property
    def bootstrap(self) -> BootstrapSource:
        """The IANA RDAP bootstrap: the override directory, the fleet's refreshed copy, or the snapshot."""
        return self._part("bootstrap", lambda: BootstrapSource(self.settings, store_for(self.settings)))

    def lookups(self) -> Pipeline:
        """This thread's lookup pipeline (its RDAP and WHOIS clients hold HTTP sessions and sockets);
        the caches, the singleflight, the limiter and the bootstrap are shared by the process."""
        local = self._part("lookup-threads", threading.local)
        pipeline: Pipeline | None = getattr(local, "pipeline", None)
        if pipeline is None:
            audit = self._audit if self._audit is not None else self.store.audit
            rdap = RdapClient(self.settings, audit, self.lookup_policy, self.bootstrap)
            pipeline = Pipeline(
                rdap=rdap,
                whois=WhoisClient(self.settings, self.lookup_policy),
                dns=resolver_for(self.settings),
                ip_registrants=rdap,
                cache=self.cache,
                flight=self.flight,
            )
            local.pipeline = pipeline
            with self._lock:
                self._rdap_clients.append(rdap)
        return pipeline

    @property
    def runner(self) -> JobRunner:
        return self._part(
            "runner",
            lambda: JobRunner(
                self.store, self.settings, self.breaker, self.gateway, self.locks, self.lookups, self.guard
            ),
        )

    def close(self) -> None:
        """Close the gateways, the database pool and the Redis pool. Safe to call twice."""
        with self._lock:
            self.closed = True
            parts, self._parts = self._parts, {}
            gateways, self._gateways = list(self._gateways.values()), {}
            rdap_clients, self._rdap_clients = self._rdap_clients, []
        for gateway in gateways:
            gateway.close()
        for client in rdap_clients:
            client.close()
        self._close_parts(parts)

    def _close_parts(self, parts: dict[str, Any]) -> None:
        """Close the built parts (a subclass adding parts closes its own, then calls this)."""
        if "store" in parts:
            parts["store"].dispose()
        if "connection" in parts:
            parts["connection"].close()

    def abandon(self) -> None:
        """Drop what a forked child inherited without closing it: the parent still uses those sockets.

        Takes no lock: a thread of the parent may have held it at the fork, and that thread is gone."""
        self.closed = True
        parts, self._parts, self._gateways = self._parts, {}, {}
        if "store" in parts:
            parts["store"].db.engine.dispose(close=False)  # SQLAlchemy's recipe for a forked child


S = TypeVar("S", bound=Services)


class PerProcess(Generic[S]):
    """This process's services for the current settings: ``get()`` builds them on first use and again
    when they no longer fit, i.e. in a forked child (another pid: the inherited ones are abandoned, not
    closed), after ``close()``, or when ``settings()`` now reads other values (the replaced ones are
    closed). ``settings`` is called on every ``get()``: give it a cheap reader
    (``shared.settings.get_settings`` parses again only when a ``REGQ_*`` variable changed)."""

    def __init__(self, build: Callable[[Settings], S], settings: Callable[[], Settings]) -> None:
        self._build = build
        self._settings = settings
        self._current: S | None = None
        self._pid = 0
        self._lock = threading.Lock()
        _accessors.add(self)

    def get(self) -> S:
        settings = self._settings()
        with self._lock:
            current, stale = self._current, None
            if current is not None and self._pid != os.getpid():
                current.abandon()
                current = None
            elif current is not None and (current.closed or settings is not current.settings != settings):
                current, stale = None, current
            if current is None:
                current = self._current = self._build(settings)
                self._pid = os.getpid()
        if stale is not None:
            stale.close()
        return current


_accessors: weakref.WeakSet[PerProcess[Any]] = weakref.WeakSet()


def _fresh_locks_in_child() -> None:
    for accessor in list(_accessors):
        accessor._lock = threading.Lock()  # a thread of the parent may have held it at the fork


os.register_at_fork(after_in_child=_fresh_locks_in_child)
