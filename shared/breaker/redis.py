"""The Redis breaker: one hash per provider, every transition in ``breaker.lua`` on the server's clock.

Key: ``{prefix}:br:{provider}`` (fields ``st``, ``f``, ``ou``, ``pd``, ``w`` the window; no expiry: a
closed breaker is a few dozen bytes). One script call per operation; a second one only when the hash
is missing and must be restored from the journal. The script comes from :mod:`shared.backends`.
"""

from __future__ import annotations

from collections.abc import Callable

import redis

from shared.backends import lua_script, scan_suffixes, text
from shared.breaker.base import Breaker, BreakerConfig, BreakerJournal, Op, Outcome, Restore


class RedisBreaker(Breaker):
    """Breaker state shared through Redis. ``clock`` is for tests only (it overrides the server's TIME).

    ``round_trips`` counts script calls and SCANs.
    """

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        config: BreakerConfig,
        journal: BreakerJournal,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(config, journal)
        self.client = client
        self.prefix = prefix
        self._base = f"{prefix}:br:"
        self._clock = clock
        self.round_trips = 0
        self.script = lua_script(client, "shared.breaker", "breaker")

    def redis_key(self, provider: str) -> str:
        return self._base + provider

    def _run(self, provider: str, op: Op, probe: bool, restore: Restore | None) -> Outcome:
        cfg = self.config
        args: list[str | int] = [
            op,
            1 if probe else 0,
            cfg.failures,
            repr(cfg.reset_seconds * 1000.0),
            cfg.probes,
            repr(cfg.probe_timeout_seconds * 1000.0),
            repr(cfg.half_open_retry_seconds * 1000.0),
            "" if self._clock is None else repr(self._clock() * 1000.0),
            "" if restore is None else restore.state,
            "" if restore is None or restore.opened_until is None else repr(restore.opened_until * 1000.0),
            0 if restore is None else restore.failures,
            cfg.window_calls,
            cfg.min_calls,
            repr(cfg.failure_rate),
        ]
        self.round_trips += 1
        reply = [text(v) for v in self.script(keys=[self.redis_key(provider)], args=args)]
        (status, state, failures, ou, in_flight, transitioned, from_state, allowed, probe_, retry, now,
         calls, failed_calls) = reply  # fmt: skip
        return Outcome(
            missing=status == "missing",
            state=state,
            failures=int(failures),
            opened_until=float(ou) / 1000.0 if ou else None,
            probes_in_flight=int(in_flight),
            transitioned=transitioned == "1",
            from_state=from_state,
            allowed=allowed == "1",
            probe=probe_ == "1",
            retry_after=int(retry) / 1000.0,
            now=float(now) / 1000.0,
            calls=int(calls),
            failed_calls=int(failed_calls),
        )

    def providers(self) -> list[str]:
        found: set[str] = set()
        for batch in scan_suffixes(self.client, self._base):
            self.round_trips += 1
            found.update(batch)
        return sorted(found)
