"""The mixed workload of a soak run: registers and renews (the chaos scenario's plan: names held by
others, .ro and gTLDs, seeded expiries) and lookups, submitted at a steady rate by one producer thread.

A submission that raises (the broker or Redis is down: the row may already be stored, its message not)
is tried again until it is accepted or ``retry_seconds`` pass; the job's key is known beforehand (lookups
carry their own ``idempotency_key``), so a retry finds the stored row and publishes it if it was never
published. ``raw_share`` of the registers and renews also get one raw duplicate message.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.jobs import AnyJob, parse_job
from shared.store import Store
from tasks.publish import publish_record, submit
from testkit.chaos_scenario import ChaosConfig, Plan, PlannedJob, SubmitLog, plan_jobs
from workers.demo import LOOKUP_NAMES
from workers.embedded.stack import Stack

#: TLDs whose registries the sandbox's RDAP / WHOIS stand-ins answer "not found" for (a complete lookup).
UNREGISTERED_TLDS = ("com", "net", "eu")


@dataclass(frozen=True)
class Mix:
    """Jobs per second over the submissions, and the share of each kind."""

    rate: float = 2.0
    register_share: float = 0.5
    renew_share: float = 0.2  # the rest are lookups

    def counts(self, seconds: float) -> tuple[int, int, int]:
        total = max(3, round(self.rate * seconds))
        registers = round(total * self.register_share)
        renews = round(total * self.renew_share)
        return registers, renews, max(0, total - registers - renews)


@dataclass(frozen=True)
class Workload:
    plan: Plan  # registers and renews, as the chaos scenario plans them
    lookups: list[dict[str, Any]]  # lookup job payloads, each with its own idempotency_key
    order: list[PlannedJob | dict[str, Any]]  # everything, in submission order


def build_workload(config: ChaosConfig, lookups: int, run_id: str | None = None) -> Workload:
    """The plan of ``config`` plus ``lookups`` lookups, interleaved in a seeded order."""
    plan = plan_jobs(config, run_id)
    rng = random.Random(config.seed + 53)
    payloads: list[dict[str, Any]] = []
    for i in range(lookups):
        if i % 4 == 3:  # a name nobody holds: a complete answer, registered false
            domain = f"soak{plan.run_id}-free{i}.{rng.choice(UNREGISTERED_TLDS)}"
        else:  # registered names the RDAP / WHOIS stand-ins answer for (cached after the first)
            domain = rng.choice(LOOKUP_NAMES)
        payloads.append(
            {"kind": "lookup", "domain": domain, "idempotency_key": f"soak-lookup:{plan.run_id}:{i:05d}"}
        )
    order: list[PlannedJob | dict[str, Any]] = [*plan.jobs, *payloads]
    rng.shuffle(order)
    return Workload(plan, payloads, order)


@dataclass
class SubmitStats:
    """What the producer did: the chaos scenario's log for registers/renews, plus the lookups."""

    log: SubmitLog = field(default_factory=SubmitLog)
    lookup_keys: dict[str, str] = field(default_factory=dict)  # key -> domain
    retried: int = 0  # submissions that raised at least once, then were accepted
    refused: list[str] = field(default_factory=list)  # never accepted within retry_seconds
    submit_seconds: float = 0.0


class Producer:
    """Submits ``workload.order`` evenly over ``seconds`` from a thread; :meth:`join` waits for it."""

    def __init__(
        self,
        stack: Stack,
        store: Store,
        workload: Workload,
        seconds: float,
        *,
        retry_seconds: float = 60.0,
        say: Callable[[str], None] = print,
    ) -> None:
        self.stack, self.store, self.workload, self.seconds = stack, store, workload, seconds
        self.retry_seconds, self.say = retry_seconds, say
        self.stats = SubmitStats()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-producer", daemon=True)

    def start(self) -> Producer:
        self._thread.start()
        return self

    def _accept(self, job: AnyJob, app: Any, raw: bool) -> tuple[str, bool, bool]:
        """(key, created, raised before): submit until accepted; raises after ``retry_seconds``."""
        deadline, raised = time.monotonic() + self.retry_seconds, False
        while True:
            try:
                outcome = submit(job, store=self.store, app=app)
                if raw:
                    publish_record(app, self.store.jobs.require(outcome.key))
                return outcome.key, not outcome.duplicate, raised
            except Exception:
                raised = True
                if time.monotonic() >= deadline or self._stop.wait(0.5):
                    raise

    def _run(self) -> None:
        order = self.workload.order
        pause = self.seconds / max(1, len(order))
        started = time.monotonic()
        app = self.stack.producer()
        log_ = self.stats.log
        try:
            for index, item in enumerate(order):
                if self._stop.is_set():
                    break
                planned = item if isinstance(item, PlannedJob) else None
                payload = item if isinstance(item, dict) else None
                job = planned.job if planned else parse_job(payload)
                try:
                    key, created, raised = self._accept(job, app, bool(planned and planned.raw))
                except Exception as exc:  # noqa: BLE001 - a refused job is a problem of the run
                    self.stats.refused.append(f"{job.domain}: {type(exc).__name__}: {exc}")
                    continue
                self.stats.retried += 1 if raised else 0
                if planned is not None:
                    log_.keys[key] = planned
                    log_.copies[key] += 1
                    # A submission that raised after storing the row created it: its retry is a duplicate.
                    log_.fresh[key] += 1 if created or raised else 0
                    log_.raw_messages += 1 if planned.raw else 0
                else:
                    self.stats.lookup_keys[key] = job.domain
                ahead = started + pause * (index + 1) - time.monotonic()
                if ahead > 0 and self._stop.wait(ahead):
                    break
        finally:
            app.close()
            self.stats.submit_seconds = time.monotonic() - started

    def join(self, timeout: float | None = None) -> SubmitStats:
        self._thread.join(timeout)
        return self.stats

    def stop(self) -> SubmitStats:
        self._stop.set()
        return self.join(timeout=120)
