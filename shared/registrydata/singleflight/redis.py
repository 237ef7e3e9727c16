"""Fleet-wide singleflight in Redis: a lease per key, numbered flights, followers polling.

Keys per flight key: ``{prefix}:flight:lease:{key}`` holds the leader's flight number with a PX expiry,
renewed every third of ``lease_seconds`` by a thread while the fetch runs; ``{prefix}:flight:seq:{key}``
numbers the flights; ``{prefix}:flight:done:{key}`` (a hash) holds the last ended flight's number and
outcome for ``result_ttl_seconds``.

``join.lua`` is one round trip per poll. A caller's first call never reads an ended flight's outcome
(that flight is not the caller's to share); it leads if nobody does (the next number), else it waits on
the leader's number N. Each later poll takes the outcome of any flight numbered N or above (N itself, or
the successor of a leader that died: its lease lapsed unrenewed and a follower took the lead with N+1),
else leads if the lease is free, else waits. ``finish.lua`` publishes the outcome (never over a newer
flight's) and drops the lease (only if still ours) in one step.

Why polling and not pub/sub: a follower needs no connection of its own (a subscription holds one per
waiting caller), the dead-leader case needs no separate timer (the same poll sees the lease gone), and
the poll starts at 10 ms, so the hand-over costs a few milliseconds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import redis

from shared.backends import lua_script, text
from shared.locks import Keeper
from shared.registrydata.singleflight.base import (
    FlightConfig,
    OnTimeout,
    Singleflight,
    T,
    error_outcome,
)

_SCRIPTS = "shared.registrydata.singleflight"


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class RedisSingleflight(Singleflight):
    """Singleflight across every process on this Redis. ``round_trips`` counts script calls."""

    def __init__(self, client: redis.Redis, prefix: str, config: FlightConfig | None = None) -> None:
        super().__init__(config)
        self.client = client
        self.prefix = prefix
        self.round_trips = 0
        self._join = lua_script(client, _SCRIPTS, "join")
        self._renew = lua_script(client, _SCRIPTS, "renew")
        self._finish = lua_script(client, _SCRIPTS, "finish")
        # the counter outlives every outcome, so flight numbers never restart under a readable one
        self._seq_ms = _ms(2 * self.config.result_ttl_seconds + self.config.lease_seconds)

    def lease_key(self, key: str) -> str:
        return f"{self.prefix}:flight:lease:{key}"

    def _keys(self, key: str) -> list[str]:
        base = f"{self.prefix}:flight:"
        return [f"{base}lease:{key}", f"{base}done:{key}", f"{base}seq:{key}"]

    def leader(self, key: str) -> str | None:
        """The flight number leading ``key`` now, if any (for operators and tests)."""
        value = self.client.get(self.lease_key(key))
        return None if value is None else text(value)

    def do(
        self,
        key: str,
        fetch: Callable[[], T],
        *,
        encode: Callable[[T], str] = json.dumps,
        decode: Callable[[str], T] = json.loads,
        lookup: Callable[[], T | None] | None = None,
        wait_seconds: float | None = None,
        on_timeout: OnTimeout = "raise",
    ) -> T:
        bound = self._wait_bound(wait_seconds)
        started = time.monotonic()
        awaited = "0"  # the flight this caller waits on; 0 until it has seen one
        delay, largest = self.config.poll_seconds
        waiting = False
        try:
            while True:
                state, detail = self._call_join(key, awaited)
                if state == "done":
                    return self._followed(key, detail, decode)
                if state == "lead":
                    if waiting:  # its leader vanished: no longer waiting, leading
                        waiting = False
                        self.stats.add("waiting", -1)
                        self.stats.add("took_over")
                    return self._lead(key, detail, fetch, encode, lookup)
                if awaited == "0":
                    awaited = detail
                waited = time.monotonic() - started
                if waited >= bound:
                    return self._timed_out(key, waited, fetch, lookup, on_timeout)
                if not waiting:
                    waiting = True
                    self.stats.add("waiting")
                time.sleep(min(delay, bound - waited))
                delay = min(delay * 1.5, largest)
        finally:
            if waiting:
                self.stats.add("waiting", -1)

    def _call_join(self, key: str, awaited: str) -> tuple[str, str]:
        self.round_trips += 1
        state, detail = self._join(
            keys=self._keys(key), args=[awaited, _ms(self.config.lease_seconds), self._seq_ms]
        )
        return text(state), text(detail)

    def _lead(
        self,
        key: str,
        seq: str,
        fetch: Callable[[], T],
        encode: Callable[[T], str],
        lookup: Callable[[], T | None] | None,
    ) -> T:
        self.stats.add("led")
        keeper = Keeper(lambda: self._renew_lease(key, seq), self.config.lease_seconds, "flight-lease")
        keeper.start()
        outcome = ""  # abandoned unless set: a follower takes the lead at once
        try:
            value, outcome = self._run_leader(fetch, encode, lookup)
            return value
        except Exception as exc:
            outcome = error_outcome(exc)
            raise
        finally:
            keeper.stop()
            self.round_trips += 1
            self._finish(
                keys=self._keys(key),
                args=[seq, outcome, _ms(self.config.result_ttl_seconds), self._seq_ms],
            )

    def _renew_lease(self, key: str, seq: str) -> bool:
        """One renewal of the leader's lease (the keeper calls it every third of it); False once not ours.
        A Redis blip raises: the keeper tries again, the lease has two more thirds."""
        self.round_trips += 1
        renewed = self._renew(
            keys=[self.lease_key(key), self._keys(key)[2]],
            args=[seq, _ms(self.config.lease_seconds), self._seq_ms],
        )
        return bool(renewed)
