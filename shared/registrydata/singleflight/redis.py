"""Fleet-wide singleflight in Redis: a lease per key, an outcome per flight, followers polling.

Keys: ``{prefix}:flight:lease:{key}`` holds the leader's flight id with a PX expiry, renewed every third
of ``lease_seconds`` by a thread while the fetch runs; ``{prefix}:flight:result:{key}:{id}`` holds that
flight's outcome for ``result_ttl_seconds``. ``join.lua`` is one round trip per poll: the awaited
outcome if written, else the lead if the lease is free (the first caller, or a follower whose leader
died: its lease lapsed unrenewed), else the current leader's id, which the follower then waits on.
``finish.lua`` writes the outcome and drops the lease (only if still ours) in one step.

Why polling and not pub/sub: a follower needs no connection of its own (a pub/sub subscription holds
one per waiting caller), the dead-leader case needs no separate timer (the same poll sees the lease
gone), and the poll starts at 10 ms, so the hand-over costs a few milliseconds.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable

import redis

from shared.backends import lua_script, text
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

    def lease_key(self, key: str) -> str:
        return f"{self.prefix}:flight:lease:{key}"

    def result_key(self, key: str, flight_id: str) -> str:
        return f"{self.prefix}:flight:result:{key}:{flight_id}"

    def leader(self, key: str) -> str | None:
        """The flight id leading ``key`` now, if any (for operators and tests)."""
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
        me = uuid.uuid4().hex
        started = time.monotonic()
        awaited = me
        delay, largest = self.config.poll_seconds
        waiting = False
        try:
            while True:
                state, detail = self._call_join(key, me, awaited)
                if state == "done":
                    return self._followed(key, detail, decode)
                if state == "lead":
                    if waiting:
                        self.stats.add("took_over")
                    return self._lead(key, me, fetch, encode, lookup)
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

    def _call_join(self, key: str, me: str, awaited: str) -> tuple[str, str]:
        self.round_trips += 1
        state, detail = self._join(
            keys=[self.lease_key(key), self.result_key(key, awaited)],
            args=[me, _ms(self.config.lease_seconds)],
        )
        return text(state), text(detail)

    def _lead(
        self,
        key: str,
        me: str,
        fetch: Callable[[], T],
        encode: Callable[[T], str],
        lookup: Callable[[], T | None] | None,
    ) -> T:
        self.stats.add("led")
        stop = threading.Event()
        keeper = threading.Thread(
            target=self._keep_lease, args=(key, me, stop), daemon=True, name="flight-lease"
        )
        keeper.start()
        outcome = ""  # abandoned unless set: a follower takes the lead at once
        try:
            value, outcome = self._run_leader(fetch, encode, lookup)
            return value
        except Exception as exc:
            outcome = error_outcome(exc)
            raise
        finally:
            stop.set()
            keeper.join()
            self.round_trips += 1
            self._finish(
                keys=[self.lease_key(key), self.result_key(key, me)],
                args=[me, outcome, _ms(self.config.result_ttl_seconds)],
            )

    def _keep_lease(self, key: str, me: str, stop: threading.Event) -> None:
        """Renew the lease every third of it until ``stop``; give up once it is no longer ours."""
        interval = self.config.lease_seconds / 3
        while not stop.wait(interval):
            try:
                self.round_trips += 1
                if not self._renew(keys=[self.lease_key(key)], args=[me, _ms(self.config.lease_seconds)]):
                    return
            except redis.RedisError:
                continue  # a blip: the lease has two more thirds; the next renewal may go through
