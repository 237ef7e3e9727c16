"""What the exporter reads from Redis on each scrape: breakers, the shared limiter, broker queues.

Bounded: one breaker read per registrar, one ``HGETALL`` of the limiter's counters plus one status
read per limiter key that has counters (registrars and the RDAP/WHOIS hosts actually used), and one
pipelined round of ``LLEN`` for the queues. No ``SCAN`` of the keyspace.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import redis

from shared.breaker import Breaker
from shared.breaker.base import CLOSED, HALF_OPEN, OPEN
from shared.metrics.catalogue import Families
from shared.ratelimit import Limiter

#: kombu's Redis transport keeps priorities 3, 6 and 9 of a queue in keys with this separator
#: (priority 0, the default, is the queue's own key).
_PRIORITY_SEP = "\x06\x16"
_PRIORITIES = ("3", "6", "9")
_BREAKER_STATES = (CLOSED, OPEN, HALF_OPEN)


def read_breakers(breaker: Breaker, registrars: Iterable[str], families: Families) -> None:
    for name in sorted(set(registrars) | set(breaker.providers())):
        state = breaker.state(name)
        for candidate in _BREAKER_STATES:
            families["regq_breaker_state"].add_metric(
                [name, candidate], 1.0 if state.state == candidate else 0.0
            )
        families["regq_breaker_failures"].add_metric([name], state.failures)
        families["regq_breaker_window_calls"].add_metric([name], state.calls)
        families["regq_breaker_window_failed_calls"].add_metric([name], state.failed_calls)


def read_limiter(limiter: Limiter, families: Families, now: float | None = None) -> None:
    moment = time.time() if now is None else now
    for key, counters in limiter.counters().items():
        families["regq_ratelimit_granted_tokens"].add_metric([key], counters.granted)
        families["regq_ratelimit_denied"].add_metric([key], counters.denied)
        families["regq_ratelimit_blocks"].add_metric([key], counters.blocks)
        status = limiter.status(key)
        blocked = status.blocked_until is not None and status.blocked_until > moment
        remaining = max(0.0, status.blocked_until - moment) if blocked and status.blocked_until else 0.0
        families["regq_ratelimit_blocked"].add_metric([key], 1.0 if blocked else 0.0)
        families["regq_ratelimit_block_remaining_seconds"].add_metric([key], remaining)
        tokens = status.tokens if status.tokens is not None else status.burst
        if tokens is not None:
            families["regq_ratelimit_tokens"].add_metric([key], tokens)


class BrokerQueues:
    """Queue lengths on a Redis broker (``redis://``, ``rediss://``, ``unix://``), keys as kombu writes
    them: ``{global_keyprefix}{queue}`` (plus its priority keys) and ``{global_keyprefix}unacked``."""

    SCHEMES = ("redis://", "rediss://", "unix://")

    def __init__(self, url: str, key_prefix: str, queues: Iterable[str]) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.prefix = key_prefix
        self.queues = list(queues)

    @classmethod
    def supports(cls, url: str) -> bool:
        return url.startswith(cls.SCHEMES)

    def read(self, families: Families) -> None:
        pipe = self.client.pipeline(transaction=False)
        for queue in self.queues:
            base = f"{self.prefix}{queue}"
            pipe.llen(base)
            for priority in _PRIORITIES:
                pipe.llen(f"{base}{_PRIORITY_SEP}{priority}")
        pipe.hlen(f"{self.prefix}unacked")
        lengths = pipe.execute()
        per_queue = 1 + len(_PRIORITIES)
        for i, queue in enumerate(self.queues):
            total = sum(int(n) for n in lengths[i * per_queue : (i + 1) * per_queue])
            families["regq_queue_length"].add_metric([queue], total)
        families["regq_broker_unacked"].add_metric([], int(lengths[-1]))

    def close(self) -> None:
        self.client.close()
